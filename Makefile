# spaces-operator. `make help` lists the targets.

# The release, and the image the Dockerfile builds (make docker-build IMG=...).
VERSION ?= 0.1.0
IMG ?= spaces-operator:v$(VERSION)

GO ?= go
CONTROLLER_GEN ?= $(GO) tool controller-gen
LOCALBIN ?= $(CURDIR)/bin
# hack/envtest-assets.sh pins the control-plane versions, builds them once
# into bin/k8s/<version>/ and prints that folder.
ENVTEST_ASSETS = $(shell $(CURDIR)/hack/envtest-assets.sh $(LOCALBIN))

.DEFAULT_GOAL := help
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

##@ General

.PHONY: demo
demo: ## Run the whole stack here (API server, fake Spaces, manager), apply the samples, stay up until Ctrl-C.
	$(GO) run ./hack/demo

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: ## Generate the CRDs and RBAC from the +kubebuilder markers, and copy them into the Helm chart.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	$(MAKE) --no-print-directory chart

CHART := charts/spaces-operator
.PHONY: chart
chart: ## Copy the generated CRDs, the manager's rules, the admission policy, the alerts and the dashboard from config/ into the Helm chart (a test fails when they differ).
	rm -f $(CHART)/crds/*.yaml
	cp config/crd/bases/*.yaml $(CHART)/crds/
	cp config/rbac/role.yaml $(CHART)/files/manager-role.yaml
	cp config/policy/bookkeeping.yaml $(CHART)/files/bookkeeping.yaml
	cp config/prometheus/rules.yaml $(CHART)/files/prometheus-rules.yaml
	cp config/grafana/spaces-operator-dashboard.json $(CHART)/files/grafana-dashboard.json

.PHONY: generate
generate: ## Generate the DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	$(GO) fmt ./...

.PHONY: vet
vet: ## Run go vet.
	$(GO) vet ./...

.PHONY: verify
verify: generate manifests fmt ## Regenerate, format and tidy; fail if anything changed.
	$(GO) mod tidy
	git diff --exit-code -- . ':(exclude)bin'

.PHONY: envtest
envtest: ## Build the envtest control plane (kube-apiserver, etcd) into bin/k8s/ once.
	@echo "KUBEBUILDER_ASSETS=$(ENVTEST_ASSETS)"

.PHONY: test
test: vet ## Run every test (unit, envtest) offline; builds the control plane first if needed.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test ./... -count=1 -timeout 30m

STORM_SPACES ?= 200
STORM_KILLS ?= 100
.PHONY: storm
storm: ## The full crash storm: STORM_KILLS SIGKILLs of the manager during STORM_SPACES creates (slow, then slow with lost answers), then a clean run.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" STORM_SPACES=$(STORM_SPACES) STORM_KILLS=$(STORM_KILLS) STORM_API_TIMEOUT=30s \
		$(GO) test ./test/storm -run TestStorm -count=1 -v -timeout 60m

.PHONY: bench
bench: ## Run the benchmarks (the Spaces client, and the cache's memory per Secret against the envtest API server).
	$(GO) test ./internal/spaces/... -run '^$$' -bench . -benchmem
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) test ./test/bench/... -run '^$$' -bench . -benchtime 1x

SCALE_N ?= 1000
SCALE_MEMORY_N ?= 10000
.PHONY: bench-scale
bench-scale: ## Measure the operator at scale (not part of make test; about an hour at the defaults): envtest, the standalone fake with 50 ms latency, the manager as a process; SCALE_N Spaces, and SCALE_MEMORY_N Spaces plus as many SpaceInvites for the memory figure. Prints a table.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" $(GO) run ./hack/scale -n $(SCALE_N) -memory-n $(SCALE_MEMORY_N)

FUZZTIME ?= 60s
.PHONY: fuzz
fuzz: ## Fuzz the service-key parser for FUZZTIME (default 60s).
	$(GO) test ./internal/spaces -run '^$$' -fuzz FuzzParseServiceKey -fuzztime $(FUZZTIME)

##@ Build

.PHONY: build
build: ## Build bin/manager, bin/spacesctl and bin/spaces-fake (static, as in the Dockerfile).
	CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/manager ./cmd
	CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/spacesctl ./cmd/spacesctl
	CGO_ENABLED=0 $(GO) build -trimpath -o $(LOCALBIN)/spaces-fake ./cmd/spaces-fake

.PHONY: run
run: ## Run the manager against the cluster in KUBECONFIG.
	$(GO) run ./cmd

IMAGE_OUT ?= $(CURDIR)/dist/image
.PHONY: image
image: ## Build the OCI image (linux/amd64 and linux/arm64, one index) without a container engine, into IMAGE_OUT (an OCI layout and its tarball).
	$(GO) run ./hack/image -out $(IMAGE_OUT) -version $(VERSION) -revision "$$(git rev-parse HEAD 2>/dev/null)"

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

DIST ?= $(CURDIR)/dist
KUBECTL ?= $(shell command -v kubectl 2>/dev/null || echo "$(ENVTEST_ASSETS)/kubectl")

.PHONY: build-installer
build-installer: ## Render config/default with IMG into dist/install.yaml.
	@mkdir -p $(DIST)
	$(KUBECTL) kustomize config/default | sed 's|image: spaces-operator:v[0-9.]*|image: $(IMG)|' > $(DIST)/install.yaml
	@echo "wrote $(DIST)/install.yaml"

.PHONY: deploy
deploy: build-installer ## Install the operator (image IMG) into the cluster in KUBECONFIG.
	$(KUBECTL) apply --server-side -f $(DIST)/install.yaml

.PHONY: undeploy
undeploy: ## Remove the operator and its CRDs, leaving Spaces as it is and no finalizer behind.
	@# While the operator still runs: every object is released without
	@# carrying out its deletion policy (abandon), then deleted, so their
	@# finalizers and the Secrets' in-use finalizers go; then the rest.
	-$(KUBECTL) annotate spaces,spaceinvites,serviceaccountusersets --all -A --overwrite spaces.avayacloud.com/abandon=true
	-$(KUBECTL) delete spaces,spaceinvites,serviceaccountusersets --all -A --wait --timeout=5m
	$(KUBECTL) kustomize config/default | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: install
install: ## Install the CRDs into the cluster in KUBECONFIG.
	kubectl apply --server-side -f config/crd/bases

.PHONY: uninstall
uninstall: ## Remove the CRDs (and every object of their kinds) from the cluster.
	kubectl delete --ignore-not-found -f config/crd/bases
