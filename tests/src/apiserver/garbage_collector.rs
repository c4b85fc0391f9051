//! The garbage collector, shaped as kube-controller-manager's: a graph of
//! owner references kept up to date from the stream of committed changes,
//! so each pass looks only at the objects a change can affect (the changed
//! object, its owners and its dependents), never at the whole store.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::metadata::{finalizers_of, is_terminating, name_of, namespace_of, uid_of};
use super::objects::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER, ServerState};
use super::store::{EventType, StoredEvent};

/// Where an object lives, and whom it names as owners.
struct Node {
    storage_key: String,
    namespace: String,
    name: String,
    owners: Vec<String>,
}

/// What one pass decided; each is carried out as a normal write that
/// re-checks the object's uid, so a decision on a replaced object is void.
pub enum Decision {
    Delete {
        key: String,
        object: Value,
        policy: Option<&'static str>,
    },
    DropOwners {
        key: String,
        object: Value,
        uids: Vec<String>,
    },
    RemoveFinalizer {
        key: String,
        object: Value,
        finalizer: &'static str,
    },
}

#[derive(Default)]
pub struct GarbageCollector {
    /// The resourceVersion the graph reflects; None until the first full scan.
    synced_to: Option<u64>,
    nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
}

/// Whether the object an owner reference points at exists: same uid, a kind
/// we serve, and for namespaced owners the dependent's namespace.
enum OwnerState {
    Absent,
    Unknown,
    Present(Value),
}

fn owner_uids(object: &Value) -> Vec<String> {
    owner_references(object)
        .iter()
        .filter_map(|r| r.get("uid").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

fn owner_references(object: &Value) -> &[Value] {
    object
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Just enough of an object to address it: name, namespace and uid.
fn identity(object: &Value) -> Value {
    json!({"metadata": {
        "name": name_of(object),
        "namespace": namespace_of(object),
        "uid": uid_of(object),
    }})
}

impl GarbageCollector {
    /// Brings the graph up to date and decides what the changes since the
    /// last pass call for.
    pub fn pass(&mut self, state: &ServerState) -> Vec<Decision> {
        let dirty = match self
            .synced_to
            .and_then(|since| state.store.events_after(since))
        {
            Some((events, resource_version)) => {
                self.synced_to = Some(resource_version);
                self.apply_events(&events)
            }
            // First pass, or changes were compacted away: rebuild, look at all.
            None => self.rebuild(state),
        };
        let mut decisions = Vec::new();
        for uid in dirty {
            self.decide(state, &uid, &mut decisions);
        }
        decisions
    }

    fn rebuild(&mut self, state: &ServerState) -> HashSet<String> {
        self.nodes.clear();
        self.dependents.clear();
        let resource_version = state.store.scan(|objects, resource_version| {
            for (key, object) in objects {
                self.insert(key, object);
            }
            resource_version
        });
        self.synced_to = Some(resource_version);
        self.nodes.keys().cloned().collect()
    }

    fn insert(&mut self, storage_key: &str, object: &Value) {
        let uid = uid_of(object).to_string();
        let owners = owner_uids(object);
        for owner in &owners {
            self.dependents
                .entry(owner.clone())
                .or_default()
                .insert(uid.clone());
        }
        self.nodes.insert(
            uid,
            Node {
                storage_key: storage_key.to_string(),
                namespace: namespace_of(object).to_string(),
                name: name_of(object).to_string(),
                owners,
            },
        );
    }

    fn remove(&mut self, uid: &str) {
        if let Some(node) = self.nodes.remove(uid) {
            for owner in node.owners {
                if let Some(set) = self.dependents.get_mut(&owner) {
                    set.remove(uid);
                    if set.is_empty() {
                        self.dependents.remove(&owner);
                    }
                }
            }
        }
    }

    /// Updates the graph; returns the uids whose state may now call for
    /// action: each changed object, its old and new owners (a dependent
    /// going away may release a foreground or orphan deletion) and its
    /// dependents (an owner going away or terminating affects them).
    fn apply_events(&mut self, events: &[std::sync::Arc<StoredEvent>]) -> HashSet<String> {
        let mut dirty = HashSet::new();
        for event in events {
            let uid = uid_of(&event.object).to_string();
            if let Some(previous) = &event.previous {
                dirty.extend(owner_uids(previous));
                self.remove(uid_of(previous));
            }
            dirty.extend(owner_uids(&event.object));
            if let Some(dependents) = self.dependents.get(&uid) {
                dirty.extend(dependents.iter().cloned());
            }
            if event.event_type != EventType::Deleted {
                self.insert(&event.storage_key, &event.object);
            }
            dirty.insert(uid);
        }
        dirty
    }

    fn object(&self, state: &ServerState, uid: &str) -> Option<(String, Value)> {
        let node = self.nodes.get(uid)?;
        let object = state
            .store
            .get(&node.storage_key, &node.namespace, &node.name)
            .filter(|o| uid_of(o) == uid)?;
        Some((node.storage_key.clone(), object))
    }

    fn owner_state(
        &self,
        state: &ServerState,
        reference: &Value,
        dependent_namespace: &str,
    ) -> OwnerState {
        let text = |field: &str| reference.get(field).and_then(Value::as_str).unwrap_or("");
        let Some(owner_type) = state.registry.by_kind(text("apiVersion"), text("kind")) else {
            return OwnerState::Unknown;
        };
        match self.object(state, text("uid")) {
            Some((key, owner))
                if key == owner_type.storage_key()
                    && (!owner_type.namespaced || namespace_of(&owner) == dependent_namespace) =>
            {
                OwnerState::Present(owner)
            }
            _ => OwnerState::Absent,
        }
    }

    fn decide(&self, state: &ServerState, uid: &str, decisions: &mut Vec<Decision>) {
        let Some((key, object)) = self.object(state, uid) else {
            return;
        };
        self.decide_as_dependent(state, &key, &object, decisions);
        if is_terminating(&object) {
            self.decide_as_owner(state, &key, &object, decisions);
        }
    }

    /// A dependent goes when none of its owners is left; is deleted in the
    /// foreground with an owner being deleted so; or loses the references of
    /// owners that are gone or orphan it.
    fn decide_as_dependent(
        &self,
        state: &ServerState,
        key: &str,
        object: &Value,
        decisions: &mut Vec<Decision>,
    ) {
        let references = owner_references(object);
        if references.is_empty() {
            return;
        }
        let mut dangling = Vec::new();
        let mut orphaned_by = Vec::new();
        let mut live = 0;
        let mut foreground_owner = false;
        for reference in references {
            let uid = reference
                .get("uid")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            match self.owner_state(state, reference, namespace_of(object)) {
                OwnerState::Absent => dangling.push(uid),
                OwnerState::Unknown => live += 1,
                OwnerState::Present(owner) => {
                    let owner_finalizers = finalizers_of(&owner);
                    let terminating = is_terminating(&owner);
                    if terminating && owner_finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
                        orphaned_by.push(uid);
                        continue;
                    }
                    live += 1;
                    if terminating && owner_finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
                        foreground_owner = true;
                    }
                }
            }
        }
        let decision = if live == 0 && !dangling.is_empty() && orphaned_by.is_empty() {
            (!is_terminating(object)).then_some(Decision::Delete {
                key: key.to_string(),
                object: identity(object),
                policy: None,
            })
        } else if foreground_owner {
            (!is_terminating(object)).then_some(Decision::Delete {
                key: key.to_string(),
                object: identity(object),
                policy: Some("Foreground"),
            })
        } else if !dangling.is_empty() || !orphaned_by.is_empty() {
            Some(Decision::DropOwners {
                key: key.to_string(),
                object: identity(object),
                uids: dangling.into_iter().chain(orphaned_by).collect(),
            })
        } else {
            None
        };
        decisions.extend(decision);
    }

    /// A terminating owner's foreground finalizer goes when no dependent
    /// blocks it any more; its orphan finalizer when no dependent still
    /// names it.
    fn decide_as_owner(
        &self,
        state: &ServerState,
        key: &str,
        object: &Value,
        decisions: &mut Vec<Decision>,
    ) {
        let uid = uid_of(object);
        let dependents: Vec<Value> = self
            .dependents
            .get(uid)
            .into_iter()
            .flatten()
            .filter_map(|dependent| self.object(state, dependent))
            .map(|(_, dependent)| dependent)
            .collect();
        let finalizers = finalizers_of(object);
        let blocked = dependents.iter().any(|dependent| {
            owner_references(dependent).iter().any(|r| {
                r.get("uid").and_then(Value::as_str) == Some(uid)
                    && r.get("blockOwnerDeletion").and_then(Value::as_bool) == Some(true)
            })
        });
        if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) && !blocked {
            decisions.push(Decision::RemoveFinalizer {
                key: key.to_string(),
                object: identity(object),
                finalizer: FOREGROUND_FINALIZER,
            });
        }
        if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) && dependents.is_empty() {
            decisions.push(Decision::RemoveFinalizer {
                key: key.to_string(),
                object: identity(object),
                finalizer: ORPHAN_FINALIZER,
            });
        }
    }
}
