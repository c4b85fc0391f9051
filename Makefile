# Developer entry points. `make up` is the README's first command.
CLUSTER ?= supaplane

.PHONY: up down test crds

## up: create (or reuse) the kind cluster and install what is built so far.
up:
	@command -v kind >/dev/null || { echo "kind is required: https://kind.sigs.k8s.io"; exit 1; }
	@command -v kubectl >/dev/null || { echo "kubectl is required"; exit 1; }
	@kind get clusters 2>/dev/null | grep -qx '$(CLUSTER)' || kind create cluster --config kind-config.yaml --name '$(CLUSTER)'
	kubectl --context 'kind-$(CLUSTER)' apply --server-side -f charts/supaplane/crds/
	kubectl --context 'kind-$(CLUSTER)' create namespace supaplane-system --dry-run=client -o yaml | kubectl --context 'kind-$(CLUSTER)' apply -f -
	kubectl --context 'kind-$(CLUSTER)' wait --for condition=established --timeout=60s crd/organizations.supaplane.io crd/projects.supaplane.io
	@echo
	@echo "The supaplane CRDs are installed in kind-$(CLUSTER): try 'kubectl explain project.spec'."
	@echo "Not yet built: the operator and facade images, the chart's workloads, dashboard sign-in and Studio."
	@echo "Until then run the binaries locally against the cluster:"
	@echo "  cargo run -p supaplane-operator    # leads via a Lease in supaplane-system; health on :8080"
	@echo "  cargo run -p supaplane-facade      # health on :8000"

## down: delete the kind cluster.
down:
	kind delete cluster --name '$(CLUSTER)'

## test: the README's test command.
test:
	cargo test --workspace

## crds: regenerate the CRD YAML from the Rust types.
crds:
	cargo run -p supaplane-crds --bin crdgen
