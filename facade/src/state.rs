//! What every handler shares, assembled from the layers below: the
//! Kubernetes client and configuration, who is calling (identity), what
//! the cluster holds (the index), the relays' HTTP client and the request
//! guards. No layer below the API surfaces imports it.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio::task::JoinHandle;

use crate::common::config::FacadeConfig;
use crate::common::http::{UpstreamClient, upstream_client};
use crate::identity::access_tokens::{AccessTokens, LABEL_ACCESS_TOKEN};
use crate::identity::middleware::Gate;
use crate::identity::session::TokenVerifier;
use crate::index::Directory;
use crate::index::cache::Cache;
use crate::middleware::audit::AuditLog;
use crate::middleware::limits::WriteRate;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub client: Client,
    pub config: FacadeConfig,
    pub verifier: Arc<TokenVerifier>,
    /// Organizations, Projects and their indexes.
    pub index: Directory,
    /// The access tokens' Secrets in the facade's namespace.
    pub access_tokens: Cache<Secret>,
    /// HTTP client for the projects' services (pg-meta, GoTrue, Storage).
    pub upstream: UpstreamClient,
    /// Each user's rate of writes.
    pub write_rate: Arc<WriteRate>,
    /// Where each user's changes are recorded.
    pub audit: AuditLog,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// Starts the caches; they fill in the background (see [`AppState::ready`]).
    pub fn start(
        client: Client,
        config: FacadeConfig,
    ) -> anyhow::Result<(AppState, Vec<JoinHandle<()>>)> {
        config.check()?;
        let (index, mut tasks) = Directory::start(&client);
        let (access_tokens, tokens_task) = Cache::start(
            Api::<Secret>::namespaced(client.clone(), &config.namespace),
            watcher::Config::default().labels(&format!("{LABEL_ACCESS_TOKEN}=true")),
            |_| {},
        );
        let upstream = upstream_client()?;
        let verifier = Arc::new(TokenVerifier::new(&config, upstream.clone())?);
        let write_rate = WriteRate::new(config.writes_per_minute);
        // Users not seen for a while are forgotten by the rate limiter.
        let shrinking = write_rate.clone();
        let shrink_task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(300));
            loop {
                ticks.tick().await;
                shrinking.shrink();
            }
        });
        let (audit, audit_task) = AuditLog::start(client.clone(), &config.namespace);
        tasks.extend([tokens_task, shrink_task, audit_task]);
        let state = AppState(Arc::new(Shared {
            client,
            config,
            verifier,
            index,
            access_tokens,
            upstream,
            write_rate,
            audit,
        }));
        Ok((state, tasks))
    }

    /// What the authenticating middleware checks credentials with; it lets
    /// `public_routes` through without any.
    pub fn gate(&self, public_routes: &'static [(&'static str, &'static str)]) -> Arc<Gate> {
        Arc::new(Gate {
            verifier: self.verifier.clone(),
            access_tokens: AccessTokens {
                store: self.access_tokens.store().clone(),
                namespace: self.config.namespace.as_str().into(),
            },
            public_routes,
        })
    }

    /// Waits until every cache has its first full list.
    pub async fn ready(&self) -> anyhow::Result<()> {
        self.index.ready().await?;
        self.access_tokens.wait_until_ready().await?;
        Ok(())
    }
}
