# syntax=docker/dockerfile:1
# The base of both stages: Node 24 (node and npm in /usr/local, as the official images have them) on
# Debian bookworm. Where no registry can be pulled, scripts/image-base.sh makes one from Debian
# packages and the npm registry: make docker-build BASE_IMAGE=$(scripts/image-base.sh).
ARG BASE_IMAGE=node:24-bookworm-slim

# Build: compile TypeScript and keep only production dependencies. `npm install`, not `npm ci`: the
# lock file honoured as the Makefile does (npm ci refuses a lock without other platforms' optional packages).
FROM ${BASE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The secret `npm-ca` (optional): a CA bundle npm must trust, where the registry is reached through a
# TLS-intercepting proxy (scripts/image.sh passes $NODE_EXTRA_CA_CERTS, else npm's `cafile`).
RUN --mount=type=secret,id=npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
 && npm install --loglevel=error --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY api ./api
COPY lib ./lib
COPY controllers ./controllers
COPY cli ./cli
RUN npx tsc -p tsconfig.build.json && npm prune --omit=dev --loglevel=error --no-audit --no-fund

# Run: Node 24, git and an ssh client; no compilers, no npm; non-root (UID 65532, named in
# /etc/passwd because ssh refuses a user it cannot look up). git, ssh and the CA certificates come
# from apt unless the base has them already.
FROM ${BASE_IMAGE}
RUN if command -v git && command -v ssh && [ -f /etc/ssl/certs/ca-certificates.crt ]; then :; else \
      apt-get update && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
      && rm -rf /var/lib/apt/lists/*; fi >/dev/null \
 && rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx \
 && echo 'nonroot:x:65532:65532:nonroot:/tmp:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'nonroot:x:65532:' >>/etc/group
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The built-in render functions' WebAssembly module (scripts/build-fn-wasm.sh), passed as the build
# context `fn-wasm` (make docker-build does: --build-context fn-wasm=DIR).
COPY --from=fn-wasm functions.wasm wasm_exec.js /app/fn-wasm/
ENV NODE_ENV=production HOME=/tmp PVCTL_FN_WASM_DIR=/app/fn-wasm
USER 65532:65532
ENTRYPOINT ["node", "/app/dist/cli/pvctl.js"]
CMD ["run"]
