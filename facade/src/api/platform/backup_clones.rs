//! Restoring a backup into a new project, as Studio's "Restore to new
//! project" calls it (`/platform/database/{ref}/clone`): a new Project in
//! the same organization with `spec.restoreFrom`, whose database the
//! operator fills from the backup once (a `Restore` named
//! `initial-restore` in the new project's namespace).
//!
//! Studio offers this page only for projects with physical backups, and
//! lists only physical backups on it; ours are logical (`pg_dump`) and are
//! reported as such, so Studio shows its "Physical backups are required"
//! notice and these calls serve scripts and kubectl-minded users.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kube::{Api, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use supaplane_crds::constants::project_namespace;
use supaplane_crds::restore::{ANNOTATION_INITIAL_RESTORE, INITIAL_RESTORE_NAME};
use supaplane_crds::{Project, Restore, RestoreFrom, RestorePhase};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::backups::{StudioBackup, completed_backup, listed};
use crate::api::platform::projects::{CreateProjectBody, create_project_from};
use crate::authorization::access;
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::common::shapes::{instance_size_text, uid_id, volume_gb};
use crate::identity::caller::Caller;
use crate::state::AppState;

/// `CloneBackupsResponse`: the backups a new project can be made from, and
/// what it would be given (the source's compute size and volume).
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CloneBackups {
    backups: Vec<StudioBackup>,
    #[serde(rename = "physicalBackupData")]
    #[schema(value_type = Object)]
    physical_backup_data: Map<String, Value>,
    pitr_enabled: bool,
    walg_enabled: bool,
    region: String,
    target_compute_size: String,
    target_volume_size_gb: u64,
}

#[utoipa::path(get, path = "/platform/database/{ref}/clone", tag = "backups", responses((status = 200, body = CloneBackups), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn clone_backups(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<CloneBackups>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let project = &access.project;
    let project_id = uid_id(&project.metadata);
    Ok(Json(CloneBackups {
        backups: listed(&state, &project_ref)
            .await?
            .into_iter()
            .map(|b| StudioBackup::of(b, project_id))
            .collect(),
        physical_backup_data: Map::new(),
        pitr_enabled: false,
        walg_enabled: false,
        region: project.spec.region.clone(),
        target_compute_size: instance_size_text(project.spec.instance_size),
        target_volume_size_gb: volume_gb(&project.spec.database.storage_size).unwrap_or(0),
    }))
}

/// `CloneProject`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CloneBody {
    /// The backup's id, as the list gives it.
    clone_backup_id: Option<u64>,
    /// The new project's database password (8 to 256 characters).
    new_db_pass: String,
    /// The new project's name.
    new_project_name: String,
    /// A point in time: not offered (no point-in-time recovery here).
    recovery_time_target: Option<i64>,
}

/// `ProjectClonedResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Cloned {
    source_project_ref: String,
    target_project_ref: String,
    target_instance_size: String,
    target_disk_size_gb: u64,
}

/// Makes a new project in the source's organization (same region, compute
/// size and Postgres version) from one of the source's completed backups.
/// The caller must be allowed both to restore the source (Owner or
/// Administrator) and to create projects.
#[utoipa::path(post, path = "/platform/database/{ref}/clone", tag = "backups", request_body = CloneBody, responses((status = 201, body = Cloned), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn clone_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<CloneBody>,
) -> ApiResult<(StatusCode, Json<Cloned>)> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    access.require(Action::ManageProject)?;
    if body.recovery_time_target.is_some() {
        return Err(ApiError::BadRequest(
            "Point-in-time recovery is not offered: give cloneBackupId, a backup's id from the list".into(),
        ));
    }
    let id = body.clone_backup_id.ok_or_else(|| {
        ApiError::BadRequest("cloneBackupId is required: a backup's id from the list".into())
    })?;
    let backup = completed_backup(&state, &project_ref, id).await?;
    let source = &access.project;
    let create = CreateProjectBody {
        name: body.new_project_name,
        organization_slug: source.spec.organization.clone(),
        db_pass: body.new_db_pass,
        db_region: None,
        region: Some(source.spec.region.clone()),
        region_selection: None,
        desired_instance_size: Some(instance_size_text(source.spec.instance_size)),
        postgres_engine: Some(source.spec.postgres_version.major().to_string()),
    };
    let from = RestoreFrom {
        project: project_ref.clone(),
        backup: backup.name_any(),
    };
    let (made, _) = create_project_from(&state, &caller, &create, Some(from)).await?;
    tracing::info!(source = %project_ref, target = %made.name_any(), backup = %backup.name_any(), "project made from a backup");
    Ok((
        StatusCode::CREATED,
        Json(Cloned {
            source_project_ref: project_ref,
            target_project_ref: made.name_any(),
            target_instance_size: instance_size_text(made.spec.instance_size),
            target_disk_size_gb: volume_gb(&made.spec.database.storage_size).unwrap_or(0),
        }),
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProjectName {
    name: String,
    #[serde(rename = "ref")]
    project_ref: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ClonedFrom {
    project_id: u64,
    source_project: ProjectName,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Clone {
    inserted_at: Option<String>,
    project_id: u64,
    status: &'static str,
    target_project: ProjectName,
    target_project_id: u64,
    updated_at: Option<String>,
}

/// `ProjectClonedStatusResponse`: the projects made from this one's
/// backups, and the one this was made from.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct CloneStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    cloned_from: Option<ClonedFrom>,
    clones: Vec<Clone>,
    id: u64,
    #[serde(rename = "ref")]
    project_ref: String,
}

/// Where a project made from a backup stands: its initial Restore's phase
/// (no Restore yet is in progress), or the failure the Project reports.
async fn clone_state(
    state: &AppState,
    target: &Project,
) -> ApiResult<(&'static str, Option<String>)> {
    let restores: Api<Restore> =
        Api::namespaced(state.client.clone(), &project_namespace(&target.name_any()));
    let restore = restores
        .get_opt(INITIAL_RESTORE_NAME)
        .await
        .map_err(|e| ApiError::kube("reading the new project's restore", e))?;
    let Some(restore) = restore else {
        // Not asked for yet, or asked, done and since deleted.
        let asked = target
            .annotations()
            .contains_key(ANNOTATION_INITIAL_RESTORE);
        return Ok((if asked { "COMPLETED" } else { "IN_PROGRESS" }, None));
    };
    let status = restore.status.unwrap_or_default();
    let updated = status
        .completed_at
        .or(status.started_at)
        .map(|t| t.0.to_string());
    let label = match status.phase {
        RestorePhase::Completed => "COMPLETED",
        RestorePhase::Failed => "FAILED",
        RestorePhase::Pending | RestorePhase::Running => "IN_PROGRESS",
    };
    Ok((label, updated))
}

#[utoipa::path(get, path = "/platform/database/{ref}/clone/status", tag = "backups", responses((status = 200, body = CloneStatus), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn clone_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<CloneStatus>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let project = &access.project;
    let project_id = uid_id(&project.metadata);
    let all = state.index.projects_in(&project.spec.organization);
    let cloned_from = project.spec.restore_from.as_ref().and_then(|from| {
        let source = all.iter().find(|p| p.name_any() == from.project)?;
        Some(ClonedFrom {
            project_id: uid_id(&source.metadata),
            source_project: ProjectName {
                name: source.spec.display_name.clone(),
                project_ref: from.project.clone(),
            },
        })
    });
    let mut targets: Vec<_> = all
        .iter()
        .filter(|p| {
            p.spec
                .restore_from
                .as_ref()
                .is_some_and(|from| from.project == project_ref)
        })
        .collect();
    targets.sort_by_key(|p| p.metadata.creation_timestamp.clone());
    let mut clones = Vec::with_capacity(targets.len());
    for target in targets {
        let (status, updated_at) = clone_state(&state, target).await?;
        clones.push(Clone {
            inserted_at: target
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string()),
            project_id,
            status,
            target_project: ProjectName {
                name: target.spec.display_name.clone(),
                project_ref: target.name_any(),
            },
            target_project_id: uid_id(&target.metadata),
            updated_at,
        });
    }
    Ok(Json(CloneStatus {
        cloned_from,
        clones,
        id: project_id,
        project_ref,
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(clone_backups, clone_project))
        .routes(routes!(clone_status))
}
