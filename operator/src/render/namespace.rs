//! The namespace that holds a project's stack.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::ObjectMeta;
use supaplane_crds::Project;
use supaplane_crds::constants::project_namespace;

use super::{child_metadata, project_ref};

pub fn namespace(project: &Project) -> Namespace {
    Namespace {
        // A namespace is itself cluster-wide.
        metadata: ObjectMeta {
            namespace: None,
            ..child_metadata(
                project,
                &project_namespace(project_ref(project)),
                "namespace",
            )
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;
    use supaplane_crds::constants::LABEL_ORGANIZATION;

    #[test]
    fn the_namespace_is_named_after_the_ref_and_owned_by_the_project() {
        let ns = namespace(&Project::test("abc"));
        assert_eq!(ns.metadata.name.as_deref(), Some("project-abc"));
        let owner = &ns.metadata.owner_references.expect("owner")[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller),
            ("Project", "abc", Some(true))
        );
        assert_eq!(
            ns.metadata.labels.expect("labels")[LABEL_ORGANIZATION],
            "acme"
        );
    }
}
