# Every target uses the project's own Node (scripts/toolchain.sh installs it on first use).
NODE_BIN := $(shell scripts/toolchain.sh)
export PATH := $(NODE_BIN):$(PATH)
JEST := node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js

.PHONY: install test unit e2e typecheck lint format crds check-crds demo validate-samples build clean

install: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --loglevel=error
	touch $@

## test: everything CI runs — types, lint, CRD drift, unit and e2e tests; ends with "N passed, N failed"
test: install typecheck lint check-crds
	@rm -f .test-results.json
	$(JEST) --json --outputFile=.test-results.json; status=$$?; \
	  node scripts/test-summary.ts .test-results.json; exit $$status

unit: install
	$(JEST) --selectProjects unit

e2e: install
	$(JEST) --selectProjects e2e

typecheck: install
	npx tsc --noEmit

lint: install
	npx eslint .
	npx prettier --check .

format: install
	npx prettier --write .
	npx eslint --fix .

crds: install
	node scripts/gen-crds.ts

check-crds: install
	node scripts/gen-crds.ts --check

## demo: the main job on a built-in example, no cluster needed
demo: validate-samples

validate-samples: install
	bin/pvctl validate -f config/samples

build: install
	npx tsc -p tsconfig.build.json

clean:
	rm -rf dist coverage .test-results.json

## bench-git: 1,000 drafts across 10 repositories, GitStore (batched) against clone+commit+push per draft
.PHONY: bench-git
bench-git: install
	node bench/git-drafts.ts
