//! The in-memory stand-in for etcd: objects by resource, one cluster-wide
//! resourceVersion counter, and a bounded event history for watches.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{Notify, broadcast};

use super::status::{ApiError, ApiResult};

/// How many past events a watch can resume from. Older resourceVersions get
/// 410 Gone, as after an etcd compaction.
const HISTORY_LIMIT: usize = 50_000;
/// How long a list continue token stays valid (the API server's default
/// compaction interval).
const CONTINUE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One committed change.
#[derive(Debug)]
pub struct StoredEvent {
    pub storage_key: String,
    pub resource_version: u64,
    pub event_type: EventType,
    pub object: Value,
    pub previous: Option<Value>,
}

/// What a write closure decided.
pub enum Write {
    Put(Value),
    Delete(Value),
    Unchanged,
}

type ObjectMap = BTreeMap<(String, String), Value>;

struct PagedList {
    remaining: Vec<Value>,
    resource_version: u64,
    created: Instant,
}

#[derive(Default)]
struct StoreState {
    resource_version: u64,
    objects: HashMap<String, ObjectMap>,
    history: VecDeque<Arc<StoredEvent>>,
    paged_lists: HashMap<String, PagedList>,
    next_page_id: u64,
}

pub struct Store {
    state: Mutex<StoreState>,
    events: broadcast::Sender<Arc<StoredEvent>>,
    /// Woken on every commit, so the built-in controllers react promptly.
    pub changed: Notify,
}

/// A watch's starting point: events to replay, the resourceVersion they run
/// up to, and the live feed after it.
pub struct Subscription {
    pub initial_objects: Vec<Value>,
    pub replay: Vec<Arc<StoredEvent>>,
    pub resource_version: u64,
    pub receiver: broadcast::Receiver<Arc<StoredEvent>>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(HISTORY_LIMIT);
        Store {
            state: Mutex::new(StoreState {
                resource_version: 1,
                ..Default::default()
            }),
            events,
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, StoreState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn current_resource_version(&self) -> u64 {
        self.lock().resource_version
    }

    pub fn get(&self, storage_key: &str, namespace: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(storage_key)
            .and_then(|objects| objects.get(&(namespace.to_string(), name.to_string())))
            .cloned()
    }

    /// Every object of a resource (in one namespace, or all), sorted by
    /// namespace and name, with the resourceVersion of that snapshot.
    pub fn list(&self, storage_key: &str, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let state = self.lock();
        (
            Self::collect(&state, storage_key, namespace),
            state.resource_version,
        )
    }

    /// Every object in any resource that lives in `namespace`, with its storage key.
    pub fn objects_in_namespace(&self, namespace: &str) -> Vec<(String, Value)> {
        let state = self.lock();
        let mut found = Vec::new();
        for (key, objects) in &state.objects {
            for ((ns, _), object) in objects {
                if ns == namespace {
                    found.push((key.clone(), object.clone()));
                }
            }
        }
        found
    }

    /// Runs `look` over every stored object (with its storage key) in place,
    /// under the store lock, with the resourceVersion of that snapshot: for
    /// controllers that must see everything once without copying the store.
    pub fn scan<R>(
        &self,
        look: impl FnOnce(&mut dyn Iterator<Item = (&str, &Value)>, u64) -> R,
    ) -> R {
        let state = self.lock();
        let mut iterator = state
            .objects
            .iter()
            .flat_map(|(key, objects)| objects.values().map(move |object| (key.as_str(), object)));
        look(&mut iterator, state.resource_version)
    }

    /// Copies of the objects of one resource that satisfy `wanted`.
    pub fn select(&self, storage_key: &str, wanted: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.lock()
            .objects
            .get(storage_key)
            .map(|objects| objects.values().filter(|o| wanted(o)).cloned().collect())
            .unwrap_or_default()
    }

    /// The committed events after `since` and the resourceVersion they run
    /// up to, or None when some of them are no longer kept.
    pub fn events_after(&self, since: u64) -> Option<(Vec<Arc<StoredEvent>>, u64)> {
        let state = self.lock();
        if since >= state.resource_version {
            return Some((Vec::new(), state.resource_version));
        }
        let oldest_kept = state.history.front()?.resource_version;
        if since + 1 < oldest_kept {
            return None;
        }
        let start = state
            .history
            .partition_point(|e| e.resource_version <= since);
        Some((
            state.history.range(start..).cloned().collect(),
            state.resource_version,
        ))
    }

    fn collect(state: &StoreState, storage_key: &str, namespace: Option<&str>) -> Vec<Value> {
        let Some(objects) = state.objects.get(storage_key) else {
            return Vec::new();
        };
        match namespace {
            None => objects.values().cloned().collect(),
            // Keys sort by namespace first: one namespace is one range.
            Some(wanted) => objects
                .range((wanted.to_string(), String::new())..)
                .take_while(|((ns, _), _)| ns == wanted)
                .map(|(_, object)| object.clone())
                .collect(),
        }
    }

    /// Keeps the rest of a paginated list so later pages are served from the
    /// same snapshot, as etcd's MVCC does for continue tokens.
    pub fn save_page_rest(&self, remaining: Vec<Value>, resource_version: u64) -> String {
        let mut state = self.lock();
        state
            .paged_lists
            .retain(|_, page| page.created.elapsed() < CONTINUE_TTL);
        state.next_page_id += 1;
        let token = format!("{}-{}", resource_version, state.next_page_id);
        state.paged_lists.insert(
            token.clone(),
            PagedList {
                remaining,
                resource_version,
                created: Instant::now(),
            },
        );
        token
    }

    pub fn take_page_rest(&self, token: &str) -> ApiResult<(Vec<Value>, u64)> {
        let mut state = self.lock();
        match state.paged_lists.remove(token) {
            Some(page) if page.created.elapsed() < CONTINUE_TTL => {
                Ok((page.remaining, page.resource_version))
            }
            _ => Err(ApiError::expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
            )),
        }
    }

    /// Atomically reads one object, lets `decide` compute the change, and
    /// commits it with the next resourceVersion. `decide` runs under the store
    /// lock, so concurrent writers are serialized as etcd transactions are.
    pub fn write<R>(
        &self,
        storage_key: &str,
        namespace: &str,
        name: &str,
        decide: impl FnOnce(Option<&Value>) -> ApiResult<(Write, R)>,
    ) -> ApiResult<(Option<Value>, R)> {
        let mut state = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let current = state
            .objects
            .get(storage_key)
            .and_then(|objects| objects.get(&key))
            .cloned();
        let (write, extra) = decide(current.as_ref())?;
        let (event_type, mut object) = match write {
            Write::Unchanged => return Ok((current, extra)),
            Write::Put(object) => (
                if current.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                },
                object,
            ),
            Write::Delete(object) => (EventType::Deleted, object),
        };
        state.resource_version += 1;
        let resource_version = state.resource_version;
        object["metadata"]["resourceVersion"] = Value::String(resource_version.to_string());
        let objects = state.objects.entry(storage_key.to_string()).or_default();
        if event_type == EventType::Deleted {
            objects.remove(&key);
        } else {
            objects.insert(key, object.clone());
        }
        let event = Arc::new(StoredEvent {
            storage_key: storage_key.to_string(),
            resource_version,
            event_type,
            object: object.clone(),
            previous: current,
        });
        if state.history.len() >= HISTORY_LIMIT {
            state.history.pop_front();
        }
        state.history.push_back(event.clone());
        // Sent under the lock so subscribers see events in resourceVersion order.
        let _ = self.events.send(event);
        drop(state);
        self.changed.notify_waiters();
        Ok((Some(object), extra))
    }

    /// Starts a watch. With `since` = None, the current objects are returned
    /// to be sent as ADDED; otherwise the events after `since` are replayed,
    /// or 410 Gone when they are no longer kept.
    pub fn subscribe(
        &self,
        storage_key: &str,
        namespace: Option<&str>,
        since: Option<u64>,
    ) -> ApiResult<Subscription> {
        let state = self.lock();
        let receiver = self.events.subscribe();
        let resource_version = state.resource_version;
        match since {
            None => Ok(Subscription {
                initial_objects: Self::collect(&state, storage_key, namespace),
                replay: Vec::new(),
                resource_version,
                receiver,
            }),
            Some(since) => {
                let oldest_kept = state
                    .history
                    .front()
                    .map(|e| e.resource_version)
                    .unwrap_or(resource_version + 1);
                // Every event after `since` must still be in the history.
                if since + 1 < oldest_kept && since < resource_version {
                    return Err(ApiError::expired(format!(
                        "too old resource version: {since} ({})",
                        oldest_kept.saturating_sub(1)
                    )));
                }
                let replay = state
                    .history
                    .iter()
                    .filter(|e| e.resource_version > since && e.storage_key == storage_key)
                    .cloned()
                    .collect();
                Ok(Subscription {
                    initial_objects: Vec::new(),
                    replay,
                    resource_version,
                    receiver,
                })
            }
        }
    }
}
