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

/// Set on a Project made from a backup (`spec.restoreFrom`) once the
/// operator has asked for that restore (the Restore's name): it is asked
/// for once, never again.
pub const ANNOTATION_INITIAL_RESTORE: &str = "supaplane.io/initial-restore";

/// The name of the Restore the operator makes for `spec.restoreFrom`.
pub const INITIAL_RESTORE_NAME: &str = "initial-restore";

/// A restore of `backup` into `project`'s database: in place, or from
/// another project of the same organization (`sourceProject`), as when a
/// project is made from a backup.
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
#[x_kube(validation = kube::core::Rule::new("has(self.sourceProject) == has(oldSelf.sourceProject) && (!has(self.sourceProject) || self.sourceProject == oldSelf.sourceProject)").message("sourceProject is immutable: make a new Restore"))]
pub struct RestoreSpec {
    /// The project (its ref) restored: the one whose namespace holds this.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("project is immutable: make a new Restore"))]
    #[schemars(length(min = 1, max = 63))]
    pub project: String,
    /// The Backup (its name, in the same namespace) to restore from.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("backup is immutable: make a new Restore"))]
    #[schemars(length(min = 1, max = 253))]
    pub backup: String,
    /// The project (its ref) whose Backup this is, when not `project`
    /// itself: one of the same organization, whose namespace holds it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub source_project: Option<String>,
}

impl RestoreSpec {
    /// The project whose namespace holds the Backup.
    pub fn source(&self) -> &str {
        self.source_project.as_deref().unwrap_or(&self.project)
    }

    /// Whether the Backup is another project's.
    pub fn is_from_another_project(&self) -> bool {
        self.source() != self.project
    }
}

/// A new project's data, from a backup of another project of the same
/// organization: restored once, when the project is first made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RestoreFrom {
    /// The project (its ref) the backup was taken of.
    #[schemars(length(min = 1, max = 63))]
    pub project: String,
    /// The Backup's name, in that project's namespace.
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
