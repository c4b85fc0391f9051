//! Server-side apply that skips writes which would change nothing: the hash
//! of what we apply is stored on the object, and an object that carries the
//! hash and still holds every value we set is left alone. A resync of an
//! unchanged Project sends no writes; a hand-edited child is restored.

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use supaplane_crds::constants::{ANNOTATION_SPEC_HASH, FIELD_MANAGER_OPERATOR};
use supaplane_crds::digest::sha256;
use supaplane_crds::gone::delete_if_present;

use crate::error::{Error, Result};
use crate::quantity;

/// The SHA-256 of an object's JSON form.
pub fn spec_digest<K: Serialize>(object: &K) -> [u8; 32] {
    sha256(&serde_json::to_vec(object).unwrap_or_default())
}

/// The hex SHA-256 of an object's JSON form.
pub fn spec_hash<K: Serialize>(object: &K) -> String {
    hex::encode(spec_digest(object))
}

/// Applies `desired` (with the operator's field manager, forcing ownership)
/// unless the live object already carries its hash and holds every value it
/// sets. Returns the live object.
///
/// A forced apply only removes what this manager owned, so a field another
/// manager added by hand inside what we render (an extra env var, say)
/// survives it; such a leftover is then removed by a JSON patch made
/// conditional on the object's resourceVersion.
pub async fn apply_if_changed<K>(api: &Api<K>, desired: K) -> Result<K>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
    K::DynamicType: Default,
{
    let digest = spec_digest(&desired);
    apply_digested(api, desired, &digest, Existence::Unknown).await
}

/// What is known of whether the object exists before it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existence {
    /// Read it first.
    Unknown,
    /// A current watch has never seen it: apply without reading (an apply
    /// creates or updates alike, so a watch a moment behind costs nothing).
    NotSeen,
}

/// [`apply_if_changed`] with the digest of `desired` already taken.
pub async fn apply_digested<K>(
    api: &Api<K>,
    mut desired: K,
    digest: &[u8; 32],
    existence: Existence,
) -> Result<K>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
    K::DynamicType: Default,
{
    let kind = kind_of::<K>();
    let name = desired.name_any();
    let hash = hex::encode(digest);
    let live = match existence {
        Existence::NotSeen => None,
        Existence::Unknown => api
            .get_opt(&name)
            .await
            .map_err(Error::reading(kind.clone(), name.clone()))?,
    };
    desired
        .annotations_mut()
        .insert(ANNOTATION_SPEC_HASH.to_string(), hash);
    if let Some(live) = &live
        && corrections(live, &desired).is_none()
    {
        return Ok(live.clone());
    }
    let applied = api
        .patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER_OPERATOR).force(),
            &Patch::Apply(&desired),
        )
        .await
        .map_err(Error::applying(kind.clone(), name.clone()))?;
    let Some(patch) = corrections(&applied, &desired) else {
        return Ok(applied);
    };
    api.patch(
        &name,
        &PatchParams {
            field_manager: Some(FIELD_MANAGER_OPERATOR.to_string()),
            ..Default::default()
        },
        &Patch::<()>::Json(patch),
    )
    .await
    .map_err(Error::applying(kind, name))
}

/// The JSON patch that makes `live` hold exactly what `desired` renders
/// (keeping what the server added), or None when it already does.
fn corrections<K: Serialize + Resource>(live: &K, desired: &K) -> Option<json_patch::Patch> {
    let (Ok(live_value), Ok(desired_value)) =
        (serde_json::to_value(live), serde_json::to_value(desired))
    else {
        return None;
    };
    let target = overlay(&live_value, &desired_value);
    let diff = json_patch::diff(&live_value, &target);
    if diff.0.is_empty() {
        return None;
    }
    // A resourceVersion in a patch is a precondition: a concurrent change
    // makes it a 409 Conflict, retried on the next reconcile.
    let guard = json_patch::PatchOperation::Replace(json_patch::ReplaceOperation {
        path: "/metadata/resourceVersion".parse().ok()?,
        value: live.meta().resource_version.clone().into(),
    });
    Some(json_patch::Patch(
        std::iter::once(guard).chain(diff.0).collect(),
    ))
}

/// `live` with every value `desired` sets. Maps merge key by key; a list
/// becomes desired's items, each laid over its live counterpart (same
/// `name`, else same position) so what the server defaulted in it stays,
/// and items nobody renders go. What the server stores differently without
/// a change of meaning counts as held: an empty or zero value it drops
/// (Go's `omitempty`) and a quantity it canonicalized (`1.5Gi` is `1536Mi`).
fn overlay(live: &Value, desired: &Value) -> Value {
    match (live, desired) {
        (Value::Object(actual), Value::Object(wanted)) => {
            let mut merged = actual.clone();
            for (key, value) in wanted {
                match actual.get(key) {
                    Some(found) => {
                        merged.insert(key.clone(), overlay(found, value));
                    }
                    None if is_empty(value) => {}
                    None => {
                        merged.insert(key.clone(), value.clone());
                    }
                }
            }
            Value::Object(merged)
        }
        (Value::Array(actual), Value::Array(wanted)) => {
            let by_name = names_identify(wanted);
            Value::Array(
                wanted
                    .iter()
                    .enumerate()
                    .map(
                        |(index, value)| match counterpart(actual, value, index, by_name) {
                            Some(found) => overlay(found, value),
                            None => value.clone(),
                        },
                    )
                    .collect(),
            )
        }
        (Value::String(actual), Value::String(wanted)) if same_quantity(actual, wanted) => {
            live.clone()
        }
        _ => desired.clone(),
    }
}

fn name_of(item: &Value) -> Option<&str> {
    item.get("name").and_then(Value::as_str)
}

/// Whether every item of a list has a `name` and no two share one.
fn names_identify(items: &[Value]) -> bool {
    let mut seen = std::collections::BTreeSet::new();
    items
        .iter()
        .all(|item| name_of(item).is_some_and(|name| seen.insert(name)))
}

/// The live item a desired list item is compared with: the one of the same
/// `name` when names identify the items, else the one at the same position.
fn counterpart<'a>(
    actual: &'a [Value],
    wanted: &Value,
    index: usize,
    by_name: bool,
) -> Option<&'a Value> {
    if by_name {
        actual.iter().find(|item| name_of(item) == name_of(wanted))
    } else {
        actual.get(index)
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Whether two strings are the same Kubernetes quantity written two ways.
fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity::value(a), quantity::value(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()) * 4.0,
        _ => false,
    }
}

/// A kind's name, for errors.
pub fn kind_of<K: Resource>() -> String
where
    K::DynamicType: Default,
{
    K::kind(&K::DynamicType::default()).to_string()
}

/// Deletes the objects `api` lists with `selector` whose names `prunable` accepts
/// and that are not in `keep`: what a project no longer renders (a disabled
/// component) goes. Listing first keeps a resync free of writes.
pub async fn prune<K>(
    api: &Api<K>,
    selector: &str,
    keep: &[String],
    prunable: impl Fn(&str) -> bool,
) -> Result<Vec<String>>
where
    K: Resource + Clone + Debug + DeserializeOwned,
    K::DynamicType: Default,
{
    let kind = kind_of::<K>();
    let listed = api
        .list_metadata(&kube::api::ListParams::default().labels(selector))
        .await
        .map_err(Error::reading(kind.clone(), selector.to_string()))?;
    let names = listed.items.iter().map(ResourceExt::name_any).collect();
    prune_named(api, names, keep, prunable).await
}

/// [`prune`] over names already known to exist.
pub async fn prune_named<K>(
    api: &Api<K>,
    existing: Vec<String>,
    keep: &[String],
    prunable: impl Fn(&str) -> bool,
) -> Result<Vec<String>>
where
    K: Resource + Clone + Debug + DeserializeOwned,
    K::DynamicType: Default,
{
    let kind = kind_of::<K>();
    let mut pruned = Vec::new();
    for name in existing {
        if keep.contains(&name) || !prunable(&name) {
            continue;
        }
        match delete_if_present(api, &name, &Default::default()).await {
            Ok(true) => pruned.push(name),
            Ok(false) => {}
            Err(source) => return Err(Error::Apply { kind, name, source }),
        }
    }
    Ok(pruned)
}

/// Removes `label` from an object when it carries it (a retained volume or
/// namespace being adopted by a new Project).
pub async fn remove_label<K>(api: &Api<K>, object: &K, label: &str) -> Result<()>
where
    K: Resource + Clone + Debug + DeserializeOwned,
    K::DynamicType: Default,
{
    if !object.labels().contains_key(label) {
        return Ok(());
    }
    let kind = kind_of::<K>();
    let name = object.name_any();
    let patch = serde_json::json!({"metadata": {"labels": {label: null}}});
    api.patch(
        &name,
        &PatchParams {
            field_manager: Some(FIELD_MANAGER_OPERATOR.to_string()),
            ..Default::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .map(|_| ())
    .map_err(Error::applying(kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;

    #[test]
    fn the_hash_follows_the_content() {
        let mut a = ConfigMap::default();
        a.metadata.name = Some("a".into());
        let b = a.clone();
        assert_eq!(spec_hash(&a), spec_hash(&b));
        a.data = Some([("k".to_string(), "v".to_string())].into());
        assert_ne!(spec_hash(&a), spec_hash(&b));
        assert_eq!(spec_hash(&a).len(), 64);
    }

    fn held(live: Value, desired: Value) -> bool {
        json_patch::diff(&live, &overlay(&live, &desired))
            .0
            .is_empty()
    }

    #[test]
    fn added_fields_are_fine_changed_ones_are_not() {
        let desired = serde_json::json!({"metadata": {"labels": {"a": "1"}}, "spec": {"ports": [{"port": 80}]}});
        let defaulted = serde_json::json!({
            "metadata": {"labels": {"a": "1", "extra": "x"}, "uid": "u"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "type": "ClusterIP"},
        });
        assert!(held(defaulted, desired.clone()));
        let edited = serde_json::json!({"metadata": {"labels": {"a": "2"}}, "spec": {"ports": [{"port": 80}]}});
        assert!(!held(edited, desired.clone()));
        let fewer = serde_json::json!({"metadata": {"labels": {"a": "1"}}, "spec": {"ports": []}});
        assert!(!held(fewer, desired));
    }

    #[test]
    fn what_the_server_drops_or_rewrites_counts_as_held() {
        let desired = serde_json::json!({"spec": {
            "podSelector": {"matchLabels": {}},
            "env": [{"name": "A", "value": ""}, {"name": "B", "value": "b"}],
            "resources": {"limits": {"memory": "1.5Gi", "cpu": "0.5"}},
            "readOnly": false,
        }});
        let stored = serde_json::json!({"spec": {
            "podSelector": {},
            "env": [{"name": "A"}, {"name": "B", "value": "b"}],
            "resources": {"limits": {"memory": "1536Mi", "cpu": "500m"}},
        }});
        assert!(held(stored, desired.clone()));
        let resized = serde_json::json!({"spec": {
            "podSelector": {},
            "env": [{"name": "A"}, {"name": "B", "value": "b"}],
            "resources": {"limits": {"memory": "1Gi", "cpu": "500m"}},
        }});
        assert!(!held(resized, desired));
    }

    #[test]
    fn items_added_by_hand_are_removed_and_defaults_kept() {
        let desired =
            serde_json::json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        let live = serde_json::json!({"env": [
            {"name": "A", "value": "1"}, {"name": "EXTRA", "value": "x"}, {"name": "B", "value": "2", "x": 1}]});
        let patched = overlay(&live, &desired);
        assert_eq!(
            patched,
            serde_json::json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2", "x": 1}]})
        );
    }

    #[test]
    fn quantities_compare_by_value() {
        assert!(same_quantity("1.5Gi", "1536Mi"));
        assert!(same_quantity("0.5", "500m"));
        assert!(same_quantity("1e3", "1k"));
        assert!(!same_quantity("1Gi", "1G"));
        assert!(!same_quantity("value", "value2"));
    }
}
