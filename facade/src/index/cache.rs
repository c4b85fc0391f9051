//! A cache of one kind of object, kept by its watch, and the wait for a
//! handler's own write to show in it.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Resource};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long a handler waits for its own write to reach the cache.
const WRITE_VISIBLE_TIMEOUT: Duration = Duration::from_secs(5);

/// The objects of one kind, as the watch last delivered them, and a counter
/// of the events taken in (so a waiter looks again only when something
/// arrived).
#[derive(Clone)]
pub struct Cache<K: Resource<DynamicType = ()> + Clone + 'static> {
    store: Store<K>,
    applied: watch::Receiver<u64>,
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> std::ops::Deref for Cache<K> {
    type Target = Store<K>;
    fn deref(&self) -> &Store<K> {
        &self.store
    }
}

impl<K> Cache<K>
where
    K: Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    /// Starts watching `api`, keeping objects trimmed; each event goes to
    /// `follow` (the indexes) before the cache has it.
    pub fn start(
        api: Api<K>,
        config: watcher::Config,
        follow: impl Fn(&watcher::Event<K>) + Send + 'static,
    ) -> (Cache<K>, JoinHandle<()>) {
        let (store, writer) = reflector::store();
        let (bump, applied) = watch::channel(0u64);
        let stream = watcher(api, config)
            .backoff(supaplane_crds::watching::backoff())
            .modify(supaplane_crds::watching::trim)
            // The indexes first: whoever sees an object in the store (a
            // handler waiting to read its own write) finds it in the
            // indexes too.
            .inspect_ok(move |event| follow(event))
            .reflect(writer);
        let task = tokio::spawn(async move {
            futures::pin_mut!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    // Counted once the store holds it: a woken waiter sees it.
                    Ok(_) => bump.send_modify(|events| *events = events.wrapping_add(1)),
                    Err(error) => {
                        tracing::warn!(%error, "watch of a cached resource failed; retrying");
                    }
                }
            }
        });
        (Cache { store, applied }, task)
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Cache<K> {
    /// The cache's store.
    pub fn store(&self) -> &Store<K> {
        &self.store
    }

    /// Waits until the cache shows the object as `visible` says (so a
    /// client reads its own write next), looking again at each event the
    /// watch delivers; gives up quietly after a few seconds.
    pub async fn wait_for(&self, reference: ObjectRef<K>, visible: impl Fn(Option<&K>) -> bool) {
        let mut applied = self.applied.clone();
        let seen = async {
            loop {
                // Marked seen before looking: an event taken in between the
                // look and the wait still wakes it.
                applied.borrow_and_update();
                if visible(self.store.get(&reference).as_deref()) {
                    return true;
                }
                if applied.changed().await.is_err() {
                    return false;
                }
            }
        };
        let shown = tokio::time::timeout(WRITE_VISIBLE_TIMEOUT, seen).await;
        if !matches!(shown, Ok(true)) {
            tracing::warn!(object = %reference, "a write did not reach the cache in time");
        }
    }
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
