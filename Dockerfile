# syntax=docker/dockerfile:1
# Build: compile TypeScript and keep only production dependencies.
FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY lib ./lib
COPY controllers ./controllers
COPY cli ./cli
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --loglevel=error

# Run: Node 24, git and an ssh client; no compilers, no npm cache; non-root.
FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
ENV NODE_ENV=production HOME=/tmp
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/cli/pvctl.js"]
CMD ["run"]
