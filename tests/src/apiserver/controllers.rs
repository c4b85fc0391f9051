//! The control loops a real cluster runs in kube-controller-manager and
//! apiextensions-apiserver that our tests rely on: the garbage collector
//! (owner references, foreground and orphan deletion), the namespace
//! lifecycle controller, and CRD instance cleanup.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::garbage_collector::{Decision, GarbageCollector};
use super::metadata::{finalizers_of, is_terminating, name_of, namespace_of, uid_of};
use super::objects::{self, CRD_CLEANUP_FINALIZER, DeleteOptions, ServerState};
use super::registry::ResourceType;
use super::store::Write;

/// Runs every controller until the server stops.
pub async fn run(state: Arc<ServerState>) {
    let mut collector = GarbageCollector::default();
    loop {
        let changed = state.store.changed.notified();
        garbage_collect(&state, &mut collector);
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

fn garbage_collect(state: &ServerState, collector: &mut GarbageCollector) {
    for decision in collector.pass(state) {
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

/// Deletes what a terminating namespace holds, then finalizes it.
fn finish_namespaces(state: &ServerState) {
    let terminating = state.store.select("/namespaces", is_terminating);
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
    for crd in &state.store.select(key, is_terminating) {
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
