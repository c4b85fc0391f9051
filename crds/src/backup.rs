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
    /// Keep backups in an S3-compatible bucket instead of the volume
    /// (`storageSize` then bounds the scratch space a backup Job uses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<Box<BackupBucket>>,
}

/// An S3-compatible bucket backups go to: `<prefix>/<backup>/` holds
/// `roles.sql`, `database.dump` and, written last, `complete`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupBucket {
    #[serde(flatten)]
    pub bucket: crate::project::S3Spec,
    /// The key prefix (a "folder") backups are kept under; the bucket's
    /// root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 512),
        regex(pattern = r"^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$")
    )]
    pub prefix: Option<String>,
}

impl BackupBucket {
    /// The bucket's base URL: the endpoint (AWS's regional one when unset),
    /// by path or by host name as `forcePathStyle` says.
    pub fn bucket_url(&self) -> String {
        let bucket = &self.bucket;
        let endpoint = bucket
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", bucket.region));
        let endpoint = endpoint.trim_end_matches('/');
        if bucket.force_path_style {
            return format!("{endpoint}/{}", bucket.bucket);
        }
        match endpoint.split_once("://") {
            Some((scheme, host)) => format!("{scheme}://{}.{host}", bucket.bucket),
            None => format!("https://{}.{endpoint}", bucket.bucket),
        }
    }

    /// The key prefix with a trailing `/` (empty at the bucket's root).
    pub fn key_prefix(&self) -> String {
        self.prefix
            .as_deref()
            .map(|p| format!("{}/", p.trim_matches('/')))
            .unwrap_or_default()
    }

    /// Where a backup's objects are, as a Backup's status says it:
    /// `s3://<bucket>/<prefix>/<backup>`.
    pub fn location(&self, backup: &str) -> String {
        format!("s3://{}/{}{backup}", self.bucket.bucket, self.key_prefix())
    }
}

impl Default for BackupsSpec {
    fn default() -> Self {
        BackupsSpec {
            schedule: None,
            keep: default_keep(),
            max_age_days: None,
            storage_size: default_backup_storage_size(),
            storage_class: None,
            s3: None,
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
    /// Where the files are: `pvc://<claim>/<directory>` or
    /// `s3://<bucket>/<prefix>/<backup>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl Backup {
    /// Whether this backup's files are in `bucket`, as its status says.
    pub fn is_in(&self, bucket: &BackupBucket) -> bool {
        let name = self.metadata.name.as_deref().unwrap_or_default();
        self.status
            .as_ref()
            .and_then(|s| s.location.as_deref())
            .is_some_and(|location| location == bucket.location(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(endpoint: Option<&str>, path_style: bool, prefix: Option<&str>) -> BackupBucket {
        BackupBucket {
            bucket: crate::project::S3Spec {
                bucket: "nightly".into(),
                region: "eu-west-1".into(),
                endpoint: endpoint.map(str::to_string),
                force_path_style: path_style,
                credentials_secret_name: "s3".into(),
            },
            prefix: prefix.map(str::to_string),
        }
    }

    #[test]
    fn a_bucket_is_addressed_by_host_or_by_path() {
        assert_eq!(
            bucket(None, false, None).bucket_url(),
            "https://nightly.s3.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            bucket(None, true, None).bucket_url(),
            "https://s3.eu-west-1.amazonaws.com/nightly"
        );
        assert_eq!(
            bucket(Some("http://minio.storage:9000/"), true, None).bucket_url(),
            "http://minio.storage:9000/nightly"
        );
        assert_eq!(
            bucket(Some("https://r2.example.com"), false, None).bucket_url(),
            "https://nightly.r2.example.com"
        );
        let prefixed = bucket(None, false, Some("db/backups"));
        assert_eq!(prefixed.key_prefix(), "db/backups/");
        assert_eq!(prefixed.location("b1"), "s3://nightly/db/backups/b1");
        assert_eq!(bucket(None, false, None).location("b1"), "s3://nightly/b1");
    }
}
