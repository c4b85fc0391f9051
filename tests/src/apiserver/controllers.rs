//! The control loops a real cluster runs in kube-controller-manager and
//! apiextensions-apiserver that our tests rely on: the garbage collector
//! (owner references, foreground and orphan deletion), the namespace
//! lifecycle controller, and CRD instance cleanup.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::metadata::{finalizers_of, is_terminating, name_of, namespace_of, uid_of};
use super::objects::{
    self, CRD_CLEANUP_FINALIZER, DeleteOptions, FOREGROUND_FINALIZER, ORPHAN_FINALIZER, ServerState,
};
use super::registry::ResourceType;
use super::store::Write;

/// Runs every controller until the server stops.
pub async fn run(state: Arc<ServerState>) {
    loop {
        let changed = state.store.changed.notified();
        garbage_collect(&state);
        finish_namespaces(&state);
        clean_up_crds(&state);
        tokio::select! {
            _ = changed => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        // Batches bursts of writes into one pass, as the informers' queues do.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn resource_for_key(state: &ServerState, storage_key: &str) -> Option<Arc<ResourceType>> {
    state
        .registry
        .all()
        .into_iter()
        .find(|r| r.storage_key() == storage_key)
}

fn delete_quietly(state: &ServerState, storage_key: &str, object: &Value, policy: Option<&str>) {
    if let Some(resource) = resource_for_key(state, storage_key) {
        let options = DeleteOptions {
            propagation_policy: policy.map(str::to_string),
            precondition_uid: Some(uid_of(object).to_string()),
            ..Default::default()
        };
        let _ = objects::delete(
            state,
            &resource,
            namespace_of(object),
            name_of(object),
            &options,
        );
    }
}

/// Edits an object in place under the store lock; deletes it when a
/// terminating object is left with nothing holding it.
fn edit(state: &ServerState, storage_key: &str, object: &Value, change: impl FnOnce(&mut Value)) {
    let is_namespace = storage_key == "/namespaces";
    let uid = uid_of(object).to_string();
    let _ = state.store.write(
        storage_key,
        namespace_of(object),
        name_of(object),
        |current| {
            let Some(current) = current.filter(|c| uid_of(c) == uid) else {
                return Ok((Write::Unchanged, ()));
            };
            let mut updated = current.clone();
            change(&mut updated);
            if updated == *current {
                return Ok((Write::Unchanged, ()));
            }
            let namespace_held = is_namespace
                && updated
                    .pointer("/spec/finalizers")
                    .and_then(Value::as_array)
                    .is_some_and(|f| !f.is_empty());
            if is_terminating(&updated) && finalizers_of(&updated).is_empty() && !namespace_held {
                return Ok((Write::Delete(updated), ()));
            }
            Ok((Write::Put(updated), ()))
        },
    );
}

fn remove_finalizer(state: &ServerState, storage_key: &str, object: &Value, finalizer: &str) {
    edit(state, storage_key, object, |o| {
        let remaining: Vec<String> = finalizers_of(o)
            .into_iter()
            .filter(|f| f != finalizer)
            .collect();
        o["metadata"]["finalizers"] = json!(remaining);
    });
}

/// Whether the object an owner reference points at exists: same uid, a kind
/// we serve, and for namespaced owners the dependent's namespace.
enum OwnerState<'a> {
    Absent,
    Unknown,
    Present(&'a Value),
}

fn owner_state<'a>(
    state: &ServerState,
    by_uid: &HashMap<&'a str, (&'a str, &'a Value)>,
    reference: &Value,
    dependent_namespace: &str,
) -> OwnerState<'a> {
    let api_version = reference
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = reference.get("kind").and_then(Value::as_str).unwrap_or("");
    let Some(owner_type) = state.registry.by_kind(api_version, kind) else {
        return OwnerState::Unknown;
    };
    let uid = reference.get("uid").and_then(Value::as_str).unwrap_or("");
    match by_uid.get(uid) {
        Some((key, owner))
            if *key == owner_type.storage_key()
                && (!owner_type.namespaced || namespace_of(owner) == dependent_namespace) =>
        {
            OwnerState::Present(owner)
        }
        _ => OwnerState::Absent,
    }
}

/// What one pass of the garbage collector decided. Decisions are made over
/// the store's objects in place (no copy of the whole store per pass) and
/// carried out after, each a normal write that re-checks the object's uid.
enum Decision {
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

/// Just enough of an object to address it: name, namespace and uid.
fn identity(object: &Value) -> Value {
    json!({"metadata": {
        "name": name_of(object),
        "namespace": namespace_of(object),
        "uid": uid_of(object),
    }})
}

fn garbage_collect(state: &ServerState) {
    let decisions = state
        .store
        .with_objects(|objects| decide_collection(state, objects));
    for decision in decisions {
        match decision {
            Decision::Delete {
                key,
                object,
                policy,
            } => delete_quietly(state, &key, &object, policy),
            Decision::DropOwners { key, object, uids } => edit(state, &key, &object, |o| {
                if let Some(Value::Array(refs)) = o.pointer_mut("/metadata/ownerReferences") {
                    refs.retain(|r| {
                        !uids
                            .iter()
                            .any(|uid| r.get("uid").and_then(Value::as_str) == Some(uid))
                    });
                }
            }),
            Decision::RemoveFinalizer {
                key,
                object,
                finalizer,
            } => remove_finalizer(state, &key, &object, finalizer),
        }
    }
}

fn decide_collection<'a>(
    state: &ServerState,
    objects: impl Iterator<Item = (&'a str, &'a Value)> + Clone,
) -> Vec<Decision> {
    let by_uid: HashMap<&str, (&str, &Value)> = objects
        .clone()
        .map(|(key, object)| (uid_of(object), (key, object)))
        .collect();
    let mut decisions = Vec::new();
    // Owner uid -> whether a dependent still blocks its foreground deletion.
    let mut blocking: HashMap<String, bool> = HashMap::new();
    let mut has_dependents: HashMap<String, bool> = HashMap::new();

    for (key, object) in objects.clone() {
        let Some(references) = object
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .filter(|refs| !refs.is_empty())
        else {
            continue;
        };
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
            match owner_state(state, &by_uid, reference, namespace_of(object)) {
                OwnerState::Absent => dangling.push(uid),
                OwnerState::Unknown => live += 1,
                OwnerState::Present(owner) => {
                    has_dependents.insert(uid.clone(), true);
                    let owner_finalizers = finalizers_of(owner);
                    if is_terminating(owner)
                        && owner_finalizers.iter().any(|f| f == ORPHAN_FINALIZER)
                    {
                        orphaned_by.push(uid);
                        continue;
                    }
                    live += 1;
                    if is_terminating(owner)
                        && owner_finalizers.iter().any(|f| f == FOREGROUND_FINALIZER)
                    {
                        foreground_owner = true;
                        if reference.get("blockOwnerDeletion").and_then(Value::as_bool)
                            == Some(true)
                        {
                            blocking.insert(uid, true);
                        }
                    }
                }
            }
        }
        if live == 0 && !dangling.is_empty() && orphaned_by.is_empty() {
            if !is_terminating(object) {
                decisions.push(Decision::Delete {
                    key: key.to_string(),
                    object: identity(object),
                    policy: None,
                });
            }
        } else if foreground_owner {
            if !is_terminating(object) {
                decisions.push(Decision::Delete {
                    key: key.to_string(),
                    object: identity(object),
                    policy: Some("Foreground"),
                });
            }
        } else if !dangling.is_empty() || !orphaned_by.is_empty() {
            decisions.push(Decision::DropOwners {
                key: key.to_string(),
                object: identity(object),
                uids: dangling.into_iter().chain(orphaned_by).collect(),
            });
        }
    }

    for (key, object) in objects {
        if !is_terminating(object) {
            continue;
        }
        let uid = uid_of(object);
        let finalizers = finalizers_of(object);
        if finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) && !blocking.contains_key(uid) {
            decisions.push(Decision::RemoveFinalizer {
                key: key.to_string(),
                object: identity(object),
                finalizer: FOREGROUND_FINALIZER,
            });
        }
        if finalizers.iter().any(|f| f == ORPHAN_FINALIZER) && !has_dependents.contains_key(uid) {
            decisions.push(Decision::RemoveFinalizer {
                key: key.to_string(),
                object: identity(object),
                finalizer: ORPHAN_FINALIZER,
            });
        }
    }
    decisions
}

/// Deletes what a terminating namespace holds, then finalizes it.
fn finish_namespaces(state: &ServerState) {
    let terminating = state.store.with_objects(|objects| {
        objects
            .filter(|(key, object)| *key == "/namespaces" && is_terminating(object))
            .map(|(_, namespace)| namespace.clone())
            .collect::<Vec<_>>()
    });
    for namespace in &terminating {
        let contents = state.store.objects_in_namespace(name_of(namespace));
        if contents.is_empty() {
            edit(state, "/namespaces", namespace, |ns| {
                if let Some(Value::Array(finalizers)) = ns.pointer_mut("/spec/finalizers") {
                    finalizers.retain(|f| f != "kubernetes");
                }
            });
            continue;
        }
        for (key, object) in contents {
            if !is_terminating(&object) {
                delete_quietly(state, &key, &object, Some("Background"));
            }
        }
    }
}

/// Deletes a terminating CRD's instances, then stops serving it.
fn clean_up_crds(state: &ServerState) {
    let key = "apiextensions.k8s.io/customresourcedefinitions";
    let (crds, _) = state.store.list(key, None);
    for crd in crds.iter().filter(|c| is_terminating(c)) {
        let (group, plural) = super::crd::group_and_plural(crd);
        let storage_key = format!("{group}/{plural}");
        let (instances, _) = state.store.list(&storage_key, None);
        if instances.is_empty() {
            state.registry.remove_group_resource(group, plural);
            remove_finalizer(state, key, crd, CRD_CLEANUP_FINALIZER);
            continue;
        }
        for instance in instances.iter().filter(|i| !is_terminating(i)) {
            delete_quietly(state, &storage_key, instance, None);
        }
    }
}
