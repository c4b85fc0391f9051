//! Server-side apply that skips writes which would change nothing: the hash
//! of what we apply is stored on the object, and an object whose hash
//! matches is left alone. A resync of an unchanged Project sends no writes.

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
}
