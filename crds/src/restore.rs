//! Restoring a project's database from one of its Backups, in place: the
//! project's services stop (the database stays), the database is replaced
//! from the backup in one transaction, and the services come back. One
//! `Restore` per restore, in the project's namespace beside its Backups.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Set on the Project while a Restore runs (its name): its services run no
/// replicas and its status is `RESTORING`.
pub const ANNOTATION_RESTORING: &str = "supaplane.io/restoring";
/// Set on the Project when its last Restore failed (the reason): its status
/// is `RESTORE_FAILED` until the next restore, or until removed.
pub const ANNOTATION_RESTORE_FAILED: &str = "supaplane.io/restore-failed";

/// A restore of `backup` into `project`'s database.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "supaplane.io",
    version = "v1alpha1",
    kind = "Restore",
    plural = "restores",
    shortname = "srs",
    category = "supaplane",
    namespaced,
    status = "RestoreStatus",
    printcolumn = r#"{"name":"Project","type":"string","jsonPath":".spec.project"}"#,
    printcolumn = r#"{"name":"Backup","type":"string","jsonPath":".spec.backup"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSpec {
    /// The project (its ref) restored: the one whose namespace holds this.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("project is immutable: make a new Restore"))]
    #[schemars(length(min = 1, max = 63))]
    pub project: String,
    /// The Backup (its name, in the same namespace) to restore from.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("backup is immutable: make a new Restore"))]
    #[schemars(length(min = 1, max = 253))]
    pub backup: String,
}

/// Where a restore stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestorePhase {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
}

/// What the operator observed of a restore.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStatus {
    #[serde(default)]
    pub phase: RestorePhase,
    /// Why it failed or was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
}
