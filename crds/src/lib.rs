//! The vocabulary of supaplane: the `Organization` and `Project` custom
//! resources (group `supaplane.io`, version `v1alpha1`) and the names every
//! part of the workspace shares about them.

#![forbid(unsafe_code)]

pub mod backup;
pub mod conditions;
pub mod constants;
pub mod content;
pub mod digest;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod gone;
pub mod images;
pub mod oauth;
pub mod organization;
pub mod project;
pub mod restore;
#[cfg(feature = "serving")]
pub mod serving;
pub mod watching;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use backup::{
    Backup, BackupBucket, BackupPhase, BackupSpec, BackupStatus, BackupTrigger, BackupsSpec,
};
pub use conditions::{ConditionStatus, set_condition};
pub use content::{
    ContentFolder, ContentFolderSpec, ContentType, ContentVisibility, UserContent, UserContentSpec,
};
pub use oauth::{OAuthProvider, OAuthProviderSpec, SecretKeyRef};
pub use organization::{
    Organization, OrganizationInvitation, OrganizationMember, OrganizationRole, OrganizationSpec,
    OrganizationStatus,
};
pub use project::{
    AuthSpec, ComponentSpec, ComponentsSpec, DatabaseSpec, DeletionPolicy, InstanceSize,
    PasswordSecretRef, PostgresVersion, Project, ProjectEndpoints, ProjectSpec, ProjectStatus,
    S3Spec, SmtpSpec, StorageSpec, SupabaseStatus,
};
pub use restore::{Restore, RestoreFrom, RestorePhase, RestoreSpec, RestoreStatus};

/// Every CRD supaplane defines, in install order.
pub fn all_crds() -> Vec<CustomResourceDefinition> {
    vec![
        Organization::crd(),
        Project::crd(),
        UserContent::crd(),
        ContentFolder::crd(),
        Backup::crd(),
        Restore::crd(),
    ]
}

/// The file name of a CRD in `charts/supaplane/crds/`.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("unnamed"))
}

/// The YAML of a CRD exactly as the chart ships it.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> Result<String, serde_yaml::Error> {
    let body = serde_yaml::to_string(crd)?;
    Ok(format!(
        "# Generated from the Rust types in crds/ by `cargo run -p supaplane-crds --bin crdgen`. Do not edit.\n{body}"
    ))
}
