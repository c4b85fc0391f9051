//! What every handler shares: the Kubernetes client, the configuration, and
//! reflector caches of Organizations, Projects and access tokens, so reads
//! never cost an API round trip.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource};
use supaplane_crds::{Organization, Project};
use tokio::task::JoinHandle;

use crate::access_tokens::LABEL_ACCESS_TOKEN;
use crate::auth::TokenVerifier;
use crate::config::FacadeConfig;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub client: Client,
    pub config: FacadeConfig,
    pub verifier: TokenVerifier,
    pub organizations: Store<Organization>,
    pub projects: Store<Project>,
    /// The projects of each organization.
    pub project_index: crate::project_index::ProjectIndex,
    /// The organizations of each user.
    pub member_index: crate::member_index::MemberIndex,
    /// Organization pages, as answered.
    pub page_cache: crate::page_cache::PageCache,
    pub access_tokens: Store<Secret>,
    /// HTTP client for the projects' services (pg-meta, GoTrue, Storage).
    pub upstream: UpstreamClient,
    /// Each user's rate of writes.
    pub write_rate: Arc<crate::limits::WriteRate>,
    /// Where each user's changes are recorded.
    pub audit: crate::audit::AuditLog,
}

pub type UpstreamClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
>;

/// An HTTP(S) client with the system's trust roots.
pub fn upstream_client() -> anyhow::Result<UpstreamClient> {
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .build();
    Ok(
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(connector),
    )
}

impl AppState {
    /// `organization`'s projects, from the cache by its index.
    pub fn projects_in(&self, organization: &str) -> Vec<Arc<Project>> {
        self.project_index.map_in(organization, |reference| {
            self.projects
                .get(reference)
                .filter(|project| project.spec.organization == organization)
        })
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// How long a handler waits for its own write to reach the cache.
const WRITE_VISIBLE_TIMEOUT: Duration = Duration::from_secs(5);

impl AppState {
    /// Starts the caches; they fill in the background (see [`AppState::ready`]).
    pub fn start(
        client: Client,
        config: FacadeConfig,
    ) -> anyhow::Result<(AppState, Vec<JoinHandle<()>>)> {
        config.check()?;
        let member_index = crate::member_index::MemberIndex::default();
        let indexing_members = member_index.clone();
        let (organizations, organizations_task) = cache(
            Api::<Organization>::all(client.clone()),
            watcher::Config::default(),
            move |event| indexing_members.apply(event),
        );
        let project_index = crate::project_index::ProjectIndex::default();
        let indexing = project_index.clone();
        let (projects, projects_task) = cache(
            Api::<Project>::all(client.clone()),
            watcher::Config::default(),
            move |event| indexing.apply(event),
        );
        let (access_tokens, tokens_task) = cache(
            Api::<Secret>::namespaced(client.clone(), &config.namespace),
            watcher::Config::default().labels(&format!("{LABEL_ACCESS_TOKEN}=true")),
            |_| {},
        );
        let upstream = upstream_client()?;
        let verifier = TokenVerifier::new(&config, upstream.clone())?;
        let write_rate = crate::limits::WriteRate::new(config.writes_per_minute);
        // Users not seen for a while are forgotten by the rate limiter.
        let shrinking = write_rate.clone();
        let shrink_task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(300));
            loop {
                ticks.tick().await;
                shrinking.shrink();
            }
        });
        let (audit, audit_task) = crate::audit::AuditLog::start(client.clone(), &config.namespace);
        let state = AppState(Arc::new(Shared {
            client,
            config,
            verifier,
            organizations,
            projects,
            project_index,
            member_index,
            page_cache: Default::default(),
            access_tokens,
            upstream,
            write_rate,
            audit,
        }));
        Ok((
            state,
            vec![
                organizations_task,
                projects_task,
                tokens_task,
                shrink_task,
                audit_task,
            ],
        ))
    }

    /// Waits until every cache has its first full list.
    pub async fn ready(&self) -> anyhow::Result<()> {
        self.organizations.wait_until_ready().await?;
        self.projects.wait_until_ready().await?;
        self.access_tokens.wait_until_ready().await?;
        Ok(())
    }
}

/// What the facade never reads, and so does not keep: who wrote which
/// field, and kubectl's copy of what it applied (a whole spec again).
fn trim<K: Resource>(object: &mut K) {
    object.meta_mut().managed_fields = None;
    if let Some(annotations) = object.meta_mut().annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// A cache of `api`, trimmed; each watch event also goes to `follow`, once
/// the cache has it.
fn cache<K>(
    api: Api<K>,
    config: watcher::Config,
    follow: impl Fn(&watcher::Event<K>) + Send + 'static,
) -> (Store<K>, JoinHandle<()>)
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = watcher(api, config)
        .backoff(supaplane_crds::watching::backoff())
        .modify(trim)
        // The indexes first: whoever sees an object in the store (a handler
        // waiting to read its own write) finds it in the indexes too.
        .inspect_ok(move |event| follow(event))
        .reflect(writer);
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if let Err(error) = item {
                tracing::warn!(%error, "watch of a cached resource failed; retrying");
            }
        }
    });
    (reader, task)
}

/// Waits until the cache shows the object as `visible` says (so a client
/// reads its own write next), giving up quietly after a few seconds.
pub async fn await_cached<K>(
    store: &Store<K>,
    reference: ObjectRef<K>,
    visible: impl Fn(Option<&K>) -> bool,
) where
    K: Resource<DynamicType = ()> + Clone + 'static,
{
    let deadline = tokio::time::Instant::now() + WRITE_VISIBLE_TIMEOUT;
    while tokio::time::Instant::now() < deadline {
        if visible(store.get(&reference).as_deref()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tracing::warn!(object = %reference, "a write did not reach the cache in time");
}

/// Whether a cached object includes a write: the same object (uid) at the
/// written generation or later. resourceVersions are opaque and cannot be
/// ordered, but a later status write keeps the generation, so this holds
/// even when another writer got in first.
pub fn includes_write<K: Resource>(cached: Option<&K>, written: &K) -> bool {
    cached.is_some_and(|cached| {
        cached.meta().uid == written.meta().uid
            && cached.meta().generation.unwrap_or(0) >= written.meta().generation.unwrap_or(0)
            && (cached.meta().resource_version == written.meta().resource_version
                || written.meta().generation.is_some())
    })
}
