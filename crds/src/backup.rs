//! Database backups: a project's policy (`spec.backups` on the Project) and
//! one `Backup` per backup taken, in the project's namespace. Namespaced,
//! beside the volume holding the files: a Backup and its data live and go
//! together (kept by `Retain`, removed with the namespace by `Delete`), and
//! access to a project's backups can be granted per namespace.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn default_keep() -> u32 {
    7
}

fn default_backup_storage_size() -> String {
    "10Gi".to_string()
}

/// When a project is backed up and how much is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupsSpec {
    /// When to take a backup: a cron expression in UTC (`minute hour
    /// day-of-month month day-of-week`, e.g. `0 3 * * *`); none when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 9, max = 100), regex(pattern = r"^[0-9*,/\- ]+$"))]
    pub schedule: Option<String>,
    /// How many completed backups to keep; older ones and their files go.
    #[serde(default = "default_keep")]
    #[schemars(range(min = 1, max = 1000))]
    pub keep: u32,
    /// Also remove completed backups older than this many days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 3650))]
    pub max_age_days: Option<u32>,
    /// Size of the volume backups are kept on, in the project's namespace.
    #[serde(default = "default_backup_storage_size")]
    #[schemars(regex(pattern = r"^[0-9]+(Mi|Gi|Ti)$"))]
    pub storage_size: String,
    /// StorageClass of that volume; the cluster default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

impl Default for BackupsSpec {
    fn default() -> Self {
        BackupsSpec {
            schedule: None,
            keep: default_keep(),
            max_age_days: None,
            storage_size: default_backup_storage_size(),
            storage_class: None,
        }
    }
}

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BackupTrigger {
    /// By someone: kubectl, Studio or the Management API.
    #[default]
    OnDemand,
    /// By the operator, on the project's schedule.
    Scheduled,
}

/// One backup of a project's database: its roles (`pg_dumpall
/// --roles-only`, the image's own roles left out) and the database
/// (`pg_dump`, custom format), taken by a Job with the project's own
/// Postgres image onto the project's backup volume.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "supaplane.io",
    version = "v1alpha1",
    kind = "Backup",
    plural = "backups",
    shortname = "sbk",
    category = "supaplane",
    namespaced,
    status = "BackupStatus",
    printcolumn = r#"{"name":"Project","type":"string","jsonPath":".spec.project"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Size","type":"integer","jsonPath":".status.sizeBytes"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct BackupSpec {
    /// The project (its ref) backed up: the one whose namespace holds this.
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("project is immutable: make a new Backup for another project"))]
    #[schemars(length(min = 1, max = 63))]
    pub project: String,
    #[serde(default)]
    #[x_kube(validation = kube::core::Rule::new("self == oldSelf").message("trigger is immutable"))]
    pub trigger: BackupTrigger,
}

/// Where a backup stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum BackupPhase {
    #[default]
    Pending,
    Running,
    Completed,
    Failed,
}

/// What the operator observed of a backup.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupStatus {
    #[serde(default)]
    pub phase: BackupPhase,
    /// Why it failed, or what it waits for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// Bytes on the backup volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<i64>,
    /// Where the files are: `pvc://<claim>/<directory>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}
