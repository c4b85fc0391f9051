//! A project's database backups as Studio's Database → Backups page and the
//! Management API list them: the `Backup` objects in the project's
//! namespace (taken by the operator on schedule or on demand). Logical
//! backups only: no point-in-time recovery runs here.

use axum::Json;
use axum::extract::{Path, State};
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde::Serialize;
use serde_json::{Map, Value};
use supaplane_crds::constants::project_namespace;
use supaplane_crds::{Backup, BackupPhase};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::access;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::shapes::uid_id;
use crate::state::AppState;

/// One backup: Studio offers Restore and Download only for `COMPLETED`, and
/// shows every other status as in progress, so failed ones are left out
/// (their reason is on the Backup, for kubectl).
struct Listed {
    id: u64,
    inserted_at: String,
    status: &'static str,
}

async fn listed(state: &AppState, project_ref: &str) -> ApiResult<Vec<Listed>> {
    let backups: Api<Backup> =
        Api::namespaced(state.client.clone(), &project_namespace(project_ref));
    let mut found: Vec<(i64, Listed)> = backups
        .list(&ListParams::default())
        .await
        .map_err(|e| ApiError::kube("listing the project's backups", e))?
        .items
        .into_iter()
        .filter(|backup| backup.spec.project == project_ref)
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
struct StudioBackup {
    id: u64,
    inserted_at: String,
    #[serde(rename = "isPhysicalBackup")]
    is_physical_backup: bool,
    project_id: u64,
    status: &'static str,
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
    let access = access::project(&state, &caller, &project_ref)?;
    let project_id = uid_id(&access.project.metadata);
    Ok(Json(StudioBackups {
        region: access.project.spec.region.clone(),
        pitr_enabled: false,
        walg_enabled: false,
        backups: listed(&state, &project_ref)
            .await?
            .into_iter()
            .map(|b| StudioBackup {
                id: b.id,
                inserted_at: b.inserted_at,
                is_physical_backup: false,
                project_id,
                status: b.status,
            })
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
    let access = access::project(&state, &caller, &project_ref)?;
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

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(studio_backups))
        .routes(routes!(v1_backups))
}
