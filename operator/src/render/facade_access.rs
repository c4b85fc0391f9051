//! The facade's access to one project's logs: a RoleBinding in the project's
//! namespace that gives the facade's ServiceAccount the chart's
//! `…-facade-logs` ClusterRole (list pods, read their logs) there, and so in
//! project namespaces only, never cluster-wide. And to the one Secret the
//! project names for its backup bucket (to sign download links): a Role
//! granting `get` on that name alone, empty while there is none.

use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use kube::api::ObjectMeta;
use supaplane_crds::Project;

use super::child_metadata;

pub const NAME: &str = "supaplane-facade-logs";
/// The Role (and its binding) letting the facade read the backup bucket's
/// credentials.
pub const BACKUPS_NAME: &str = "supaplane-facade-backups";

/// Who the facade runs as, and the ClusterRole it is bound to.
#[derive(Debug, Clone, PartialEq)]
pub struct FacadeAccess {
    pub service_account_namespace: String,
    pub service_account: String,
    pub cluster_role: String,
}

impl FacadeAccess {
    /// From `namespace/name` and the ClusterRole's name; None when either
    /// is unset (an operator run without the chart grants nothing).
    pub fn from_settings(
        service_account: Option<&str>,
        cluster_role: Option<&str>,
    ) -> Option<Self> {
        let (namespace, name) = service_account?.split_once('/')?;
        let cluster_role = cluster_role?.trim();
        (!namespace.is_empty() && !name.is_empty() && !cluster_role.is_empty()).then(|| {
            FacadeAccess {
                service_account_namespace: namespace.to_string(),
                service_account: name.to_string(),
                cluster_role: cluster_role.to_string(),
            }
        })
    }
}

/// The facade's Role in the project's namespace: `get` on the backup
/// bucket's credentials Secret, by name; no rule without a bucket.
pub fn backups_role(project: &Project) -> Role {
    let rules = project.spec.backups.s3.as_ref().map(|bucket| {
        vec![PolicyRule {
            api_groups: Some(vec![String::new()]),
            resources: Some(vec!["secrets".to_string()]),
            resource_names: Some(vec![bucket.bucket.credentials_secret_name.clone()]),
            verbs: vec!["get".to_string()],
            ..Default::default()
        }]
    });
    Role {
        metadata: metadata(project, BACKUPS_NAME),
        rules: Some(rules.unwrap_or_default()),
    }
}

fn metadata(project: &Project, name: &str) -> ObjectMeta {
    child_metadata(project, name, "facade-access")
}

fn subjects(access: &FacadeAccess) -> Option<Vec<Subject>> {
    Some(vec![Subject {
        kind: "ServiceAccount".to_string(),
        name: access.service_account.clone(),
        namespace: Some(access.service_account_namespace.clone()),
        ..Default::default()
    }])
}

/// Binds [`backups_role`] to the facade.
pub fn backups_role_binding(project: &Project, access: &FacadeAccess) -> RoleBinding {
    RoleBinding {
        metadata: metadata(project, BACKUPS_NAME),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_string()),
            kind: "Role".to_string(),
            name: BACKUPS_NAME.to_string(),
        },
        subjects: subjects(access),
    }
}

pub fn role_binding(project: &Project, access: &FacadeAccess) -> RoleBinding {
    RoleBinding {
        metadata: metadata(project, NAME),
        role_ref: RoleRef {
            api_group: Some("rbac.authorization.k8s.io".to_string()),
            kind: "ClusterRole".to_string(),
            name: access.cluster_role.clone(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".to_string(),
            name: access.service_account.clone(),
            namespace: Some(access.service_account_namespace.clone()),
            ..Default::default()
        }]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;

    #[test]
    fn the_binding_names_the_facade_and_the_logs_role_in_the_project_namespace() {
        assert_eq!(
            FacadeAccess::from_settings(Some("no-slash"), Some("r")),
            None
        );
        assert_eq!(FacadeAccess::from_settings(Some("ns/sa"), None), None);
        let access = FacadeAccess::from_settings(
            Some("supaplane/supaplane-facade"),
            Some("supaplane-facade-logs"),
        )
        .expect("access");
        let binding = role_binding(&Project::test("abc"), &access);
        assert_eq!(binding.metadata.namespace.as_deref(), Some("project-abc"));
        assert_eq!(binding.role_ref.name, "supaplane-facade-logs");
        let subject = &binding.subjects.expect("subjects")[0];
        assert_eq!(
            (subject.namespace.as_deref(), subject.name.as_str()),
            (Some("supaplane"), "supaplane-facade")
        );
    }
}
