//! Storage settings as Studio reads and changes them
//! (`/platform/projects/{ref}/config/storage`): the upload limit, from and
//! to `spec.storage.fileSizeLimitBytes`, and the features this platform's
//! Storage has. Image transformation runs whenever imgproxy can (the file
//! backend); S3 protocol access, Iceberg catalogs and vector buckets are
//! not offered, so turning them on is refused rather than pretended.

use axum::Json;
use axum::extract::{Path, State};
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use serde::{Deserialize, Serialize};
use serde_json::json;
use supaplane_crds::Project;
use supaplane_crds::constants::FIELD_MANAGER_FACADE;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access;
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, JsonBody};
use crate::identity::caller::Caller;
use crate::index::cache::includes_write;
use crate::state::AppState;

/// The largest upload limit that can be set: 500 GiB, Supabase's own cap.
const MAX_FILE_SIZE_LIMIT_BYTES: i64 = 500 * 1024 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
struct Toggle {
    enabled: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Limited {
    enabled: bool,
    max_catalogs: u32,
    max_namespaces: u32,
    max_tables: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct VectorBuckets {
    enabled: bool,
    max_buckets: u32,
    max_indexes: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Features {
    iceberg_catalog: Limited,
    image_transformation: Toggle,
    s3_protocol: Toggle,
    vector_buckets: VectorBuckets,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Capabilities {
    iceberg_catalog: bool,
    list_v2: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct External {
    upstream_target: &'static str,
}

/// `StorageConfigResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct StorageConfig {
    capabilities: Capabilities,
    /// Storage connects to its database directly (no pooler runs).
    database_pool_mode: &'static str,
    external: External,
    features: Features,
    file_size_limit: i64,
    /// Not reported: the pinned Storage API migrates itself at start.
    migration_version: &'static str,
}

fn config_of(project: &Project) -> StorageConfig {
    StorageConfig {
        capabilities: Capabilities {
            iceberg_catalog: false,
            list_v2: false,
        },
        database_pool_mode: "direct",
        external: External {
            upstream_target: "main",
        },
        features: Features {
            iceberg_catalog: Limited {
                enabled: false,
                max_catalogs: 0,
                max_namespaces: 0,
                max_tables: 0,
            },
            image_transformation: Toggle {
                enabled: project.spec.transforms_images(),
            },
            s3_protocol: Toggle { enabled: false },
            vector_buckets: VectorBuckets {
                enabled: false,
                max_buckets: 0,
                max_indexes: 0,
            },
        },
        file_size_limit: project.spec.file_size_limit_bytes(),
        migration_version: "",
    }
}

#[utoipa::path(get, path = "/platform/projects/{ref}/config/storage", tag = "storage",
    responses((status = 200, body = StorageConfig)), security(("bearer" = [])))]
async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<StorageConfig>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(config_of(&access.project)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct FeatureChanges {
    #[serde(default)]
    image_transformation: Option<Toggle>,
    #[serde(default)]
    s3_protocol: Option<Toggle>,
    #[serde(default)]
    iceberg_catalog: Option<Toggle>,
    #[serde(default)]
    vector_buckets: Option<Toggle>,
}

/// `UpdateStorageConfigBody`: what Studio's Storage settings send.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpdateStorageConfig {
    /// The largest upload, in bytes (1 to 500 GiB).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 536870912000_i64)]
    file_size_limit: Option<i64>,
    #[serde(default)]
    features: Option<FeatureChanges>,
}

#[utoipa::path(patch, path = "/platform/projects/{ref}/config/storage", tag = "storage",
    request_body = UpdateStorageConfig,
    responses((status = 200, body = StorageConfig)), security(("bearer" = [])))]
async fn update_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<UpdateStorageConfig>,
) -> ApiResult<Json<StorageConfig>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    access.require(Action::ManageProject)?;
    if let Some(features) = &body.features {
        let transforms = access.project.spec.transforms_images();
        if features
            .image_transformation
            .as_ref()
            .is_some_and(|t| t.enabled != transforms)
        {
            return Err(ApiError::BadRequest(if transforms {
                "Image transformation cannot be turned off here: imgproxy runs beside every file-backed Storage".into()
            } else {
                "Image transformation needs the file storage backend (imgproxy reads its volume); this project keeps objects in S3".into()
            }));
        }
        for (name, toggle) in [
            ("s3Protocol", &features.s3_protocol),
            ("icebergCatalog", &features.iceberg_catalog),
            ("vectorBuckets", &features.vector_buckets),
        ] {
            if toggle.as_ref().is_some_and(|t| t.enabled) {
                return Err(ApiError::BadRequest(format!(
                    "features.{name} is not offered by this platform"
                )));
            }
        }
    }
    let Some(limit) = body.file_size_limit else {
        return Ok(Json(config_of(&access.project)));
    };
    if !(1..=MAX_FILE_SIZE_LIMIT_BYTES).contains(&limit) {
        return Err(ApiError::BadRequest(format!(
            "fileSizeLimit must be 1 to {MAX_FILE_SIZE_LIMIT_BYTES} bytes"
        )));
    }
    let projects: Api<Project> = Api::all(state.client.clone());
    let written = projects
        .patch(
            &project_ref,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER_FACADE.to_string()),
                ..Default::default()
            },
            &Patch::Merge(json!({"spec": {"storage": {"fileSizeLimitBytes": limit}}})),
        )
        .await
        .map_err(|e| ApiError::kube("updating the storage settings", e))?;
    state
        .index
        .projects
        .wait_for(ObjectRef::from_obj(&written), |cached| {
            includes_write(cached, &written)
        })
        .await;
    Ok(Json(config_of(&written)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_config, update_config))
}
