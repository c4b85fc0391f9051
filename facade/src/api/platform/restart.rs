//! Restarting a project, or some of its services, from Studio's settings
//! page and from `/v1`: a rolling restart of the workloads, as `kubectl
//! rollout restart` does. The facade asks by annotating the Project
//! (`restart.supaplane.io/<workload>` = now); the operator rolls each
//! workload's pods and reports `RESTARTING` until they are all back.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kube::Api;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use serde::Deserialize;
use serde_json::json;
use supaplane_crds::Project;
use supaplane_crds::constants::{FIELD_MANAGER_FACADE, RESTART_ANNOTATION_PREFIX, WORKLOADS};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access::{self, ProjectAccess};
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult};
use crate::identity::caller::Caller;
use crate::index::cache::includes_write;
use crate::state::AppState;

/// The workload a service name of Studio's (or ours) stands for.
fn workload_of(service: &str) -> Option<&'static str> {
    Some(match service {
        "postgresql" | "postgres" | "db" | "database" => "db",
        "gotrue" | "auth" => "auth",
        "postgrest" | "rest" => "rest",
        "realtime" => "realtime",
        "storage" => "storage",
        "pgmeta" | "pg-meta" | "meta" => "meta",
        "kong" | "gateway" | "api-gateway" => "gateway",
        _ => return None,
    })
}

/// Annotates the Project so the operator restarts `workloads`.
async fn restart(
    state: &AppState,
    access: &ProjectAccess,
    workloads: &[&'static str],
) -> ApiResult<()> {
    access.require(Action::ManageProject)?;
    if access.project.spec.paused {
        return Err(ApiError::Conflict(format!(
            "Project {} is paused; restore it instead",
            access.reference()
        )));
    }
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let annotations: BTreeMap<String, String> = workloads
        .iter()
        .map(|workload| {
            (
                format!("{RESTART_ANNOTATION_PREFIX}{workload}"),
                now.clone(),
            )
        })
        .collect();
    let projects: Api<Project> = Api::all(state.client.clone());
    let written = projects
        .patch(
            &access.reference(),
            &PatchParams {
                field_manager: Some(FIELD_MANAGER_FACADE.to_string()),
                ..Default::default()
            },
            &Patch::Merge(json!({"metadata": {"annotations": annotations}})),
        )
        .await
        .map_err(|e| ApiError::kube("asking for the restart", e))?;
    state
        .index
        .projects
        .wait_for(ObjectRef::from_obj(&written), |cached| {
            includes_write(cached, &written)
        })
        .await;
    tracing::info!(project = %access.reference(), ?workloads, "restart asked");
    Ok(())
}

#[utoipa::path(post, path = "/platform/projects/{ref}/restart", tag = "projects",
    request_body(content = Option<serde_json::Value>, description = "Ignored (Studio sends `{}`)"),
    responses((status = 201, description = "Every workload is being restarted")), security(("bearer" = [])))]
async fn restart_project(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    _body: Bytes,
) -> ApiResult<StatusCode> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    restart(&state, &access, &WORKLOADS).await?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(post, path = "/v1/projects/{ref}/restart", tag = "management api",
    responses((status = 201, description = "Every workload is being restarted")), security(("bearer" = [])))]
async fn restart_project_v1(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<StatusCode> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    restart(&state, &access, &WORKLOADS).await?;
    Ok(StatusCode::CREATED)
}

/// Studio also sends the project's `region`, which is ignored: one cluster
/// serves them all.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct RestartRequest {
    /// Services to restart: `postgresql`, `gotrue`, `postgrest`,
    /// `realtime`, `storage`, `pgmeta`, `kong`.
    #[schema(min_items = 1)]
    services: Vec<String>,
}

/// `RestartServiceBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct RestartServicesBody {
    restart_request: RestartRequest,
}

#[utoipa::path(post, path = "/platform/projects/{ref}/restart-services", tag = "projects",
    request_body = RestartServicesBody,
    responses((status = 201, description = "Those services are being restarted")), security(("bearer" = [])))]
async fn restart_services(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    crate::common::error::JsonBody(body): crate::common::error::JsonBody<RestartServicesBody>,
) -> ApiResult<StatusCode> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let services = &body.restart_request.services;
    if services.is_empty() {
        return Err(ApiError::BadRequest(
            "restartRequest.services must name at least one service".into(),
        ));
    }
    let mut workloads = Vec::new();
    for service in services {
        let workload = workload_of(service).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "{service:?} is not a service of this project: use postgresql, gotrue, postgrest, realtime, storage, pgmeta or kong"
            ))
        })?;
        if !workloads.contains(&workload) {
            workloads.push(workload);
        }
    }
    restart(&state, &access, &workloads).await?;
    Ok(StatusCode::CREATED)
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(restart_project))
        .routes(routes!(restart_project_v1))
        .routes(routes!(restart_services))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_name_maps_to_a_workload_of_the_project() {
        for service in [
            "postgresql",
            "gotrue",
            "postgrest",
            "realtime",
            "storage",
            "pgmeta",
            "kong",
        ] {
            let workload = workload_of(service).expect(service);
            assert!(WORKLOADS.contains(&workload), "{service} → {workload}");
        }
        assert!(workload_of("edge-functions").is_none());
    }
}
