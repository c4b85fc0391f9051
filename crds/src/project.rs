//! `Project`: one Supabase stack. `metadata.name` is the project ref.

use crate::conditions::Condition;
use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Supabase project status, as the Management API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SupabaseStatus {
    Inactive,
    ActiveHealthy,
    ActiveUnhealthy,
    ComingUp,
    Unknown,
    GoingDown,
    InitFailed,
    Removed,
    Restoring,
    Upgrading,
    Pausing,
    RestoreFailed,
    Restarting,
    PauseFailed,
    Resizing,
}

impl SupabaseStatus {
    pub const ALL: [SupabaseStatus; 15] = [
        SupabaseStatus::Inactive,
        SupabaseStatus::ActiveHealthy,
        SupabaseStatus::ActiveUnhealthy,
        SupabaseStatus::ComingUp,
        SupabaseStatus::Unknown,
        SupabaseStatus::GoingDown,
        SupabaseStatus::InitFailed,
        SupabaseStatus::Removed,
        SupabaseStatus::Restoring,
        SupabaseStatus::Upgrading,
        SupabaseStatus::Pausing,
        SupabaseStatus::RestoreFailed,
        SupabaseStatus::Restarting,
        SupabaseStatus::PauseFailed,
        SupabaseStatus::Resizing,
    ];

    /// Its name as serialized, without serializing (read on hot paths).
    pub fn as_str(self) -> &'static str {
        match self {
            SupabaseStatus::Inactive => "INACTIVE",
            SupabaseStatus::ActiveHealthy => "ACTIVE_HEALTHY",
            SupabaseStatus::ActiveUnhealthy => "ACTIVE_UNHEALTHY",
            SupabaseStatus::ComingUp => "COMING_UP",
            SupabaseStatus::Unknown => "UNKNOWN",
            SupabaseStatus::GoingDown => "GOING_DOWN",
            SupabaseStatus::InitFailed => "INIT_FAILED",
            SupabaseStatus::Removed => "REMOVED",
            SupabaseStatus::Restoring => "RESTORING",
            SupabaseStatus::Upgrading => "UPGRADING",
            SupabaseStatus::Pausing => "PAUSING",
            SupabaseStatus::RestoreFailed => "RESTORE_FAILED",
            SupabaseStatus::Restarting => "RESTARTING",
            SupabaseStatus::PauseFailed => "PAUSE_FAILED",
            SupabaseStatus::Resizing => "RESIZING",
        }
    }
}

/// Compute sizes, named as Supabase names them; each maps to a resource quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum InstanceSize {
    #[default]
    #[serde(rename = "nano")]
    Nano,
    #[serde(rename = "micro")]
    Micro,
    #[serde(rename = "small")]
    Small,
    #[serde(rename = "medium")]
    Medium,
    #[serde(rename = "large")]
    Large,
    #[serde(rename = "xlarge")]
    Xlarge,
    #[serde(rename = "2xlarge")]
    X2large,
    #[serde(rename = "4xlarge")]
    X4large,
    #[serde(rename = "8xlarge")]
    X8large,
    #[serde(rename = "12xlarge")]
    X12large,
    #[serde(rename = "16xlarge")]
    X16large,
}

impl InstanceSize {
    pub const ALL: [InstanceSize; 11] = [
        InstanceSize::Nano,
        InstanceSize::Micro,
        InstanceSize::Small,
        InstanceSize::Medium,
        InstanceSize::Large,
        InstanceSize::Xlarge,
        InstanceSize::X2large,
        InstanceSize::X4large,
        InstanceSize::X8large,
        InstanceSize::X12large,
        InstanceSize::X16large,
    ];

    /// Its name as serialized, without serializing (read on hot paths).
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceSize::Nano => "nano",
            InstanceSize::Micro => "micro",
            InstanceSize::Small => "small",
            InstanceSize::Medium => "medium",
            InstanceSize::Large => "large",
            InstanceSize::Xlarge => "xlarge",
            InstanceSize::X2large => "2xlarge",
            InstanceSize::X4large => "4xlarge",
            InstanceSize::X8large => "8xlarge",
            InstanceSize::X12large => "12xlarge",
            InstanceSize::X16large => "16xlarge",
        }
    }
}

/// The Postgres major versions a project can run. New projects get 17; 15
/// stays for projects created with it. A project keeps its major version:
/// moving data between majors needs pg_upgrade, which supaplane does not run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum PostgresVersion {
    #[serde(rename = "15")]
    V15,
    #[default]
    #[serde(rename = "17")]
    V17,
}

impl PostgresVersion {
    /// Every version offered, newest first (the order Studio lists them).
    pub const ALL: [PostgresVersion; 2] = [PostgresVersion::V17, PostgresVersion::V15];

    /// The major version as Studio and the Management API name it.
    pub fn major(self) -> &'static str {
        match self {
            PostgresVersion::V15 => "15",
            PostgresVersion::V17 => "17",
        }
    }

    /// The version named `major`, if one is offered.
    pub fn from_major(major: &str) -> Option<PostgresVersion> {
        PostgresVersion::ALL
            .into_iter()
            .find(|version| version.major() == major)
    }
}

/// What happens to a project's data when the Project is deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the project namespace and everything in it, volumes included.
    Delete,
    /// Remove the workloads but keep the namespace with its volumes and keys
    /// Secret, so a new Project with the same ref adopts the data. The
    /// default, because a deleted Project should never silently lose data.
    #[default]
    Retain,
}

/// A reference to the Secret, in the project namespace, that holds the
/// initial database password. Secrets never go into a spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PasswordSecretRef {
    /// Name of the Secret in namespace `project-<ref>`.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// Key of the password in the Secret.
    #[serde(default = "default_password_key")]
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

fn default_password_key() -> String {
    crate::constants::DATABASE_PASSWORD_KEY.to_string()
}

fn default_storage_size() -> String {
    "1Gi".to_string()
}

/// Postgres keeps up to 1 GB of WAL (`max_wal_size`) and its replication
/// slots may hold up to 4 GB more (the image's `max_slot_wal_keep_size`):
/// a 1 Gi volume fills with WAL alone. Supabase's own default disk is 8 GB.
fn default_database_storage_size() -> String {
    "8Gi".to_string()
}

/// The project's Postgres.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatabaseSpec {
    /// Size of the data volume, a Kubernetes quantity such as `8Gi` (the
    /// default: room for the data and Postgres' write-ahead log).
    #[serde(default = "default_database_storage_size")]
    #[schemars(regex(pattern = r"^([+]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"))]
    pub storage_size: String,
    /// StorageClass of the data volume; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// The Secret with the initial database password; generated when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<PasswordSecretRef>,
    /// Overrides the pinned `supabase/postgres` image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// CPU and memory for Postgres; derived from the instance size when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Box<ResourceRequirements>>,
}

impl Default for DatabaseSpec {
    fn default() -> Self {
        DatabaseSpec {
            storage_size: default_database_storage_size(),
            storage_class_name: None,
            password_secret_ref: None,
            image: None,
            resources: None,
        }
    }
}

fn enabled() -> bool {
    true
}

/// Settings of one Supabase service of the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentSpec {
    /// Whether the component runs. Disabling it removes its workload.
    #[serde(default = "enabled")]
    pub enabled: bool,
    /// Overrides the pinned image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub image: Option<String>,
    /// Number of replicas (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 20))]
    pub replicas: Option<i32>,
    /// CPU and memory; derived from the instance size when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Box<ResourceRequirements>>,
}

impl Default for ComponentSpec {
    fn default() -> Self {
        ComponentSpec {
            enabled: true,
            image: None,
            replicas: None,
            resources: None,
        }
    }
}

/// Per-component settings of the project's services.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ComponentsSpec {
    /// GoTrue, the auth server (`/auth/v1`).
    #[serde(default)]
    pub auth: ComponentSpec,
    /// PostgREST (`/rest/v1`, `/graphql/v1`).
    #[serde(default)]
    pub rest: ComponentSpec,
    /// Realtime (`/realtime/v1`).
    #[serde(default)]
    pub realtime: ComponentSpec,
    /// The Storage API (`/storage/v1`).
    #[serde(default)]
    pub storage: ComponentSpec,
    /// imgproxy, Storage's image transformer.
    #[serde(default)]
    pub imgproxy: ComponentSpec,
    /// pg-meta, the database API Studio uses (`/pg/`).
    #[serde(default)]
    pub meta: ComponentSpec,
    /// The API gateway in front of every service.
    #[serde(default)]
    pub gateway: ComponentSpec,
}

/// The project's auth (GoTrue) settings that Studio edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSpec {
    /// The site URL GoTrue redirects to by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub site_url: Option<String>,
    /// Further URLs GoTrue may redirect to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub additional_redirect_urls: Vec<String>,
    /// Refuse new sign-ups.
    #[serde(default)]
    pub disable_signup: bool,
    /// Lifetime of issued access tokens, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 30, max = 604800))]
    pub jwt_expiry_seconds: Option<i32>,
    /// Allow sign-up and sign-in with email.
    #[serde(default = "enabled")]
    pub email_enabled: bool,
    /// Confirm new users' email addresses without sending mail. Without
    /// `smtp` they are confirmed anyway: no mail could be sent.
    #[serde(default)]
    pub mailer_autoconfirm: bool,
    /// Allow anonymous sign-ins.
    #[serde(default)]
    pub anonymous_users_enabled: bool,
    /// The SMTP server GoTrue sends mail through (GoTrue's default when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<Box<SmtpSpec>>,
    /// Third-party sign-in (GitHub, Google, …), one entry per provider.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]), length(max = 25))]
    pub providers: Vec<crate::oauth::OAuthProviderSpec>,
}

/// Lifetime of access tokens when `jwtExpirySeconds` is unset (GoTrue's default).
pub const DEFAULT_JWT_EXPIRY_SECONDS: i32 = 3600;

impl AuthSpec {
    /// Whether new users' email addresses count as confirmed at sign-up:
    /// when asked, and always without an SMTP server, since no
    /// confirmation mail could reach them (sign-up would be a dead end).
    pub fn confirms_email_automatically(&self) -> bool {
        self.mailer_autoconfirm || self.smtp.is_none()
    }

    /// The access-token lifetime GoTrue issues, PostgREST and Postgres expect.
    pub fn jwt_expiry(&self) -> i32 {
        self.jwt_expiry_seconds
            .unwrap_or(DEFAULT_JWT_EXPIRY_SECONDS)
    }
}

impl Default for AuthSpec {
    fn default() -> Self {
        AuthSpec {
            site_url: None,
            additional_redirect_urls: Vec::new(),
            disable_signup: false,
            jwt_expiry_seconds: None,
            email_enabled: true,
            mailer_autoconfirm: false,
            anonymous_users_enabled: false,
            smtp: None,
            providers: Vec::new(),
        }
    }
}

/// An SMTP server. The password lives in a Secret, never in the spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SmtpSpec {
    /// Host name of the SMTP server.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// Port of the SMTP server.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// User name to log in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 320))]
    pub user: Option<String>,
    /// The From address of mail GoTrue sends.
    #[schemars(length(min = 3, max = 320))]
    pub admin_email: String,
    /// The From name of mail GoTrue sends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub sender_name: Option<String>,
    /// The Secret, in the project namespace, holding the SMTP password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<PasswordSecretRef>,
}

fn default_region() -> String {
    "local".to_string()
}

/// A Supabase project: its organization, size, state and services.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "supaplane.io",
    version = "v1alpha1",
    kind = "Project",
    plural = "projects",
    shortname = "proj",
    category = "supaplane",
    status = "ProjectStatus",
    printcolumn = r#"{"name":"Organization","type":"string","jsonPath":".spec.organization"}"#,
    printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.status"}"#,
    printcolumn = r#"{"name":"Paused","type":"boolean","jsonPath":".spec.paused","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.restoreFrom) == has(oldSelf.restoreFrom) && (!has(self.restoreFrom) || self.restoreFrom == oldSelf.restoreFrom)").message("restoreFrom is set when a project is created and cannot change: make a new project to restore another backup into, or restore in place with a Restore"))]
// Options that few projects set and that are large (resources, SMTP, S3,
// restoreFrom) are boxed: both binaries cache every Project, and unboxed
// they made each one ~1 KB larger whether set or not.
pub struct ProjectSpec {
    /// Slug of the Organization that owns the project. Cannot change.
    #[schemars(
        length(min = 1, max = 63),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    )]
    #[x_kube(validation = Rule::new("self == oldSelf").message("organization is immutable: create the project in the other organization instead"))]
    pub organization: String,
    /// The name shown in Studio.
    #[schemars(length(min = 1, max = 64))]
    pub display_name: String,
    /// A region label shown in Studio.
    #[serde(default = "default_region")]
    #[schemars(length(min = 1, max = 64))]
    pub region: String,
    /// Compute size; sets the namespace's resource quota and default limits.
    #[serde(default)]
    pub instance_size: InstanceSize,
    /// Major version of Postgres: 17 (the default) or 15. Cannot change.
    #[serde(default)]
    #[x_kube(validation = Rule::new("self == oldSelf").message("postgresVersion is immutable: moving data to another major version needs pg_upgrade, which supaplane does not run; create a new project with the version you want and restore a backup into it"))]
    pub postgres_version: PostgresVersion,
    /// Scale every workload to zero, keeping the data.
    #[serde(default)]
    pub paused: bool,
    /// What happens to the data when the Project is deleted.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Database backups: schedule, how many to keep, their volume.
    #[serde(default)]
    pub backups: crate::backup::BackupsSpec,
    /// Make this project from a backup of another project of the same
    /// organization: its database is restored once, when it is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_from: Option<Box<crate::restore::RestoreFrom>>,
    /// Postgres settings.
    #[serde(default)]
    pub database: DatabaseSpec,
    /// Settings of each service.
    #[serde(default)]
    pub components: ComponentsSpec,
    /// Auth (GoTrue) settings.
    #[serde(default)]
    pub auth: AuthSpec,
    /// Where the Storage API keeps objects.
    #[serde(default)]
    pub storage: StorageSpec,
}

/// Where the Storage API keeps objects: a volume of the project (the
/// default), or an S3-compatible bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Size of the file volume, a Kubernetes quantity such as `10Gi`.
    #[serde(default = "default_storage_size")]
    #[schemars(regex(pattern = r"^([+]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"))]
    pub size: String,
    /// StorageClass of the file volume; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// Largest upload, in bytes (default 50 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub file_size_limit_bytes: Option<i64>,
    /// Keep objects in an S3-compatible bucket instead of a volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<Box<S3Spec>>,
}

/// Storage's default upload limit, as the self-hosting stack sets it.
pub const DEFAULT_FILE_SIZE_LIMIT_BYTES: i64 = 50 * 1024 * 1024;

impl Project {
    /// Whether the project's services run no replicas: paused, or while a
    /// Restore replaces its database (which keeps running).
    pub fn services_stopped(&self) -> bool {
        self.spec.paused
            || self
                .metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(crate::restore::ANNOTATION_RESTORING))
    }
}

impl ProjectSpec {
    /// The largest upload Storage accepts for this project.
    pub fn file_size_limit_bytes(&self) -> i64 {
        self.storage
            .file_size_limit_bytes
            .unwrap_or(DEFAULT_FILE_SIZE_LIMIT_BYTES)
    }

    /// Whether imgproxy runs beside Storage (it reads the file backend's
    /// volume, so only with it), and so whether images are transformed.
    pub fn transforms_images(&self) -> bool {
        self.components.imgproxy.enabled
            && self.components.storage.enabled
            && self.storage.s3.is_none()
    }
}

impl Default for StorageSpec {
    fn default() -> Self {
        StorageSpec {
            size: default_storage_size(),
            storage_class_name: None,
            file_size_limit_bytes: None,
            s3: None,
        }
    }
}

/// An S3-compatible bucket for the Storage API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct S3Spec {
    /// The bucket name.
    #[schemars(length(min = 3, max = 63))]
    pub bucket: String,
    /// The region of the bucket.
    #[schemars(length(min = 1, max = 64))]
    pub region: String,
    /// The endpoint, for S3-compatible services other than AWS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://"))]
    pub endpoint: Option<String>,
    /// Address buckets by path rather than by host name (MinIO and most
    /// S3-compatible services need it).
    #[serde(default)]
    pub force_path_style: bool,
    /// The Secret, in namespace `project-<ref>`, holding `accessKeyId` and
    /// `secretAccessKey`.
    #[schemars(length(min = 1, max = 253))]
    pub credentials_secret_name: String,
}

/// Where the project answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectEndpoints {
    /// The URL of the API gateway (`https://<ref>.<base domain>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
    /// The in-cluster host name of Postgres.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_host: Option<String>,
    /// The Postgres port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_port: Option<i32>,
}

/// What the operator observed of a project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProjectStatus {
    /// The Supabase project status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SupabaseStatus>,
    /// Why the project is in this status, when it is not healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Ready, SecretsReady, DatabaseReady and one `<Component>Ready` each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Where the project answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<ProjectEndpoints>,
    /// The anon key: public by design (it is what browsers send), so it may
    /// be shown in status; the service_role key and JWT secret never are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anon_key: Option<String>,
    /// The namespace that holds the project's stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[cfg(test)]
mod names {
    use super::*;

    #[test]
    fn each_name_is_what_serde_writes() {
        for status in SupabaseStatus::ALL {
            assert_eq!(serde_json::to_value(status).expect("json"), status.as_str());
        }
        for size in InstanceSize::ALL {
            assert_eq!(serde_json::to_value(size).expect("json"), size.as_str());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_minimal_spec_gets_every_default() {
        let spec: ProjectSpec =
            serde_json::from_value(json!({"organization": "acme", "displayName": "Shop"}))
                .expect("spec");
        assert_eq!(spec.region, "local");
        assert_eq!(spec.instance_size, InstanceSize::Nano);
        assert_eq!(spec.deletion_policy, DeletionPolicy::Retain);
        assert!(!spec.paused);
        assert_eq!(spec.database.storage_size, "8Gi");
        assert!(spec.components.auth.enabled && spec.components.gateway.enabled);
    }

    #[test]
    fn enums_serialize_as_supabase_names() {
        assert_eq!(
            serde_json::to_value(SupabaseStatus::ActiveHealthy).expect("json"),
            "ACTIVE_HEALTHY"
        );
        assert_eq!(
            serde_json::to_value(SupabaseStatus::InitFailed).expect("json"),
            "INIT_FAILED"
        );
        assert_eq!(
            serde_json::to_value(InstanceSize::X2large).expect("json"),
            "2xlarge"
        );
        assert_eq!(
            serde_json::to_value(DeletionPolicy::Retain).expect("json"),
            "Retain"
        );
    }
}
