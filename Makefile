# Developer entry points. `make up` is the README's first command.
CLUSTER ?= supaplane

.PHONY: up down test test-deps crds

PG_META_VERSION ?= 0.99.0
PG_META_SERVER := target/pg-meta/node_modules/@supabase/postgres-meta/dist/server/server.js

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
	@echo "  SUPAPLANE_JWT_SECRET=... cargo run -p supaplane-facade   # API and health on :8000"

## down: delete the kind cluster.
down:
	kind delete cluster --name '$(CLUSTER)'

## test: the README's test command.
test: test-deps
	cargo test --workspace $(CARGO_FLAGS)

## test-deps: what the pg-meta proxy tests start: PostgreSQL and pg-meta.
test-deps: $(PG_META_SERVER)
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "PostgreSQL is required: apt-get install postgresql"; exit 1; }

$(PG_META_SERVER):
	@command -v npm >/dev/null || { echo "Node.js and npm are required: apt-get install nodejs npm"; exit 1; }
	npm install --prefix target/pg-meta --no-audit --no-fund --loglevel=error "@supabase/postgres-meta@$(PG_META_VERSION)"

## crds: regenerate the CRD YAML from the Rust types.
crds:
	cargo run -p supaplane-crds --bin crdgen
