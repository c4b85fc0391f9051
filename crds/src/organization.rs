//! `Organization`: a team that owns Projects. `metadata.name` is its slug.

use crate::conditions::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A role in an organization, with Supabase's permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum OrganizationRole {
    /// Full control, including deleting the organization and managing owners.
    Owner,
    /// Manages members, projects and settings; cannot remove owners.
    Administrator,
    /// Works inside projects (SQL, tables, auth, storage); cannot change the organization.
    Developer,
    /// Reads everything a Developer can, changes nothing.
    #[serde(rename = "Read-only")]
    ReadOnly,
}

/// A member of an organization: a user of the dashboard's GoTrue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationMember {
    /// The user's id (`sub`) in the dashboard GoTrue.
    #[schemars(length(min = 1, max = 128))]
    pub user_id: String,
    /// The user's email address, as verified by the dashboard GoTrue.
    #[schemars(length(min = 3, max = 320))]
    pub email: String,
    /// The member's role: Owner, Administrator, Developer or Read-only.
    pub role: OrganizationRole,
}

/// An invitation by email, waiting for that user to sign in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationInvitation {
    /// The invited email address: only a user signed in with it may accept.
    #[schemars(length(min = 3, max = 320))]
    pub email: String,
    /// The role the invited user will get.
    pub role: OrganizationRole,
    /// When the invitation was made (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_at: Option<String>,
    /// The user id of who invited them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invited_by: Option<String>,
    /// SHA-256 (hex) of the one-time token the invitee accepts with. The
    /// token itself is given once, to whoever made the invitation, to pass
    /// on; an invitation without one cannot be accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(equal = 64))]
    pub token_sha256: Option<String>,
}

fn default_plan() -> String {
    "free".to_string()
}

/// An organization: its name, plan label, members and pending invitations.
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "supaplane.io",
    version = "v1alpha1",
    kind = "Organization",
    plural = "organizations",
    shortname = "org",
    category = "supaplane",
    status = "OrganizationStatus",
    printcolumn = r#"{"name":"Display Name","type":"string","jsonPath":".spec.displayName"}"#,
    printcolumn = r#"{"name":"Plan","type":"string","jsonPath":".spec.plan"}"#,
    printcolumn = r#"{"name":"Projects","type":"integer","jsonPath":".status.projectCount"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSpec {
    /// The name shown in Studio.
    #[schemars(length(min = 1, max = 64))]
    pub display_name: String,
    /// A plan label shown in Studio (supaplane bills nothing).
    #[serde(default = "default_plan")]
    #[schemars(length(min = 1, max = 32))]
    pub plan: String,
    /// Where billing mail would go; shown in Studio's settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_email: Option<String>,
    /// The members and their roles. Every organization needs at least one Owner.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["userId"]))]
    pub members: Vec<OrganizationMember>,
    /// Invitations by email not yet accepted.
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["email"]))]
    pub invitations: Vec<OrganizationInvitation>,
}

/// What the operator observed of an organization.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationStatus {
    /// MembersValid, DeletionBlocked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// How many Projects belong to the organization.
    #[serde(default)]
    pub project_count: u32,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl Organization {
    /// The role of a user in this organization, if a member.
    pub fn role_of(&self, user_id: &str) -> Option<OrganizationRole> {
        self.spec
            .members
            .iter()
            .find(|m| m.user_id == user_id)
            .map(|m| m.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_serialize_as_supabase_names() {
        let names: Vec<String> = [
            OrganizationRole::Owner,
            OrganizationRole::Administrator,
            OrganizationRole::Developer,
            OrganizationRole::ReadOnly,
        ]
        .iter()
        .map(|r| {
            serde_json::to_value(r)
                .expect("serializes")
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
        assert_eq!(names, ["Owner", "Administrator", "Developer", "Read-only"]);
    }

    #[test]
    fn minimal_spec_gets_defaults() {
        let spec: OrganizationSpec =
            serde_json::from_value(serde_json::json!({"displayName": "Acme"})).expect("spec");
        assert_eq!(spec.plan, "free");
        assert!(spec.members.is_empty() && spec.invitations.is_empty());
    }
}
