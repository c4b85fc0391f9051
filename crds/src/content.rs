//! What users save in Studio for a project: SQL snippets, reports and saved
//! log queries (`UserContent`), and the folders they sort their own snippets
//! into (`ContentFolder`). Both live in the project's namespace, so they go
//! with the project's data: deleted with the namespace, kept by `Retain`,
//! and there for `kubectl get usercontents -n project-<ref>` and backups.
//! A kind of our own, not ConfigMaps: the facade's RBAC then reaches these
//! and nothing else users keep in namespaces.

use kube::{CustomResource, KubeSchema};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// What a piece of content is, in Studio's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    /// A SQL editor snippet.
    Sql,
    /// A custom report.
    Report,
    /// A saved Logs Explorer query.
    LogSql,
}

/// Who may see a piece of content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContentVisibility {
    /// Only its owner.
    User,
    /// Every member of the project's organization.
    Project,
}

/// Studio's content object (for SQL: the query, its id and its chart), kept
/// as sent: Studio owns its shape.
fn any_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}

/// A snippet, report or saved log query; its name is Studio's content id.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "supaplane.io",
    version = "v1alpha1",
    kind = "UserContent",
    plural = "usercontents",
    shortname = "snippet",
    category = "supaplane",
    namespaced,
    printcolumn = r#"{"name":"Type","type":"string","jsonPath":".spec.type"}"#,
    printcolumn = r#"{"name":"Title","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Visibility","type":"string","jsonPath":".spec.visibility"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("!has(self.folder) || self.visibility == 'user'").message("a shared (visibility: project) item cannot be in a folder: remove spec.folder or set visibility to user"))]
#[serde(rename_all = "camelCase")]
pub struct UserContentSpec {
    #[serde(rename = "type")]
    pub content_type: ContentType,
    /// The title shown in Studio.
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = 1024))]
    pub description: String,
    pub visibility: ContentVisibility,
    /// The dashboard user (GoTrue id) who made it; only they change it.
    #[schemars(length(min = 1, max = 128))]
    pub owner: String,
    /// The owner's `ContentFolder` (its name) holding it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub folder: Option<String>,
    /// The users (GoTrue ids) who marked it a favourite.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub favorite_of: Vec<String>,
    /// Who last changed it (GoTrue id).
    #[schemars(length(min = 1, max = 128))]
    pub updated_by: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
    #[schemars(schema_with = "any_object")]
    pub content: serde_json::Map<String, serde_json::Value>,
}

/// A folder of its owner's private snippets (one level, as in Studio).
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "supaplane.io",
    version = "v1alpha1",
    kind = "ContentFolder",
    plural = "contentfolders",
    category = "supaplane",
    namespaced,
    printcolumn = r#"{"name":"Title","type":"string","jsonPath":".spec.name"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ContentFolderSpec {
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    /// The dashboard user (GoTrue id) whose folder it is.
    #[schemars(length(min = 1, max = 128))]
    pub owner: String,
}
