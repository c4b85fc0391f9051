//! The Secret that stores a project's generated keys.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ObjectMeta;
use supaplane_crds::Project;
use supaplane_crds::constants::{KEYS_SECRET_NAME, project_namespace};

use super::{labels, owner_reference};
use crate::keys::ProjectKeys;

pub fn keys_secret(project: &Project, keys: &ProjectKeys) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(KEYS_SECRET_NAME.to_string()),
            namespace: Some(project_namespace(
                project.metadata.name.as_deref().unwrap_or_default(),
            )),
            labels: Some(labels(project, "keys")),
            owner_references: owner_reference(project).map(|r| vec![r]),
            ..Default::default()
        },
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
    use crate::render::fixtures::project;
    use rand::SeedableRng;

    #[test]
    fn the_secret_holds_every_key_in_the_project_namespace() {
        let keys = ProjectKeys::generate(&mut rand::rngs::StdRng::seed_from_u64(3), 0, None)
            .expect("keys");
        let secret = keys_secret(&project("abc", "acme"), &keys);
        assert_eq!(secret.metadata.namespace.as_deref(), Some("project-abc"));
        let data = secret.data.expect("data");
        assert_eq!(data[secret_keys::JWT_SECRET].0, keys.jwt_secret.as_bytes());
        assert_eq!(data.len(), keys.to_secret_data().len());
    }
}
