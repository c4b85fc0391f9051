//! The Secret that stores a project's generated keys.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use supaplane_crds::Project;
use supaplane_crds::constants::KEYS_SECRET_NAME;

use super::child_metadata;
use crate::keys::ProjectKeys;

pub fn keys_secret(project: &Project, keys: &ProjectKeys) -> Secret {
    Secret {
        metadata: child_metadata(project, KEYS_SECRET_NAME, "keys"),
        type_: Some("Opaque".to_string()),
        data: Some(
            keys.to_secret_data()
                .into_iter()
                .map(|(k, v)| (k, ByteString(v)))
                .collect(),
        ),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::secret_keys;
    use rand::SeedableRng;
    use supaplane_crds::Project;

    #[test]
    fn the_secret_holds_every_key_in_the_project_namespace() {
        let keys = ProjectKeys::generate(&mut rand::rngs::StdRng::seed_from_u64(3), 0, None)
            .expect("keys");
        let secret = keys_secret(&Project::test("abc"), &keys);
        assert_eq!(secret.metadata.namespace.as_deref(), Some("project-abc"));
        let data = secret.data.expect("data");
        assert_eq!(data[secret_keys::JWT_SECRET].0, keys.jwt_secret.as_bytes());
        assert_eq!(data.len(), keys.to_secret_data().len());
    }
}
