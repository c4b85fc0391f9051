//! Server-side apply that skips writes which would change nothing: the hash
//! of what we apply is stored on the object, and an object that carries the
//! hash and still holds every value we set is left alone. A resync of an
//! unchanged Project sends no writes; a hand-edited child is restored.

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use supaplane_crds::constants::{ANNOTATION_SPEC_HASH, FIELD_MANAGER_OPERATOR};

use crate::error::{Error, Result};

/// The hex SHA-256 of an object's JSON form.
pub fn spec_hash<K: Serialize>(object: &K) -> String {
    let bytes = serde_json::to_vec(object).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Applies `desired` (with the operator's field manager, forcing ownership)
/// unless the live object already carries its hash. Returns the live object.
pub async fn apply_if_changed<K>(api: &Api<K>, mut desired: K) -> Result<K>
where
    K: Resource + Clone + Debug + Serialize + DeserializeOwned,
    K::DynamicType: Default,
{
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let name = desired.name_any();
    let hash = spec_hash(&desired);
    let live = api.get_opt(&name).await.map_err(|source| Error::Read {
        kind: kind.clone(),
        name: name.clone(),
        source,
    })?;
    if let Some(live) = live
        && live.annotations().get(ANNOTATION_SPEC_HASH) == Some(&hash)
        && holds_all_of(&live, &desired)
    {
        return Ok(live);
    }
    desired
        .annotations_mut()
        .insert(ANNOTATION_SPEC_HASH.to_string(), hash);
    api.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER_OPERATOR).force(),
        &Patch::Apply(&desired),
    )
    .await
    .map_err(|source| Error::Apply { kind, name, source })
}

/// Whether `live` still has every value `desired` sets. The server may add
/// fields (defaults, status, metadata), never change ours, so anything else
/// is a hand edit to undo.
fn holds_all_of<K: Serialize>(live: &K, desired: &K) -> bool {
    match (serde_json::to_value(live), serde_json::to_value(desired)) {
        (Ok(live), Ok(desired)) => is_subset(&desired, &live),
        _ => false,
    }
}

fn is_subset(desired: &serde_json::Value, live: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (desired, live) {
        (Value::Object(wanted), Value::Object(actual)) => wanted
            .iter()
            .all(|(key, value)| actual.get(key).is_some_and(|found| is_subset(value, found))),
        (Value::Array(wanted), Value::Array(actual)) => {
            wanted.len() == actual.len() && wanted.iter().zip(actual).all(|(w, a)| is_subset(w, a))
        }
        (wanted, actual) => wanted == actual,
    }
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
    let kind = K::kind(&K::DynamicType::default()).to_string();
    let listed = api
        .list_metadata(&kube::api::ListParams::default().labels(selector))
        .await
        .map_err(|source| Error::Read {
            kind: kind.clone(),
            name: selector.to_string(),
            source,
        })?;
    let mut pruned = Vec::new();
    for object in listed.items {
        let name = object.name_any();
        if keep.contains(&name) || !prunable(&name) {
            continue;
        }
        match api.delete(&name, &Default::default()).await {
            Ok(_) => pruned.push(name),
            Err(kube::Error::Api(status)) if status.code == 404 => {}
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
    let kind = K::kind(&K::DynamicType::default()).to_string();
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
    .map_err(|source| Error::Apply { kind, name, source })
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

    #[test]
    fn added_fields_are_fine_changed_ones_are_not() {
        let desired = serde_json::json!({"metadata": {"labels": {"a": "1"}}, "spec": {"ports": [{"port": 80}]}});
        let defaulted = serde_json::json!({
            "metadata": {"labels": {"a": "1", "extra": "x"}, "uid": "u"},
            "spec": {"ports": [{"port": 80, "protocol": "TCP"}], "type": "ClusterIP"},
        });
        assert!(is_subset(&desired, &defaulted));
        let edited = serde_json::json!({"metadata": {"labels": {"a": "2"}}, "spec": {"ports": [{"port": 80}]}});
        assert!(!is_subset(&desired, &edited));
        let fewer = serde_json::json!({"metadata": {"labels": {"a": "1"}}, "spec": {"ports": []}});
        assert!(!is_subset(&desired, &fewer));
    }
}
