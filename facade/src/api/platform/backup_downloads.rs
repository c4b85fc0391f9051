//! Downloading a backup, as Studio's Download button and its restoring and
//! paused pages ask (`POST /platform/database/{ref}/backups/download` →
//! `{fileUrl}`, which the browser opens): for a backup in the project's
//! bucket (`spec.backups.s3`), a link signed for a short while to its
//! `database.dump` (`pg_dump`'s custom format, for `pg_restore`), served
//! as an attachment by the bucket itself. The facade reads the bucket's
//! keys from the one Secret the project names, as the Role the operator
//! renders in its namespace allows, and never hands them out. A backup on
//! the project's volume has no such link: the answer says so.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use serde::{Deserialize, Serialize};
use supaplane_crds::constants::project_namespace;
use supaplane_crds::{BackupBucket, Project};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::backups::{Listed, StudioBackup, completed_backup, listed_where};
use crate::authorization::access;
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::common::shapes::uid_id;
use crate::identity::caller::Caller;
use crate::state::AppState;

/// How long a download link works.
const LINK_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// `DownloadableBackupsResponse`: the completed backups in the project's
/// bucket, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DownloadableBackups {
    backups: Vec<StudioBackup>,
    status: &'static str,
}

/// The project's completed backups in its bucket, newest first (none
/// without a bucket).
pub(crate) async fn downloadable(state: &AppState, project: &Project) -> ApiResult<Vec<Listed>> {
    let Some(bucket) = &project.spec.backups.s3 else {
        return Ok(Vec::new());
    };
    Ok(
        listed_where(state, &project.name_any(), |b| b.is_in(bucket))
            .await?
            .into_iter()
            .filter(|b| b.status == "COMPLETED")
            .collect(),
    )
}

#[utoipa::path(get, path = "/platform/database/{ref}/backups/downloadable-backups", tag = "backups", responses((status = 200, body = DownloadableBackups), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn downloadable_backups(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<DownloadableBackups>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let project_id = uid_id(&access.project.metadata);
    let backups = downloadable(&state, &access.project)
        .await?
        .into_iter()
        .map(|b| StudioBackup::of(b, project_id))
        .collect();
    Ok(Json(DownloadableBackups {
        backups,
        status: "ok",
    }))
}

/// `DownloadBackupBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct DownloadBody {
    /// A backup's id, as the list gives it.
    id: u64,
}

/// `DownloadBackupResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Download {
    #[serde(rename = "fileUrl")]
    file_url: String,
}

/// The bucket's keys, from the Secret the project names.
async fn credentials(
    state: &AppState,
    project_ref: &str,
    bucket: &BackupBucket,
) -> ApiResult<Credentials> {
    let name = &bucket.bucket.credentials_secret_name;
    let secrets: Api<Secret> =
        Api::namespaced(state.client.clone(), &project_namespace(project_ref));
    let secret = secrets
        .get_opt(name)
        .await
        .map_err(|e| ApiError::kube("reading the backup bucket's credentials", e))?
        .ok_or_else(|| {
            ApiError::Unavailable(format!(
                "The backup bucket's credentials Secret {name} is not in the project's namespace"
            ))
        })?;
    let value = |key: &str| {
        secret
            .data
            .as_ref()
            .and_then(|data| data.get(key))
            .and_then(|value| String::from_utf8(value.0.clone()).ok())
            .ok_or_else(|| {
                ApiError::Unavailable(format!(
                    "The backup bucket's credentials Secret {name} has no {key}"
                ))
            })
    };
    Ok(Credentials::new(
        value("accessKeyId")?,
        value("secretAccessKey")?,
    ))
}

/// A link to `backup`'s dump in `bucket`, signed for [`LINK_LIFETIME`],
/// that the bucket serves as `<project>-<backup>.dump`.
fn signed_link(
    bucket: &BackupBucket,
    credentials: &Credentials,
    project_ref: &str,
    backup: &str,
) -> ApiResult<String> {
    let spec = &bucket.bucket;
    let endpoint = spec
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", spec.region));
    let endpoint = endpoint
        .parse()
        .map_err(|e| ApiError::Internal(format!("the bucket's endpoint {endpoint}: {e}")))?;
    let style = if spec.force_path_style {
        UrlStyle::Path
    } else {
        UrlStyle::VirtualHost
    };
    let target = Bucket::new(endpoint, style, spec.bucket.clone(), spec.region.clone())
        .map_err(|e| ApiError::Internal(format!("the backup bucket: {e}")))?;
    let key = format!("{}{backup}/database.dump", bucket.key_prefix());
    let mut action = target.get_object(Some(credentials), &key);
    action.query_mut().insert(
        "response-content-disposition",
        format!("attachment; filename=\"{project_ref}-{backup}.dump\""),
    );
    Ok(action.sign(LINK_LIFETIME).to_string())
}

/// A download link for backup `id`: Owners and Administrators, as for a
/// restore (Studio checks the same permission for both).
#[utoipa::path(post, path = "/platform/database/{ref}/backups/download", tag = "backups", request_body = DownloadBody, responses((status = 201, body = Download), (status = 400, description = "Not a backup in a bucket", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<DownloadBody>,
) -> ApiResult<(StatusCode, Json<Download>)> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    access.require(Action::ManageProject)?;
    let backup = completed_backup(&state, &project_ref, body.id).await?;
    let Some(bucket) = access
        .project
        .spec
        .backups
        .s3
        .as_ref()
        .filter(|bucket| backup.is_in(bucket))
    else {
        return Err(ApiError::BadRequest(format!(
            "Backup {} is kept on the project's volume, which has no download link: downloads are offered for backups in a bucket (spec.backups.s3)",
            body.id
        )));
    };
    let credentials = credentials(&state, &project_ref, bucket).await?;
    let file_url = signed_link(bucket, &credentials, &project_ref, &backup.name_any())?;
    tracing::info!(project = %project_ref, backup = %backup.name_any(), "download link signed");
    Ok((StatusCode::CREATED, Json(Download { file_url })))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(downloadable_backups))
        .routes(routes!(download))
}
