//! A Kubernetes API server for tests, run in-process on 127.0.0.1.
//!
//! No engine that runs real Kubernetes exists on our CI machines, so this
//! implements — faithfully to the documented behaviour of kube-apiserver —
//! the subset our operator and facade use: CRUD, list/watch with selectors
//! and bookmarks, merge/JSON/strategic patches, server-side apply, the status
//! subresource, finalizers, garbage collection, namespace lifecycle, CRDs
//! with structural-schema and CEL validation, and `Status` error bodies.
//! Clients talk to it over plain HTTP exactly as to a real cluster.

mod builtin;
mod controllers;
mod crd;
pub mod fieldmanager;
mod garbage_collector;
mod handlers;
mod metadata;
mod objects;
mod registry;
pub mod schema;
mod selectors;
mod status;
mod store;
mod strategic;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use tokio::task::JoinHandle;

use objects::ServerState;
use registry::Registry;
use store::Store;

/// Requests served, by verb and resource, so tests can assert what a client
/// did (for example, that a resync wrote nothing).
#[derive(Default)]
pub struct RequestCounters {
    counts: Mutex<HashMap<(String, String), u64>>,
    /// What each impersonated user asked for, as RBAC names it: verb, API
    /// group, resource[/subresource].
    by_user: Mutex<HashMap<String, std::collections::BTreeSet<RbacRequest>>>,
}

/// One kind of request as RBAC authorizes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RbacRequest {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl RequestCounters {
    pub(crate) fn record(&self, verb: &str, resource: &str) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        *counts
            .entry((verb.to_string(), resource.to_string()))
            .or_default() += 1;
    }

    fn record_user(&self, user: &str, request: RbacRequest) {
        let mut by_user = self.by_user.lock().unwrap_or_else(|p| p.into_inner());
        by_user.entry(user.to_string()).or_default().insert(request);
    }

    /// Every kind of request a user (named by `Impersonate-User`, as an
    /// administrator acting for a service account sends it) made.
    pub fn requests_of(&self, user: &str) -> Vec<RbacRequest> {
        let by_user = self.by_user.lock().unwrap_or_else(|p| p.into_inner());
        by_user
            .get(user)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Requests with `verb` (`get`, `list`, `watch`, `create`, `update`,
    /// `patch`, `delete`, `deletecollection`) on any resource.
    pub fn count(&self, verb: &str) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .iter()
            .filter(|((v, _), _)| v == verb)
            .map(|(_, n)| n)
            .sum()
    }

    /// Every create, update, patch, delete and deletecollection request.
    pub fn writes(&self) -> u64 {
        self.writes_excluding(&[])
    }

    /// Writes to every resource but those named by storage key (for
    /// example `coordination.k8s.io/leases`, whose renewals are heartbeats).
    pub fn writes_excluding(&self, resources: &[&str]) -> u64 {
        const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .iter()
            .filter(|((verb, resource), _)| {
                WRITE_VERBS.contains(&verb.as_str()) && !resources.contains(&resource.as_str())
            })
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Clone)]
struct AppState {
    state: Arc<ServerState>,
    counters: Arc<RequestCounters>,
    address: String,
}

/// A running test API server. Dropping it stops the server.
pub struct TestApiServer {
    address: SocketAddr,
    counters: Arc<RequestCounters>,
    tasks: Vec<JoinHandle<()>>,
}

impl TestApiServer {
    /// Starts a server on an ephemeral port of 127.0.0.1.
    pub async fn start() -> anyhow::Result<Self> {
        let state = Arc::new(ServerState {
            registry: Registry::with_builtins(),
            store: Store::new(),
        });
        objects::bootstrap(&state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let counters = Arc::new(RequestCounters::default());
        let app_state = AppState {
            state: state.clone(),
            counters: counters.clone(),
            address: address.to_string(),
        };
        let health = || async { "ok" };
        let app = Router::new()
            .route("/healthz", get(health))
            .route("/readyz", get(health))
            .route("/livez", get(health))
            .fallback(handlers::dispatch)
            .with_state(app_state);
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "test API server stopped");
            }
        });
        let controllers = tokio::spawn(controllers::run(state));
        Ok(TestApiServer {
            address,
            counters,
            tasks: vec![server, controllers],
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn counters(&self) -> &RequestCounters {
        &self.counters
    }

    /// A kube client configuration for this server.
    pub fn config(&self) -> anyhow::Result<kube::Config> {
        let mut config = kube::Config::new(self.url().parse()?);
        config.default_namespace = "default".to_string();
        Ok(config)
    }
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
