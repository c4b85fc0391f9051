//! A project's database backups as Studio's Database → Backups page and the
//! Management API list them: the `Backup` objects in the project's
//! namespace (taken by the operator on schedule or on demand). Logical
//! backups only: no point-in-time recovery runs here.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kube::api::{ListParams, ObjectMeta, PostParams};
use kube::{Api, ResourceExt};
use serde::Serialize;
use serde_json::{Map, Value};
use supaplane_crds::constants::project_namespace;
use supaplane_crds::restore::ANNOTATION_RESTORING;
use supaplane_crds::{Backup, BackupPhase, Restore, RestoreSpec};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access;
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::common::shapes::uid_id;
use crate::identity::caller::Caller;
use crate::state::AppState;

/// One backup: Studio offers Restore and Download only for `COMPLETED`, and
/// shows every other status as in progress, so failed ones are left out
/// (their reason is on the Backup, for kubectl).
pub(crate) struct Listed {
    pub id: u64,
    pub inserted_at: String,
    pub status: &'static str,
}

pub(crate) async fn listed(state: &AppState, project_ref: &str) -> ApiResult<Vec<Listed>> {
    listed_where(state, project_ref, |_| true).await
}

/// [`listed`], of the backups `keep` keeps.
pub(crate) async fn listed_where(
    state: &AppState,
    project_ref: &str,
    keep: impl Fn(&Backup) -> bool,
) -> ApiResult<Vec<Listed>> {
    let backups: Api<Backup> =
        Api::namespaced(state.client.clone(), &project_namespace(project_ref));
    let mut found: Vec<(i64, Listed)> = backups
        .list(&ListParams::default())
        .await
        .map_err(|e| ApiError::kube("listing the project's backups", e))?
        .items
        .into_iter()
        .filter(|backup| backup.spec.project == project_ref && keep(backup))
        .filter_map(|backup| {
            let status = backup.status.clone().unwrap_or_default();
            let label = match status.phase {
                BackupPhase::Completed => "COMPLETED",
                BackupPhase::Pending | BackupPhase::Running => "PENDING",
                BackupPhase::Failed => return None,
            };
            let at = status
                .completed_at
                .or(status.started_at)
                .or(backup.metadata.creation_timestamp.clone())?;
            Some((
                at.0.as_microsecond(),
                Listed {
                    id: uid_id(&backup.metadata),
                    inserted_at: at.0.to_string(),
                    status: label,
                },
            ))
        })
        .collect();
    found.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    Ok(found.into_iter().map(|(_, listed)| listed).collect())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StudioBackup {
    id: u64,
    inserted_at: String,
    #[serde(rename = "isPhysicalBackup")]
    is_physical_backup: bool,
    project_id: u64,
    status: &'static str,
}

impl StudioBackup {
    /// A listed backup of project `project_id`, as Studio's backup lists
    /// (backups, clone, downloadable) all show one: logical.
    pub(crate) fn of(listed: Listed, project_id: u64) -> Self {
        StudioBackup {
            id: listed.id,
            inserted_at: listed.inserted_at,
            is_physical_backup: false,
            project_id,
            status: listed.status,
        }
    }
}

/// `BackupsResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct StudioBackups {
    region: String,
    pitr_enabled: bool,
    walg_enabled: bool,
    backups: Vec<StudioBackup>,
    #[serde(rename = "physicalBackupData")]
    #[schema(value_type = Object)]
    physical_backup_data: Map<String, Value>,
}

#[utoipa::path(get, path = "/platform/database/{ref}/backups", tag = "backups", responses((status = 200, body = StudioBackups), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn studio_backups(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<StudioBackups>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let project_id = uid_id(&access.project.metadata);
    Ok(Json(StudioBackups {
        region: access.project.spec.region.clone(),
        pitr_enabled: false,
        walg_enabled: false,
        backups: listed(&state, &project_ref)
            .await?
            .into_iter()
            .map(|b| StudioBackup::of(b, project_id))
            .collect(),
        physical_backup_data: Map::new(),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct V1Backup {
    id: u64,
    is_physical_backup: bool,
    status: &'static str,
    inserted_at: String,
}

/// `V1BackupsResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct V1Backups {
    region: String,
    walg_enabled: bool,
    pitr_enabled: bool,
    backups: Vec<V1Backup>,
    #[schema(value_type = Object)]
    physical_backup_data: Map<String, Value>,
}

#[utoipa::path(get, path = "/v1/projects/{ref}/database/backups", tag = "backups", responses((status = 200, body = V1Backups), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn v1_backups(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<V1Backups>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(V1Backups {
        region: access.project.spec.region.clone(),
        walg_enabled: false,
        pitr_enabled: false,
        backups: listed(&state, &access.project.name_any())
            .await?
            .into_iter()
            .map(|b| V1Backup {
                id: b.id,
                is_physical_backup: false,
                status: b.status,
                inserted_at: b.inserted_at,
            })
            .collect(),
        physical_backup_data: Map::new(),
    }))
}

/// `RestoreLogicalBackupBody` / `V1RestoreBackupBody`.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
struct RestoreBody {
    /// A backup's id, as the list gives it.
    id: u64,
}

/// The project's completed backup whose id is `id` (400 when it is not
/// complete, 404 when there is none).
pub(crate) async fn completed_backup(
    state: &AppState,
    project_ref: &str,
    id: u64,
) -> ApiResult<Backup> {
    let backups: Api<Backup> =
        Api::namespaced(state.client.clone(), &project_namespace(project_ref));
    let backup = backups
        .list(&ListParams::default())
        .await
        .map_err(|e| ApiError::kube("listing the project's backups", e))?
        .items
        .into_iter()
        .find(|b| uid_id(&b.metadata) == id && b.spec.project == project_ref)
        .ok_or_else(|| ApiError::NotFound(format!("Backup {id} not found")))?;
    let complete = backup
        .status
        .as_ref()
        .is_some_and(|s| s.phase == BackupPhase::Completed);
    if !complete {
        return Err(ApiError::BadRequest(format!(
            "Backup {id} is not complete: only a completed backup can be restored"
        )));
    }
    Ok(backup)
}

/// Asks the operator to restore backup `id` into the project, in place: a
/// `Restore` in the project's namespace. Owners and Administrators only;
/// refused while the project is paused or another restore runs.
async fn restore(
    state: &AppState,
    caller: &Caller,
    project_ref: &str,
    id: u64,
) -> ApiResult<StatusCode> {
    let access = access::project(&state.index, caller, project_ref)?;
    access.require(Action::ManageProject)?;
    if access.project.spec.paused {
        return Err(ApiError::BadRequest(
            "The project is paused: resume it, then restore".into(),
        ));
    }
    if let Some(running) = access.project.annotations().get(ANNOTATION_RESTORING) {
        return Err(ApiError::Conflict(format!(
            "Restore {running} of this project is still running"
        )));
    }
    let namespace = project_namespace(project_ref);
    let backup = completed_backup(state, project_ref, id).await?;
    let restore = Restore {
        metadata: ObjectMeta {
            generate_name: Some("restore-".into()),
            ..Default::default()
        },
        spec: RestoreSpec {
            project: project_ref.to_string(),
            backup: backup.name_any(),
            source_project: None,
        },
        status: None,
    };
    let restores: Api<Restore> = Api::namespaced(state.client.clone(), &namespace);
    let made = restores
        .create(&PostParams::default(), &restore)
        .await
        .map_err(|e| ApiError::kube("asking for the restore", e))?;
    tracing::info!(project = %project_ref, restore = %made.name_any(), backup = %backup.name_any(), "restore asked for");
    Ok(StatusCode::CREATED)
}

#[utoipa::path(post, path = "/platform/database/{ref}/backups/restore", tag = "backups", request_body = RestoreBody, responses((status = 201, description = "The restore is under way"), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody), (status = 409, description = "A restore is running", body = ErrorBody)), security(("bearer" = [])))]
async fn studio_restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<RestoreBody>,
) -> ApiResult<StatusCode> {
    restore(&state, &caller, &project_ref, body.id).await
}

#[utoipa::path(post, path = "/v1/projects/{ref}/database/backups/restore", tag = "backups", request_body = RestoreBody, responses((status = 201, description = "The restore is under way"), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody), (status = 409, description = "A restore is running", body = ErrorBody)), security(("bearer" = [])))]
async fn v1_restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<RestoreBody>,
) -> ApiResult<StatusCode> {
    restore(&state, &caller, &project_ref, body.id).await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(studio_backups))
        .routes(routes!(v1_backups))
        .routes(routes!(studio_restore))
        .routes(routes!(v1_restore))
}
