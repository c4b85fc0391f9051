//! What each organization role may do, following Supabase's role
//! permissions: enforced here on every request, and described to Studio
//! (`GET /platform/profile/permissions`) so it shows only what is allowed.

use serde::Serialize;
use supaplane_crds::{Organization, OrganizationRole};

use crate::common::ids::numeric_id;
use crate::identity::caller::Caller;

/// What a request asks to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See the organization, its projects, settings and members.
    Read,
    /// Rename the organization or change its billing email.
    UpdateOrganization,
    /// Delete the organization.
    DeleteOrganization,
    /// Invite, remove or change the role of non-owner members.
    ManageMembers,
    /// Make, remove or demote owners.
    ManageOwners,
    /// Create projects in the organization.
    CreateProject,
    /// Rename, pause, restore or delete a project.
    ManageProject,
    /// See the service_role key and the JWT secret.
    ReadSecrets,
    /// Run SQL that writes.
    WriteSql,
    /// Change what a project holds: its auth users and storage buckets.
    ChangeProjectData,
    /// Save one's own SQL snippets, reports and log queries.
    SaveContent,
}

/// Whether `role` may do `action`.
pub fn allows(role: OrganizationRole, action: Action) -> bool {
    use Action::*;
    use OrganizationRole::*;
    match role {
        Owner => true,
        Administrator => !matches!(action, DeleteOrganization | ManageOwners),
        Developer => matches!(
            action,
            Read | ReadSecrets | WriteSql | ChangeProjectData | SaveContent
        ),
        ReadOnly => matches!(action, Read),
    }
}

/// The caller's role in an organization, if a member.
pub fn role_in(organization: &Organization, caller: &Caller) -> Option<OrganizationRole> {
    organization
        .spec
        .members
        .iter()
        .find(|member| member.user_id == caller.user_id)
        .map(|member| member.role)
}

/// One entry of Studio's permission list (`AccessControlPermission`).
/// Studio grants an action on a resource when a non-restrictive entry
/// matches and no restrictive one does; `%` is a wildcard.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct StudioPermission {
    pub organization_id: u64,
    pub organization_slug: String,
    pub actions: Vec<&'static str>,
    pub resources: Vec<&'static str>,
    pub condition: Option<serde_json::Value>,
    pub restrictive: bool,
    pub project_ids: Option<Vec<u64>>,
    pub project_refs: Option<Vec<String>>,
}

/// Studio's action names (from Supabase's shared types).
mod studio_action {
    pub const ALL: &str = "%";
    pub const READ: &str = "read:Read";
    pub const WRITE_ALL: &str = "write:%";
    pub const CREATE: &str = "write:Create";
    pub const UPDATE: &str = "write:Update";
    pub const DELETE: &str = "write:Delete";
    pub const SECRETS_READ: &str = "secrets:Read";
    pub const TENANT_SQL_ALL: &str = "tenant:Sql:%";
    pub const TENANT_SQL_ADMIN_READ: &str = "tenant:Sql:Admin:Read";
    pub const TENANT_SQL_SELECT: &str = "tenant:Sql:Read:Select";
    pub const SQL_SELECT: &str = "sql:Read:Select";
    pub const SQL_ALL: &str = "sql:%";
    pub const ANALYTICS_READ: &str = "analytics:Read";
    pub const BILLING_READ: &str = "billing:Read";
    pub const STORAGE_ALL: &str = "storage:%";
    pub const STORAGE_ADMIN_READ: &str = "storage:Admin:Read";
    pub const STORAGE_READ: &str = "storage:Read";
    pub const FUNCTIONS_ALL: &str = "functions:%";
    pub const FUNCTIONS_READ: &str = "functions:Read";
    pub const AUTH_EXECUTE: &str = "auth:Execute";
    pub const REALTIME_ALL: &str = "realtime:%";
}

/// Resources of the organization itself that only managers change.
const ORGANIZATION_RESOURCES: &[&str] = &[
    "organizations",
    "projects",
    "user_invites",
    "auth.subject_roles",
    "organization_members",
    "stripe.%",
    "subscriptions",
];

fn entry(
    organization: &Organization,
    actions: Vec<&'static str>,
    resources: Vec<&'static str>,
    restrictive: bool,
) -> StudioPermission {
    StudioPermission {
        organization_id: numeric_id(organization.metadata.uid.as_deref().unwrap_or_default()),
        organization_slug: organization.metadata.name.clone().unwrap_or_default(),
        actions,
        resources,
        condition: None,
        restrictive,
        project_ids: None,
        project_refs: None,
    }
}

/// Studio's permission entries for a role in one organization, matching
/// what [`allows`] enforces.
pub fn studio_permissions(
    organization: &Organization,
    role: OrganizationRole,
) -> Vec<StudioPermission> {
    use studio_action::*;
    match role {
        OrganizationRole::Owner => vec![entry(organization, vec![ALL], vec![ALL], false)],
        OrganizationRole::Administrator => vec![
            entry(organization, vec![ALL], vec![ALL], false),
            entry(organization, vec![DELETE], vec!["organizations"], true),
        ],
        OrganizationRole::Developer => vec![
            entry(
                organization,
                vec![
                    READ,
                    SECRETS_READ,
                    TENANT_SQL_ALL,
                    SQL_ALL,
                    ANALYTICS_READ,
                    BILLING_READ,
                    STORAGE_ALL,
                    FUNCTIONS_ALL,
                    AUTH_EXECUTE,
                    REALTIME_ALL,
                    WRITE_ALL,
                ],
                vec![ALL],
                false,
            ),
            entry(
                organization,
                vec![CREATE, UPDATE, DELETE],
                ORGANIZATION_RESOURCES.to_vec(),
                true,
            ),
        ],
        OrganizationRole::ReadOnly => vec![entry(
            organization,
            vec![
                READ,
                TENANT_SQL_ADMIN_READ,
                TENANT_SQL_SELECT,
                SQL_SELECT,
                ANALYTICS_READ,
                BILLING_READ,
                STORAGE_ADMIN_READ,
                STORAGE_READ,
                FUNCTIONS_READ,
            ],
            vec![ALL],
            false,
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrganizationRole::*;

    #[test]
    fn roles_follow_supabase_permissions() {
        assert!(allows(Owner, Action::DeleteOrganization));
        assert!(!allows(Administrator, Action::DeleteOrganization));
        assert!(allows(Administrator, Action::ManageProject));
        assert!(!allows(Developer, Action::ManageProject));
        assert!(allows(Developer, Action::WriteSql));
        assert!(allows(ReadOnly, Action::Read));
        assert!(!allows(ReadOnly, Action::WriteSql));
        assert!(!allows(ReadOnly, Action::ReadSecrets));
        assert!(!allows(ReadOnly, Action::ManageProject));
        assert!(allows(Developer, Action::SaveContent));
        assert!(!allows(ReadOnly, Action::SaveContent));
    }
}
