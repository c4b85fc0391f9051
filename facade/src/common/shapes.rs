//! The response bodies Studio reads, typed after Studio's platform contract
//! (`packages/api-types/types/platform.d.ts`), and how each is made from
//! an Organization or a Project.

use serde::Serialize;
use supaplane_crds::{InstanceSize, Organization, Project, SupabaseStatus};

use crate::common::config::FacadeConfig;
use crate::common::ids::numeric_id;

pub fn uid_id(meta: &kube::api::ObjectMeta) -> u64 {
    numeric_id(meta.uid.as_deref().unwrap_or_default())
}

pub fn created_at(meta: &kube::api::ObjectMeta) -> String {
    meta.creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default()
}

/// Our provider label. Every project runs on the operator's cluster; Studio
/// hides Restart for `AWS_K8S`, and lists the same regions for `AWS`.
pub const CLOUD_PROVIDER: &str = "AWS";

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Plan {
    pub id: &'static str,
    pub name: &'static str,
}

/// Plans are labels here (no billing); unknown labels show as free.
pub fn plan_of(organization: &Organization) -> Plan {
    match organization.spec.plan.as_str() {
        "pro" => Plan {
            id: "pro",
            name: "Pro",
        },
        "team" => Plan {
            id: "team",
            name: "Team",
        },
        "enterprise" => Plan {
            id: "enterprise",
            name: "Enterprise",
        },
        "platform" => Plan {
            id: "platform",
            name: "Platform",
        },
        _ => Plan {
            id: "free",
            name: "Free",
        },
    }
}

/// The plan Studio is told. Studio ties behaviour to the plan id: `free`
/// brings a resume deadline on paused projects, "Upgrade to Pro" prompts,
/// free-tier member limits and a fixed compute size, none of which exists
/// here (no billing; a paused project resumes at any time; sizes are
/// offered by the operator's configuration). `platform` is Studio's id for an
/// organization billed outside Supabase, which every organization here is;
/// the name keeps the organization's own plan label. `/v1` reports the label.
pub fn studio_plan_of(organization: &Organization) -> Plan {
    Plan {
        id: "platform",
        name: plan_of(organization).name,
    }
}

/// `OrganizationResponse`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganizationResponse {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub billing_email: Option<String>,
    pub billing_partner: Option<String>,
    pub is_owner: bool,
    pub plan: Plan,
    pub opt_in_tags: Vec<String>,
    pub organization_missing_address: bool,
    pub organization_missing_tax_id: bool,
    pub organization_requires_mfa: bool,
    pub restriction_data: Option<serde_json::Value>,
    pub restriction_status: Option<String>,
    pub stripe_customer_id: Option<String>,
    pub subscription_id: Option<String>,
    pub usage_billing_enabled: bool,
}

impl OrganizationResponse {
    pub fn new(organization: &Organization, is_owner: bool) -> Self {
        OrganizationResponse {
            id: uid_id(&organization.metadata),
            slug: organization.metadata.name.clone().unwrap_or_default(),
            name: organization.spec.display_name.clone(),
            billing_email: organization.spec.billing_email.clone(),
            billing_partner: None,
            is_owner,
            plan: studio_plan_of(organization),
            opt_in_tags: Vec::new(),
            organization_missing_address: false,
            organization_missing_tax_id: false,
            organization_requires_mfa: false,
            restriction_data: None,
            restriction_status: None,
            stripe_customer_id: None,
            subscription_id: None,
            usage_billing_enabled: false,
        }
    }
}

/// `OrganizationSlugResponse`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganizationDetailResponse {
    pub id: u64,
    pub slug: String,
    pub name: String,
    pub billing_email: Option<String>,
    pub billing_partner: Option<String>,
    pub has_oriole_project: bool,
    pub plan: Plan,
    pub opt_in_tags: Vec<String>,
    pub restriction_data: Option<serde_json::Value>,
    pub restriction_status: Option<String>,
    pub usage_billing_enabled: bool,
}

impl OrganizationDetailResponse {
    pub fn new(organization: &Organization) -> Self {
        OrganizationDetailResponse {
            id: uid_id(&organization.metadata),
            slug: organization.metadata.name.clone().unwrap_or_default(),
            name: organization.spec.display_name.clone(),
            billing_email: organization.spec.billing_email.clone(),
            billing_partner: None,
            has_oriole_project: false,
            plan: studio_plan_of(organization),
            opt_in_tags: Vec::new(),
            restriction_data: None,
            restriction_status: None,
            usage_billing_enabled: false,
        }
    }
}

/// The Supabase status of a project as Studio shows it: what the operator
/// last reported, `GOING_DOWN` once deletion started, and `COMING_UP`
/// before the operator's first report.
pub fn status_of(project: &Project) -> SupabaseStatus {
    if project.metadata.deletion_timestamp.is_some() {
        return SupabaseStatus::GoingDown;
    }
    project
        .status
        .as_ref()
        .and_then(|s| s.status)
        .unwrap_or(SupabaseStatus::ComingUp)
}

pub fn status_text(status: SupabaseStatus) -> String {
    status.as_str().to_string()
}

pub fn instance_size_text(size: InstanceSize) -> String {
    size.as_str().to_string()
}

/// The database host Studio shows: what the operator reports.
pub fn database_host(project: &Project) -> String {
    project
        .status
        .as_ref()
        .and_then(|s| s.endpoints.as_ref())
        .and_then(|e| e.database_host.clone())
        .unwrap_or_default()
}

pub fn database_port(project: &Project) -> i32 {
    project
        .status
        .as_ref()
        .and_then(|s| s.endpoints.as_ref())
        .and_then(|e| e.database_port)
        .unwrap_or(5432)
}

/// The project's API URL: the operator's report, else where it will be.
pub fn api_url(project: &Project, config: &FacadeConfig) -> String {
    project
        .status
        .as_ref()
        .and_then(|s| s.endpoints.as_ref())
        .and_then(|e| e.api_url.clone())
        .unwrap_or_else(|| {
            config.project_api_url(project.metadata.name.as_deref().unwrap_or_default())
        })
}

pub fn anon_key(project: &Project) -> Option<String> {
    project.status.as_ref().and_then(|s| s.anon_key.clone())
}

/// A project's primary database, as the organization project list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectDatabaseSummary {
    pub identifier: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub status: String,
    pub region: String,
    pub cloud_provider: &'static str,
    pub infra_compute_size: String,
    pub disk_volume_size_gb: Option<u64>,
}

/// The connection string of the project's database, once its host is known.
pub fn connection_string(project: &Project) -> Option<String> {
    let host = database_host(project);
    (!host.is_empty()).then(|| {
        format!(
            "postgresql://postgres@{host}:{}/postgres",
            database_port(project)
        )
    })
}

/// Database status values differ from project ones: a paused project's
/// database is reported as what it is doing, not INACTIVE.
pub fn database_status(status: SupabaseStatus) -> &'static str {
    match status {
        SupabaseStatus::ActiveHealthy => "ACTIVE_HEALTHY",
        SupabaseStatus::ActiveUnhealthy => "ACTIVE_UNHEALTHY",
        SupabaseStatus::GoingDown | SupabaseStatus::Pausing => "GOING_DOWN",
        SupabaseStatus::InitFailed => "INIT_FAILED",
        SupabaseStatus::Removed | SupabaseStatus::Inactive => "REMOVED",
        SupabaseStatus::Restoring => "RESTORING",
        SupabaseStatus::ComingUp => "COMING_UP",
        _ => "UNKNOWN",
    }
}

/// Whole GiB of a quantity such as `8Gi` (None when it is not in Gi/Ti).
pub fn volume_gb(quantity: &str) -> Option<u64> {
    if let Some(gi) = quantity.strip_suffix("Gi") {
        gi.parse().ok()
    } else if let Some(ti) = quantity.strip_suffix("Ti") {
        ti.parse::<u64>().ok().map(|t| t * 1024)
    } else {
        None
    }
}

/// One entry of `OrganizationProjectsResponse.projects`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganizationProject {
    #[serde(rename = "ref")]
    pub project_ref: String,
    pub name: String,
    pub status: String,
    pub region: String,
    pub cloud_provider: &'static str,
    pub inserted_at: String,
    pub is_branch: bool,
    pub databases: Vec<ProjectDatabaseSummary>,
}

impl OrganizationProject {
    pub fn new(project: &Project) -> Self {
        let project_ref = project.metadata.name.clone().unwrap_or_default();
        let status = status_of(project);
        OrganizationProject {
            project_ref: project_ref.clone(),
            name: project.spec.display_name.clone(),
            status: status_text(status),
            region: project.spec.region.clone(),
            cloud_provider: CLOUD_PROVIDER,
            inserted_at: created_at(&project.metadata),
            is_branch: false,
            databases: vec![ProjectDatabaseSummary {
                identifier: project_ref,
                kind: "PRIMARY",
                status: database_status(status).to_string(),
                region: project.spec.region.clone(),
                cloud_provider: CLOUD_PROVIDER,
                infra_compute_size: instance_size_text(project.spec.instance_size),
                disk_volume_size_gb: volume_gb(&project.spec.database.storage_size),
            }],
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pagination {
    pub count: usize,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganizationProjectsResponse {
    pub pagination: Pagination,
    pub projects: Vec<OrganizationProject>,
}

/// One entry of `ListProjectsPaginatedResponse.projects`, and (with the
/// keys) the body of `CreateProjectResponse`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectSummary {
    pub id: u64,
    #[serde(rename = "ref")]
    pub project_ref: String,
    pub name: String,
    pub organization_id: u64,
    pub organization_slug: String,
    pub status: String,
    pub region: String,
    pub cloud_provider: &'static str,
    pub inserted_at: String,
    pub subscription_id: Option<String>,
    pub is_branch_enabled: bool,
    pub is_physical_backups_enabled: bool,
    pub preview_branch_refs: Vec<String>,
    pub infra_compute_size: String,
    pub disk_volume_size_gb: Option<u64>,
}

impl ProjectSummary {
    pub fn new(project: &Project, organization: &Organization) -> Self {
        ProjectSummary {
            id: uid_id(&project.metadata),
            project_ref: project.metadata.name.clone().unwrap_or_default(),
            name: project.spec.display_name.clone(),
            organization_id: uid_id(&organization.metadata),
            organization_slug: organization.metadata.name.clone().unwrap_or_default(),
            status: status_text(status_of(project)),
            region: project.spec.region.clone(),
            cloud_provider: CLOUD_PROVIDER,
            inserted_at: created_at(&project.metadata),
            subscription_id: None,
            is_branch_enabled: false,
            is_physical_backups_enabled: false,
            preview_branch_refs: Vec::new(),
            infra_compute_size: instance_size_text(project.spec.instance_size),
            disk_volume_size_gb: volume_gb(&project.spec.database.storage_size),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectsResponse {
    pub pagination: Pagination,
    pub projects: Vec<ProjectSummary>,
}

/// `CreateProjectResponse`: the summary plus endpoint and keys. The keys
/// do not exist yet when a project is created; they are empty until the
/// operator generates them, and then read through the settings.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreateProjectResponse {
    #[serde(flatten)]
    pub summary: ProjectSummary,
    pub endpoint: String,
    pub anon_key: String,
    pub service_key: String,
}

/// `ProjectDetailResponse`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectDetailResponse {
    pub id: u64,
    #[serde(rename = "ref")]
    pub project_ref: String,
    pub name: String,
    pub organization_id: u64,
    pub status: String,
    pub region: String,
    pub cloud_provider: &'static str,
    pub db_host: String,
    #[serde(rename = "dbVersion")]
    pub db_version: String,
    #[serde(rename = "restUrl")]
    pub rest_url: String,
    /// Empty until the database is up: Studio polls while it is empty.
    #[serde(rename = "connectionString")]
    pub connection_string: Option<String>,
    pub inserted_at: String,
    pub updated_at: String,
    pub subscription_id: String,
    pub high_availability: bool,
    pub is_branch_enabled: bool,
    pub is_physical_backups_enabled: bool,
    pub infra_compute_size: String,
    #[serde(rename = "volumeSizeGb", skip_serializing_if = "Option::is_none")]
    pub volume_size_gb: Option<u64>,
}

fn database_ready(project: &Project) -> bool {
    project.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == supaplane_crds::conditions::DATABASE_READY && c.status == "True")
    })
}

impl ProjectDetailResponse {
    pub fn new(project: &Project, organization: &Organization, config: &FacadeConfig) -> Self {
        let host = database_host(project);
        let created = created_at(&project.metadata);
        let connection_string = database_ready(project)
            .then(|| connection_string(project))
            .flatten();
        ProjectDetailResponse {
            id: uid_id(&project.metadata),
            project_ref: project.metadata.name.clone().unwrap_or_default(),
            name: project.spec.display_name.clone(),
            organization_id: uid_id(&organization.metadata),
            status: status_text(status_of(project)),
            region: project.spec.region.clone(),
            cloud_provider: CLOUD_PROVIDER,
            db_host: host,
            db_version: format!(
                "supabase-postgres-{}",
                supaplane_crds::images::postgres_release(project.spec.postgres_version)
            ),
            rest_url: format!("{}/rest/v1/", api_url(project, config)),
            connection_string,
            updated_at: created.clone(),
            inserted_at: created,
            subscription_id: String::new(),
            high_availability: false,
            is_branch_enabled: false,
            is_physical_backups_enabled: false,
            infra_compute_size: instance_size_text(project.spec.instance_size),
            volume_size_gb: volume_gb(&project.spec.database.storage_size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_sizes_in_gib() {
        assert_eq!(volume_gb("8Gi"), Some(8));
        assert_eq!(volume_gb("1Ti"), Some(1024));
        assert_eq!(volume_gb("500Mi"), None);
    }
}
