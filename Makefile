# Every target uses the project's own Node (scripts/toolchain.sh installs it on first use).
NODE_BIN := $(shell scripts/toolchain.sh)
export PATH := $(NODE_BIN):$(PATH)
JEST := node --experimental-vm-modules --disable-warning=ExperimentalWarning node_modules/jest/bin/jest.js

.PHONY: install system-deps test unit e2e typecheck lint format crds check-crds demo validate-samples build clean docker-build

install: node_modules/.installed

## system-deps: git-http-backend, sshd, ssh-keygen, openssl, tmux, prometheus and promtool for the tests (installed with apt when root)
system-deps:
	@scripts/system-deps.sh

# `npm install` honours the lock file; `npm ci` refuses it because the registry these machines reach
# serves no lock entries for other platforms' optional packages (e.g. @swc/core-darwin-arm64).
node_modules/.installed: package.json package-lock.json
	npm install --loglevel=error
	touch $@

## test: everything CI runs — types, lint, CRD drift, unit and e2e tests; ends with "N passed, N failed"
test: install system-deps typecheck lint check-crds
	@rm -f .test-results.json
	$(JEST) --json --outputFile=.test-results.json; status=$$?; \
	  node scripts/test-summary.ts .test-results.json; exit $$status

unit: install system-deps
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

## demo: the main job on a built-in example, no cluster needed (git repositories in a temp dir)
demo: install
	node scripts/demo.ts

validate-samples: install
	bin/pvctl validate -f config/samples

build: install
	npx tsc -p tsconfig.build.json

clean:
	rm -rf dist coverage .test-results.json

## docker-build: the image (Dockerfile) with docker, or podman when no docker daemon answers (CONTAINER_TOOL);
## BASE_IMAGE (node:24-bookworm-slim) is the base of both stages — `make docker-build BASE_IMAGE=$$(make -s image-base)`
## where no registry can be pulled. docker-push: pushes IMG. image-base: a base from Debian packages (mmdebstrap) and
## the toolchain's Node, cached under ~/.cache/packagevariant-controller/image; prints its name
IMG ?= packagevariant-controller:dev
BASE_IMAGE ?= node:24-bookworm-slim
CONTAINER_TOOL ?= $(shell scripts/image.sh tool)
.PHONY: docker-push image-base
docker-build:
	CONTAINER_TOOL=$(CONTAINER_TOOL) scripts/image.sh build $(IMG) $(BASE_IMAGE)
docker-push:
	$(CONTAINER_TOOL) push $(IMG)
image-base:
	@CONTAINER_TOOL=$(CONTAINER_TOOL) scripts/image-base.sh
# The image test's base is built (or reused) before jest starts, as the API server and helm are, so
# that its cold build neither hides in a hook nor loads the machine while other tests run.
.PHONY: image-base-cache
image-base-cache:
	@CONTAINER_TOOL=$(CONTAINER_TOOL) scripts/image-base.sh >/dev/null
test: image-base-cache

.PHONY: sync-conformance bench-merge

## sync-conformance: re-copy the shared merge conformance groups into the project (needs ../shared);
## the project's own groups (kpt-package, kyaml-merge3) and its README stay
CONFORMANCE_SRC ?= ../shared/conformance
sync-conformance:
	@test -d $(CONFORMANCE_SRC) || { echo "no $(CONFORMANCE_SRC) here; nothing to sync"; exit 1; }
	mkdir -p lib/merge/testdata/conformance
	for group in $(CONFORMANCE_SRC)/*/; do \
	  name=$$(basename "$$group"); \
	  rm -rf "lib/merge/testdata/conformance/$$name" && cp -R "$$group" "lib/merge/testdata/conformance/$$name"; \
	done

## bench-merge: merge benchmark (per-package time, throughput, peak RSS)
bench-merge: install
	node --expose-gc bench/merge.ts

## bench-git: 1,000 drafts across 10 repositories, GitStore (batched) against clone+commit+push per draft
.PHONY: bench-git
bench-git: install
	node bench/git-drafts.ts

## testenv: build (or reuse) the real kube-apiserver and etcd the e2e tests run against.
## Cold: a few minutes (Go module proxy + compile); cached under ~/.cache/packagevariant-controller/testenv.
.PHONY: testenv
testenv:
	@e2e/testenv/build.sh >/dev/null

# The binaries are built before jest starts, so a cold build shows its progress instead of hiding in a hook.
test e2e: testenv

## bench-fleet: fleet upgrade in local mode (N variants, REPOS repositories, RUNS runs; PROFILE=1 adds a CPU profile)
.PHONY: bench-fleet
bench-fleet: install
	node bench/fleet.ts

## bench-fleet-render: the local-mode fleet upgrade without and with a three-function Kptfile pipeline rendered on
## every draft (N=100; N=100,1000 for both), render share and cost per function; bench/results/fleet-render.json, BENCHMARKS.md
.PHONY: bench-fleet-render
bench-fleet-render: install
	node bench/fleet-render.ts

## bench-fleet-controller: fleet upgrade in controller mode against the real API server (N, REPOS, RUNS, CONCURRENCY, LOCAL=1 adds the local pass, PROFILE=1)
.PHONY: bench-fleet-controller
bench-fleet-controller: install testenv
	node bench/fleet-controller.ts

## bench-metrics-plot: a controller-mode fleet upgrade (N=30 variants, REPOS=3) with /metrics scraped every 250 ms
## from the upstream commit until idle; writes docs/img/fleet-upgrade-metrics.png and bench/results/metrics-plot.json
.PHONY: bench-metrics-plot
bench-metrics-plot: install testenv
	node bench/metrics-plot.ts

## deploy / undeploy: the controller, CRDs and RBAC from config/default (kubectl ≥ 1.27 with its built-in kustomize; IMG sets the image)
KUBECTL ?= kubectl
.PHONY: deploy undeploy
deploy:
	$(KUBECTL) kustomize config/default | sed 's#image: packagevariant-controller:dev#image: $(IMG)#' | $(KUBECTL) apply -f -
undeploy:
	$(KUBECTL) delete -k config/default --ignore-not-found

## build-installer: dist/install.yaml, every object config/default installs (Namespace, CRDs, RBAC, Deployment, Services,
## PodDisruptionBudget) in one file for `kubectl apply -f`, rendered by the kubectl e2e/testenv/build.sh builds; IMG sets
## the image, INSTALLER the file
INSTALLER ?= dist/install.yaml
.PHONY: build-installer
build-installer: testenv
	@mkdir -p $(dir $(INSTALLER))
	"$$(e2e/testenv/build.sh 2>/dev/null | tail -1)/kubectl" kustomize config/default >$(INSTALLER).tmp
	sed -i 's#image: packagevariant-controller:dev#image: $(IMG)#' $(INSTALLER).tmp
	mv $(INSTALLER).tmp $(INSTALLER)
	@echo "wrote $(INSTALLER) (image $(IMG))"

## manifests: the CRDs from api/ (kubebuilder's name for `make crds`)
.PHONY: manifests
manifests: crds

## install-crds / uninstall-crds: only the CRDs, into the current kubeconfig's cluster (kubebuilder's install and
## uninstall; `make install` installs the npm dependencies here)
.PHONY: install-crds uninstall-crds
install-crds:
	$(KUBECTL) apply --server-side -f config/crd/bases
uninstall-crds:
	$(KUBECTL) delete --ignore-not-found -f config/crd/bases

## run: the controller from the source against the current kubeconfig (pvctl run; RUN_ARGS adds flags,
## e.g. RUN_ARGS="-n team-a --log-level debug"); the CRDs must be installed (make install-crds)
RUN_ARGS ?=
.PHONY: run
run: install
	bin/pvctl run $(RUN_ARGS)

## helm: build (or reuse) helm for the chart's tests (scripts/helm.sh, from its Go module; a cold build takes a few
## minutes); cached under ~/.cache/packagevariant-controller/helm
.PHONY: helm
helm:
	@scripts/helm.sh >/dev/null
test e2e: helm

## bench: fleet upgrade end to end (N = 10, 100, 1,000; BENCH_LARGE=1 adds 10,000) in local and controller
## mode, with the git-floor, naive-script and kpt baselines on the same fleet; writes bench/results/bench.json,
## bench/results/bench.png and BENCHMARKS.md. BENCH_RUNS (3), BENCH_NS, BENCH_CONTROLLER=0; see bench/bench.ts
.PHONY: bench bench-report kpt
bench: install testenv kpt
	KPT="$$(scripts/kpt.sh | tail -1)" node bench/bench.ts

## bench-report: BENCHMARKS.md and the plot again from bench/results/*.json
bench-report: install
	node bench/report.ts

## kpt: build (or reuse) kpt for the kpt baseline; cached under ~/.cache/packagevariant-controller/kpt
kpt:
	@scripts/kpt.sh >/dev/null || echo "kpt could not be built; make bench skips the kpt baseline"

## bench-set: one PackageVariantSet with N=1000 targets in controller mode (real API server, real git):
## set applied → all Ready, upstream commit → all drafts pushed, API requests per target; bench/results/bench-set.json
.PHONY: bench-set
bench-set: install testenv
	node bench/fleet-set.ts
	node bench/report.ts

## bench-big: big inputs — merge of ConfigMaps with 2k/20k/200k keys, one PackageVariantSet with 10,000 targets in one
## repository (local mode), a 40,000-ref repository read against plain git fetch; bench/results/big-inputs.json and the
## "Big inputs" section of BENCHMARKS.md. BIG_MERGE_KEYS, BIG_SET_N, BIG_FETCH_REFS, BIG_RUNS; --only merge,set,fetch
.PHONY: bench-big
bench-big: install
	node bench/big-inputs.ts

## fn-wasm: build (or reuse) the WebAssembly module of the built-in functions apply-replacements and starlark
## (lib/fn/wasm; Go module proxy; cold about two minutes); cached under ~/.cache/packagevariant-controller/fn-wasm
.PHONY: fn-wasm
fn-wasm:
	@scripts/build-fn-wasm.sh >/dev/null
install: fn-wasm

## bench-render: render cost per function on a 20-resource package (set-namespace, set-labels, apply-replacements)
.PHONY: bench-render
bench-render: install
	node bench/render.ts
