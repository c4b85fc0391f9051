//! Studio's auth-user and storage pages, on each project's own GoTrue admin
//! API and Storage API, called server-side with the project's service_role
//! key (which never reaches the browser). Upstream answers come back as
//! they are; an unreachable or paused project answers 503.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Method, header};
use axum::response::Response;
use http_body_util::Full;
use serde::Deserialize;
use serde_json::{Value, json};
use supaplane_crds::constants::keys_secret;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access::{self, ProjectAccess};
use crate::authorization::permissions::Action;
use crate::authorization::project_keys::KeysSecret;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::common::validate;
use crate::identity::caller::Caller;
use crate::state::AppState;
use crate::upstream::relay::{relay, require_running};

#[derive(Debug, Clone, Copy)]
enum Service {
    Auth,
    Storage,
}

impl Service {
    fn base(self, state: &AppState, project_ref: &str) -> String {
        let template = match self {
            Service::Auth => &state.config.auth_url,
            Service::Storage => &state.config.storage_url,
        };
        template
            .replace("{ref}", project_ref)
            .trim_end_matches('/')
            .to_string()
    }

    fn name(self) -> &'static str {
        match self {
            Service::Auth => "auth",
            Service::Storage => "storage",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Service::Auth => "auth service",
            Service::Storage => "storage service",
        }
    }
}

async fn service_key(state: &AppState, access: &ProjectAccess) -> ApiResult<String> {
    KeysSecret::read(&state.client, access)
        .await?
        .entry(keys_secret::SERVICE_ROLE_KEY)
        .ok_or_else(|| {
            ApiError::Unavailable(format!(
                "Project {} has no keys yet; try again when it is up",
                access.reference()
            ))
        })
}

/// Calls one of the project's services as its service role and relays the
/// answer.
async fn call(
    state: &AppState,
    access: &ProjectAccess,
    service: Service,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> ApiResult<Response> {
    require_running(&access.project)?;
    let key = service_key(state, access).await?;
    let url = format!("{}{path}", service.base(state, &access.reference()));
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(&url)
        .header(header::AUTHORIZATION, format!("Bearer {key}"))
        .header("apikey", &key);
    if !payload.is_empty() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    let request = request
        .body(Full::new(Bytes::from(payload)))
        .map_err(|e| ApiError::Internal(format!("building the {} request: {e}", service.name())))?;
    relay(
        &state.upstream,
        state.config.upstream_timeout(),
        &access.project,
        service.label(),
        request,
    )
    .await
}

fn project_for(
    state: &AppState,
    caller: &Caller,
    project_ref: &str,
    action: Action,
) -> ApiResult<ProjectAccess> {
    let access = access::project(&state.index, caller, project_ref)?;
    access.require(action)?;
    Ok(access)
}

/// `CreateUserBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CreateUserBody {
    #[schema(format = "email", max_length = 320)]
    email: String,
    password: String,
    #[serde(default)]
    email_confirm: bool,
}

#[utoipa::path(post, path = "/platform/auth/{ref}/users", tag = "auth", request_body = CreateUserBody,
    responses((status = 200, description = "GoTrue's user", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let email = crate::common::validate::email(&body.email)?;
    if body.password.chars().count() < 6 {
        return Err(ApiError::BadRequest(
            "password must be at least 6 characters".into(),
        ));
    }
    let payload =
        json!({"email": email, "password": body.password, "email_confirm": body.email_confirm});
    call(
        &state,
        &access,
        Service::Auth,
        Method::POST,
        "/admin/users",
        Some(payload),
    )
    .await
}

/// Fields of a user Studio may change (`UpdateUserBody`), passed to GoTrue.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct UpdateUserBody {
    #[serde(default)]
    ban_duration: Option<String>,
}

#[utoipa::path(patch, path = "/platform/auth/{ref}/users/{id}", tag = "auth", request_body = UpdateUserBody,
    responses((status = 200, description = "GoTrue's user", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let id = validate::path_segment("id", &id)?;
    let payload = json!({"ban_duration": body.ban_duration});
    call(
        &state,
        &access,
        Service::Auth,
        Method::PUT,
        &format!("/admin/users/{id}"),
        Some(payload),
    )
    .await
}

#[utoipa::path(delete, path = "/platform/auth/{ref}/users/{id}", tag = "auth",
    responses((status = 200, description = "Deleted", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let id = validate::path_segment("id", &id)?;
    call(
        &state,
        &access,
        Service::Auth,
        Method::DELETE,
        &format!("/admin/users/{id}"),
        None,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct EmailBody {
    #[schema(format = "email", max_length = 320)]
    email: String,
}

#[utoipa::path(post, path = "/platform/auth/{ref}/invite", tag = "auth", request_body = EmailBody,
    responses((status = 200, description = "GoTrue's invited user", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn invite_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let email = crate::common::validate::email(&body.email)?;
    call(
        &state,
        &access,
        Service::Auth,
        Method::POST,
        "/invite",
        Some(json!({"email": email})),
    )
    .await
}

#[utoipa::path(post, path = "/platform/auth/{ref}/recover", tag = "auth", request_body = EmailBody,
    responses((status = 200, description = "Recovery mail sent", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn recover_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let email = crate::common::validate::email(&body.email)?;
    call(
        &state,
        &access,
        Service::Auth,
        Method::POST,
        "/recover",
        Some(json!({"email": email})),
    )
    .await
}

#[utoipa::path(post, path = "/platform/auth/{ref}/magiclink", tag = "auth", request_body = EmailBody,
    responses((status = 200, description = "Magic link sent", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn magic_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<EmailBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let email = crate::common::validate::email(&body.email)?;
    call(
        &state,
        &access,
        Service::Auth,
        Method::POST,
        "/magiclink",
        Some(json!({"email": email})),
    )
    .await
}

#[utoipa::path(get, path = "/platform/storage/{ref}/buckets", tag = "storage",
    responses((status = 200, description = "The Storage API's buckets", body = Vec<Value>), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_buckets(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::Read)?;
    call(
        &state,
        &access,
        Service::Storage,
        Method::GET,
        "/bucket",
        None,
    )
    .await
}

/// `CreateStorageBucketBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct CreateBucketBody {
    id: String,
    #[serde(default)]
    public: bool,
    #[serde(default)]
    file_size_limit: Option<u64>,
    #[serde(default)]
    allowed_mime_types: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/platform/storage/{ref}/buckets", tag = "storage", request_body = CreateBucketBody,
    responses((status = 200, description = "Created", body = Value), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn create_bucket(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<CreateBucketBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let id = validate::path_segment("id", &body.id)?;
    let payload = json!({
        "id": id, "name": id, "public": body.public,
        "file_size_limit": body.file_size_limit, "allowed_mime_types": body.allowed_mime_types,
    });
    call(
        &state,
        &access,
        Service::Storage,
        Method::POST,
        "/bucket",
        Some(payload),
    )
    .await
}

#[utoipa::path(get, path = "/platform/storage/{ref}/buckets/{id}", tag = "storage",
    responses((status = 200, description = "The bucket", body = Value), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn get_bucket(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::Read)?;
    let id = validate::path_segment("id", &id)?;
    call(
        &state,
        &access,
        Service::Storage,
        Method::GET,
        &format!("/bucket/{id}"),
        None,
    )
    .await
}

/// `UpdateStorageBucketBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct UpdateBucketBody {
    public: bool,
    #[serde(default)]
    file_size_limit: Option<u64>,
    #[serde(default)]
    allowed_mime_types: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/platform/storage/{ref}/buckets/{id}", tag = "storage", request_body = UpdateBucketBody,
    responses((status = 200, description = "Updated", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_bucket(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateBucketBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let id = validate::path_segment("id", &id)?;
    let payload = json!({
        "public": body.public, "file_size_limit": body.file_size_limit,
        "allowed_mime_types": body.allowed_mime_types,
    });
    call(
        &state,
        &access,
        Service::Storage,
        Method::PUT,
        &format!("/bucket/{id}"),
        Some(payload),
    )
    .await
}

#[utoipa::path(delete, path = "/platform/storage/{ref}/buckets/{id}", tag = "storage",
    responses((status = 200, description = "Deleted", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn delete_bucket(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let id = validate::path_segment("id", &id)?;
    call(
        &state,
        &access,
        Service::Storage,
        Method::DELETE,
        &format!("/bucket/{id}"),
        None,
    )
    .await
}

#[utoipa::path(post, path = "/platform/storage/{ref}/buckets/{id}/empty", tag = "storage",
    responses((status = 200, description = "Emptied", body = Value), (status = 403, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn empty_bucket(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::ChangeProjectData)?;
    let id = validate::path_segment("id", &id)?;
    call(
        &state,
        &access,
        Service::Storage,
        Method::POST,
        &format!("/bucket/{id}/empty"),
        None,
    )
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct SortBy {
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    order: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
struct ListOptions {
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    offset: Option<u32>,
    #[serde(default)]
    search: Option<String>,
    #[serde(default, rename = "sortBy")]
    sort_by: Option<SortBy>,
}

/// `GetObjectsBody`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct ListObjectsBody {
    #[serde(default)]
    path: String,
    #[serde(default)]
    options: Option<ListOptions>,
}

#[utoipa::path(post, path = "/platform/storage/{ref}/buckets/{id}/objects/list", tag = "storage", request_body = ListObjectsBody,
    responses((status = 200, description = "The objects under the path", body = Vec<Value>), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn list_objects(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<ListObjectsBody>,
) -> ApiResult<Response> {
    let access = project_for(&state, &caller, &project_ref, Action::Read)?;
    let id = validate::path_segment("id", &id)?;
    let options = body.options.unwrap_or_default();
    let sort = options.sort_by.unwrap_or_default();
    let payload = json!({
        "prefix": body.path,
        "limit": options.limit.unwrap_or(100).min(1000),
        "offset": options.offset.unwrap_or(0),
        "search": options.search.unwrap_or_default(),
        "sortBy": {"column": sort.column.unwrap_or_else(|| "name".into()), "order": sort.order.unwrap_or_else(|| "asc".into())},
    });
    call(
        &state,
        &access,
        Service::Storage,
        Method::POST,
        &format!("/object/list/{id}"),
        Some(payload),
    )
    .await
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(invite_user))
        .routes(routes!(recover_user))
        .routes(routes!(magic_link))
        .routes(routes!(list_buckets, create_bucket))
        .routes(routes!(get_bucket, update_bucket, delete_bucket))
        .routes(routes!(empty_bucket))
        .routes(routes!(list_objects))
}
