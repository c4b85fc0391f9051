//! Pure renderers: a Project (and its keys) in, typed Kubernetes objects out.
//! No I/O, no clock, no randomness, so every renderer is unit-tested.

pub mod keys_secret;
pub mod namespace;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use supaplane_crds::Project;
use supaplane_crds::constants::{
    LABEL_COMPONENT, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_ORGANIZATION, LABEL_PART_OF,
    LABEL_PROJECT, MANAGED_BY_VALUE,
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
    use supaplane_crds::Project;

    /// A Project as the API server would return it: named, with a uid.
    pub fn project(project_ref: &str, organization: &str) -> Project {
        let mut project: Project = serde_json::from_value(serde_json::json!({
            "apiVersion": "supaplane.io/v1alpha1",
            "kind": "Project",
            "metadata": {"name": project_ref, "uid": "8d4bf0f4-2a29-4c36-9d55-1a1b3c5e7f90", "generation": 1},
            "spec": {"organization": organization, "displayName": "Shop"},
        }))
        .expect("a valid Project");
        project.metadata.generation = Some(1);
        project
    }
}
