//! Pure renderers: a Project (and its keys) in, typed Kubernetes objects out.
//! No I/O, no clock, no randomness, so every renderer is unit-tested.

pub mod auth;
pub mod backup;
pub mod backup_bucket;
pub mod database;
pub mod facade_access;
pub mod gateway;
pub mod imgproxy;
pub mod ingress;
pub mod keys_secret;
pub mod meta;
pub mod namespace;
pub mod network_policy;
pub mod quota;
pub mod realtime;
pub mod resources;
pub mod rest;
pub mod restart;
pub mod stack;
pub mod storage;
pub mod workload;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use supaplane_crds::Project;
use supaplane_crds::constants::{
    LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_ORGANIZATION, LABEL_PART_OF,
    LABEL_PROJECT, MANAGED_BY_VALUE, project_namespace,
};

/// The labels every child of a project carries; `component` names the service.
pub fn labels(project: &Project, component: &str) -> BTreeMap<String, String> {
    let project_ref = project.metadata.name.clone().unwrap_or_default();
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()),
        (LABEL_PART_OF.to_string(), MANAGED_BY_VALUE.to_string()),
        (LABEL_COMPONENT.to_string(), component.to_string()),
        (LABEL_INSTANCE.to_string(), project_ref.clone()),
        (LABEL_PROJECT.to_string(), project_ref),
        (
            LABEL_ORGANIZATION.to_string(),
            project.spec.organization.clone(),
        ),
    ])
}

/// The project's ref: its object's name.
pub fn project_ref(project: &Project) -> &str {
    project.metadata.name.as_deref().unwrap_or_default()
}

/// The metadata of every child of a project: `name` in the project's
/// namespace, labelled as part of `component`, owned by the Project.
pub fn child_metadata(project: &Project, name: &str, component: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(project_namespace(project_ref(project))),
        labels: Some(labels(project, component)),
        owner_references: owner_reference(project).map(|r| vec![r]),
        ..Default::default()
    }
}

/// The owner reference that ties a child to its Project, so deleting the
/// Project cascades and the controller is woken when the child changes.
pub fn owner_reference(project: &Project) -> Option<OwnerReference> {
    project.controller_owner_ref(&()).map(|mut reference| {
        reference.block_owner_deletion = Some(true);
        reference
    })
}

#[cfg(test)]
pub(crate) mod fixtures {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::EnvVar;

    /// The env of a Deployment's first container.
    pub fn env_of(deployment: &Deployment) -> Vec<EnvVar> {
        deployment
            .spec
            .template
            .spec
            .as_ref()
            .expect("pod spec")
            .containers[0]
            .env
            .clone()
            .unwrap_or_default()
    }

    /// The keys Secret entry one env variable is read from.
    pub fn secret_key_of(env: &[EnvVar], name: &str) -> Option<String> {
        env.iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value_from.as_ref())
            .and_then(|v| v.secret_key_ref.as_ref())
            .map(|s| s.key.clone())
    }

    /// The literal value of one env variable.
    pub fn value<'a>(env: &'a [EnvVar], name: &str) -> Option<&'a str> {
        env.iter()
            .find(|e| e.name == name)
            .and_then(|e| e.value.as_deref())
    }
}

/// Consistency across components: the same secrets, database and URLs.
#[cfg(test)]
mod consistency_tests {
    use crate::images::PINNED;
    use crate::keys::secret_keys;
    use crate::render::fixtures::{env_of, secret_key_of, value};
    use crate::render::{meta, rest};
    use supaplane_crds::Project;

    #[test]
    fn components_share_the_jwt_secret_database_and_password_by_reference() {
        let project = Project::test("abc");
        let (rest, rest_service) = rest::render(&project).expect("rest");
        let (meta, _) = meta::render(&project).expect("meta");
        let (rest_env, meta_env) = (env_of(&rest), env_of(&meta));

        assert_eq!(
            secret_key_of(&rest_env, "PGRST_JWT_SECRET").as_deref(),
            Some(secret_keys::JWT_SECRET)
        );
        assert_eq!(
            secret_key_of(&rest_env, "PGRST_APP_SETTINGS_JWT_SECRET").as_deref(),
            Some(secret_keys::JWT_SECRET)
        );
        assert_eq!(
            secret_key_of(&meta_env, "PG_META_DB_PASSWORD").as_deref(),
            Some(secret_keys::POSTGRES_PASSWORD)
        );
        assert_eq!(
            secret_key_of(&meta_env, "CRYPTO_KEY").as_deref(),
            Some(secret_keys::PG_META_CRYPTO_KEY)
        );
        assert_eq!(
            value(&meta_env, "PG_META_DB_HOST"),
            Some("db.project-abc.svc")
        );
        assert_eq!(
            value(&rest_env, "PGRST_DB_URI"),
            Some(
                "postgres://authenticator:$(AUTHENTICATOR_PASSWORD)@db.project-abc.svc:5432/postgres"
            )
        );
        // The password variable is defined before the URI that expands it.
        let position = |name: &str| rest_env.iter().position(|e| e.name == name);
        assert!(position("AUTHENTICATOR_PASSWORD") < position("PGRST_DB_URI"));
        // No secret value appears literally in any spec.
        assert!(
            rest_env
                .iter()
                .chain(meta_env.iter())
                .all(|e| !e.name.contains("SECRET") || e.value.is_none())
        );
        assert_eq!(
            rest_service.spec.expect("spec").ports.expect("ports")[0].port,
            rest::PORT
        );
    }

    #[test]
    fn disabled_components_render_nothing_and_paused_ones_run_no_replicas() {
        let mut project = Project::test("abc");
        project.spec.components.meta.enabled = false;
        assert!(meta::render(&project).is_none());
        project.spec.paused = true;
        let (rest, _) = rest::render(&project).expect("rest");
        assert_eq!(rest.spec.replicas, Some(0));
    }

    #[test]
    fn an_image_override_replaces_the_pinned_image() {
        let mut project = Project::test("abc");
        project.spec.components.rest.image = Some("registry.local/postgrest:custom".into());
        let (rest, _) = rest::render(&project).expect("rest");
        let image = rest.spec.template.spec.expect("pod").containers[0]
            .image
            .clone();
        assert_eq!(image.as_deref(), Some("registry.local/postgrest:custom"));
        let (meta, _) = meta::render(&project).expect("meta");
        assert_eq!(
            meta.spec.template.spec.expect("pod").containers[0]
                .image
                .as_deref(),
            Some(PINNED.meta)
        );
    }
}
