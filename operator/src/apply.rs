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
