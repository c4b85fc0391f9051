//! Projects as Studio sees them: listing, creation, detail, settings and
//! keys, status, pause, restore and delete — all on the Project resource
//! and, for keys, the project's keys Secret.

use crate::common::error::ErrorBody;
use std::collections::BTreeMap;
use utoipa_axum::{router::OpenApiRouter, routes};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use supaplane_crds::constants::{
    DATABASE_PASSWORD_KEY, DATABASE_PASSWORD_SECRET_NAME, FIELD_MANAGER_FACADE, LABEL_CREATED_BY,
    LABEL_CREATING, LABEL_MANAGED_BY, LABEL_ORGANIZATION, LABEL_PROJECT, MANAGED_BY_VALUE,
    project_namespace,
};
use supaplane_crds::{
    InstanceSize, PasswordSecretRef, PostgresVersion, Project, ProjectSpec, RestoreFrom,
    SupabaseStatus,
};

use crate::authorization::access::{self, OrganizationAccess, ProjectAccess};
use crate::authorization::permissions::Action;
use crate::authorization::project_keys::read_keys;
use crate::common::error::{ApiError, ApiResult, JsonBody};
use crate::common::shapes::{
    self, CreateProjectResponse, OrganizationProjectsResponse, Pagination, ProjectDetailResponse,
    ProjectSummary, ProjectsResponse, api_url, status_of, status_text,
};
use crate::common::validate;
use crate::identity::caller::Caller;
use crate::index::cache::includes_write;
use crate::index::project_index::Order;
use crate::middleware::limits;
use crate::state::AppState;

/// Paging and ordering of project lists.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ListQuery {
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub offset: Option<usize>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub search: Option<String>,
    #[serde(default)]
    pub statuses: Option<String>,
}

const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

impl ListQuery {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }

    fn offset(&self) -> usize {
        self.offset.unwrap_or(0)
    }

    fn order(&self) -> ApiResult<Order> {
        match self.sort.as_deref().unwrap_or("name_asc") {
            "name_asc" => Ok(Order::NameAscending),
            "name_desc" => Ok(Order::NameDescending),
            "created_asc" => Ok(Order::CreatedAscending),
            "created_desc" => Ok(Order::CreatedDescending),
            other => Err(ApiError::BadRequest(format!(
                "sort {other:?} is not one of name_asc, name_desc, created_asc, created_desc"
            ))),
        }
    }

    /// The search text, lowercased, when there is one.
    fn search(&self) -> Option<String> {
        self.search
            .as_deref()
            .map(str::to_lowercase)
            .filter(|s| !s.is_empty())
    }

    /// The statuses asked for, when any.
    fn statuses(&self) -> Option<Vec<&str>> {
        self.statuses
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| s.split(',').map(str::trim).collect())
    }

    /// Filters by search text and statuses, sorts, and cuts one page of
    /// `items` (each naming its project through `project`); returns the
    /// page and the count before paging.
    fn page<T>(
        &self,
        mut items: Vec<T>,
        project: impl Fn(&T) -> &Project,
    ) -> ApiResult<(Vec<T>, usize)> {
        if let Some(search) = self.search() {
            items.retain(|item| {
                let p = project(item);
                p.spec.display_name.to_lowercase().contains(&search)
                    || p.name_any().contains(&search)
            });
        }
        if let Some(wanted) = self.statuses() {
            items.retain(|item| wanted.contains(&status_of(project(item)).as_str()));
        }
        // Compared in place: no key is built per project per request.
        let by_name = |a: &T, b: &T| {
            let (a, b) = (project(a), project(b));
            a.spec
                .display_name
                .chars()
                .flat_map(char::to_lowercase)
                .cmp(b.spec.display_name.chars().flat_map(char::to_lowercase))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        };
        let by_creation = |a: &T, b: &T| {
            let (a, b) = (project(a), project(b));
            a.metadata
                .creation_timestamp
                .cmp(&b.metadata.creation_timestamp)
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        };
        match self.order()? {
            Order::NameAscending => items.sort_by(by_name),
            Order::NameDescending => {
                items.sort_by(by_name);
                items.reverse();
            }
            Order::CreatedAscending => items.sort_by(by_creation),
            Order::CreatedDescending => {
                items.sort_by(by_creation);
                items.reverse();
            }
        }
        let count = items.len();
        let page = items
            .into_iter()
            .skip(self.offset())
            .take(self.limit())
            .collect();
        Ok((page, count))
    }
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/projects", tag = "projects", responses((status = 200, body = OrganizationProjectsResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn organization_projects(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<axum::response::Response> {
    access::organization(&state.index, &caller, &slug)?;
    let (search, statuses) = (query.search(), query.statuses());
    let (order, offset, limit) = (query.order()?, query.offset(), query.limit());
    // The page Studio shows on every visit (no search, no status filter)
    // is answered as kept while the organization's list is unchanged.
    let unfiltered = search.is_none() && statuses.is_none();
    let key = (slug.clone(), order, offset, limit);
    if unfiltered
        && let Some(body) = state
            .index
            .page_cache
            .get(&key, state.index.project_index.generation(&slug))
    {
        return Ok(json_response(body));
    }
    let page = state.index.project_index.page(
        &slug,
        |p| {
            search.as_deref().is_none_or(|search| p.matches(search))
                && statuses
                    .as_ref()
                    .is_none_or(|wanted| wanted.contains(&p.status.as_str()))
        },
        order,
        offset,
        limit,
    );
    // `OrganizationProjectsResponse`, from each project's piece.
    let pagination = Pagination {
        count: page.count,
        limit,
        offset,
    };
    let mut body = b"{\"pagination\":".to_vec();
    serde_json::to_writer(&mut body, &pagination)
        .map_err(|e| ApiError::Internal(format!("writing the page: {e}")))?;
    body.extend_from_slice(b",\"projects\":");
    body.extend_from_slice(&crate::index::project_index::json_array(&page.pieces));
    body.push(b'}');
    let body = bytes::Bytes::from(body);
    if unfiltered {
        state
            .index
            .page_cache
            .put(key, page.generation, body.clone());
    }
    Ok(json_response(body))
}

fn json_response(body: bytes::Bytes) -> axum::response::Response {
    axum::response::IntoResponse::into_response((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    ))
}

#[utoipa::path(get, path = "/platform/projects", tag = "projects", responses((status = 200, body = ProjectsResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn all_projects(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<ProjectsResponse>> {
    let (page, count) = query.page(access::projects_of(&state.index, &caller), |a| &a.project)?;
    let projects = page
        .iter()
        .map(|a| ProjectSummary::new(&a.project, &a.organization))
        .collect();
    Ok(Json(ProjectsResponse {
        pagination: Pagination {
            count,
            limit: query.limit(),
            offset: query.offset(),
        },
        projects,
    }))
}

/// Region choice as Studio sends it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegionSelection {
    #[serde(rename = "type")]
    pub kind: String,
    pub code: String,
}

/// `CreateProjectBody`: what Studio (and, with a subset, `/v1`) sends.
/// Fields we do not use are accepted and ignored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CreateProjectBody {
    /// 1 to 64 letters, digits, spaces and `- _ . ( )`; no `--`.
    #[schema(min_length = 1, max_length = 64)]
    pub name: String,
    #[schema(min_length = 1, max_length = 63)]
    pub organization_slug: String,
    /// 8 to 256 characters, no control characters, no spaces at either end.
    #[schema(min_length = 8, max_length = 256)]
    pub db_pass: String,
    #[serde(default)]
    pub db_region: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub region_selection: Option<RegionSelection>,
    #[serde(default)]
    pub desired_instance_size: Option<String>,
    #[serde(default)]
    pub postgres_engine: Option<String>,
}

/// What a valid create request asks for.
struct NewProject {
    name: String,
    /// The backup the project is made from, if any.
    restore_from: Option<RestoreFrom>,
    region: String,
    instance_size: InstanceSize,
    postgres_version: PostgresVersion,
}

const PASSWORD_MIN: usize = 8;
const PASSWORD_MAX: usize = 256;

fn check_create(state: &AppState, body: &CreateProjectBody) -> ApiResult<NewProject> {
    let name = validate::display_name("name", &body.name)?;
    validate::password("db_pass", &body.db_pass, PASSWORD_MIN, PASSWORD_MAX)?;
    let regions = state.config.regions();
    let asked = body
        .region_selection
        .as_ref()
        .filter(|s| s.kind == "specific")
        .map(|s| s.code.clone())
        .or_else(|| body.db_region.clone())
        .or_else(|| body.region.clone());
    let region = match asked {
        // A configured region, by code or by the name Studio shows.
        Some(asked) => match regions
            .iter()
            .find(|r| r.code == asked || r.name.eq_ignore_ascii_case(&asked))
        {
            Some(region) => region.code.clone(),
            // Studio without smart regions offers its own region names;
            // every project runs on this cluster, so any such name is kept
            // as the label the user chose.
            None => validate::display_name("db_region", &asked)?,
        },
        // A smart group ("closest region") or nothing: the first region.
        None => regions
            .first()
            .map(|r| r.code.clone())
            .unwrap_or_else(|| "local".into()),
    };
    let sizes = &state.config.instance_sizes;
    let instance_size = match body.desired_instance_size.as_deref() {
        None => InstanceSize::default(),
        Some(size) => sizes
            .iter()
            .any(|offered| offered == size)
            .then(|| serde_json::from_value::<InstanceSize>(json!(size)).ok())
            .flatten()
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "desired_instance_size {size:?} is not offered; choose one of {}",
                    sizes.join(", ")
                ))
            })?,
    };
    let postgres_version = match body.postgres_engine.as_deref() {
        None => PostgresVersion::default(),
        Some(engine) => PostgresVersion::from_major(engine).ok_or_else(|| {
            let offered: Vec<&str> = PostgresVersion::ALL.iter().map(|v| v.major()).collect();
            ApiError::BadRequest(format!(
                "postgres_engine {engine:?} is not offered; choose one of {}",
                offered.join(", ")
            ))
        })?,
    };
    Ok(NewProject {
        name,
        restore_from: None,
        region,
        instance_size,
        postgres_version,
    })
}

fn facade_labels(project_ref: &str, organization: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()),
        (LABEL_PROJECT.to_string(), project_ref.to_string()),
        (LABEL_ORGANIZATION.to_string(), organization.to_string()),
    ])
}

/// Creates a project: its namespace, the Secret with the database password
/// (a password never goes into a spec), then the Project.
///
/// As seen from outside this is all or nothing. The steps run in a task of
/// their own, so a caller who goes away (a reset connection, the request
/// timeout) does not stop them half-way; a failed step removes what the
/// earlier ones made; and the namespace carries `supaplane.io/creating`
/// until the Project exists, so what a crash leaves is collected by the
/// operator's sweep (`operator/src/orphans.rs`).
pub async fn create_project(
    state: &AppState,
    caller: &Caller,
    body: &CreateProjectBody,
) -> ApiResult<(Project, OrganizationAccess)> {
    create_project_from(state, caller, body, None).await
}

/// [`create_project`], made from a backup of another project when
/// `restore_from` says which (the caller checked they may read it).
pub async fn create_project_from(
    state: &AppState,
    caller: &Caller,
    body: &CreateProjectBody,
    restore_from: Option<RestoreFrom>,
) -> ApiResult<(Project, OrganizationAccess)> {
    let organization = access::organization(&state.index, caller, &body.organization_slug)?;
    organization.require(Action::CreateProject)?;
    let mut new = check_create(state, body)?;
    new.restore_from = restore_from;
    let slug = organization.slug();
    let creator = label_safe_user(&caller.user_id);
    let projects = state.index.projects.state();
    limits::check(
        "projects per organization",
        projects
            .iter()
            .filter(|p| p.spec.organization == slug)
            .count(),
        state.config.max_projects_per_organization,
        "--max-projects-per-organization",
    )?;
    limits::check(
        "projects created per user",
        projects
            .iter()
            .filter(|p| p.labels().get(LABEL_CREATED_BY) == Some(&creator))
            .count(),
        state.config.max_projects_per_user,
        "--max-projects-per-user",
    )?;
    if state
        .index
        .projects_in(&slug)
        .iter()
        .any(|p| p.spec.display_name.eq_ignore_ascii_case(&new.name))
    {
        return Err(ApiError::Conflict(format!(
            "A project named {:?} already exists in this organization",
            new.name
        )));
    }
    let steps = create_resources(state.clone(), slug, creator, new, body.db_pass.clone());
    let created = tokio::spawn(async move {
        tokio::time::timeout(CREATE_DEADLINE, steps)
            .await
            .unwrap_or_else(|_| {
                Err(ApiError::Unavailable(
                    "Creating the project took too long; nothing was kept, try again".into(),
                ))
            })
    })
    .await
    .map_err(|e| ApiError::Internal(format!("the project create stopped: {e}")))??;
    state
        .index
        .projects
        .wait_for(ObjectRef::from_obj(&created), |cached| {
            includes_write(cached, &created)
        })
        .await;
    Ok((created, organization))
}

/// Who created a project, as a label value: GoTrue user ids (UUIDs) as
/// they are, anything else by a hash.
fn label_safe_user(user_id: &str) -> String {
    let fits = !user_id.is_empty()
        && user_id.len() <= 63
        && user_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && user_id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && user_id.ends_with(|c: char| c.is_ascii_alphanumeric());
    if fits {
        user_id.to_string()
    } else {
        crate::common::ids::sha256_hex(user_id)[..40].to_string()
    }
}

/// The longest a create may take before what it made is removed again
/// (well under the operator sweep's grace period).
const CREATE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

async fn create_resources(
    state: AppState,
    slug: String,
    creator: String,
    new: NewProject,
    db_pass: String,
) -> ApiResult<Project> {
    let project_ref = validate::random_ref();
    let namespace_name = project_namespace(&project_ref);
    let labels = facade_labels(&project_ref, &slug);
    let mut namespace_labels = labels.clone();
    namespace_labels.insert(LABEL_CREATING.to_string(), "true".to_string());

    let namespaces: Api<Namespace> = Api::all(state.client.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(namespace_name.clone()),
            labels: Some(namespace_labels),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &namespace)
        .await
        .map_err(|e| ApiError::kube("creating the project namespace", e))?;

    let result = async {
        let secrets: Api<Secret> = Api::namespaced(state.client.clone(), &namespace_name);
        let password = Secret {
            metadata: ObjectMeta {
                name: Some(DATABASE_PASSWORD_SECRET_NAME.to_string()),
                labels: Some(labels.clone()),
                ..Default::default()
            },
            string_data: Some(BTreeMap::from([(
                DATABASE_PASSWORD_KEY.to_string(),
                db_pass,
            )])),
            ..Default::default()
        };
        secrets
            .create(&PostParams::default(), &password)
            .await
            .map_err(|e| ApiError::kube("storing the database password", e))?;
        let mut project = Project::new(
            &project_ref,
            ProjectSpec {
                organization: slug.clone(),
                display_name: new.name.clone(),
                region: new.region.clone(),
                instance_size: new.instance_size,
                postgres_version: new.postgres_version,
                paused: false,
                deletion_policy: Default::default(),
                backups: Default::default(),
                restore_from: new.restore_from.clone().map(Box::new),
                database: Default::default(),
                components: Default::default(),
                auth: Default::default(),
                storage: Default::default(),
            },
        );
        project.spec.database.password_secret_ref = Some(PasswordSecretRef {
            name: DATABASE_PASSWORD_SECRET_NAME.to_string(),
            key: DATABASE_PASSWORD_KEY.to_string(),
        });
        project.metadata.labels = Some(BTreeMap::from([
            (LABEL_ORGANIZATION.to_string(), slug.clone()),
            (LABEL_CREATED_BY.to_string(), creator),
        ]));
        let projects: Api<Project> = Api::all(state.client.clone());
        projects
            .create(&PostParams::default(), &project)
            .await
            .map_err(|e| ApiError::kube("creating the project", e))
    }
    .await;

    match result {
        Ok(created) => {
            // Complete: the namespace is no longer the sweep's. Should this
            // fail, the sweep sees the Project and takes the label off.
            let done = json!({"metadata": {"labels": {LABEL_CREATING: null}}});
            if let Err(error) = namespaces
                .patch(
                    &namespace_name,
                    &PatchParams::default(),
                    &Patch::Merge(&done),
                )
                .await
            {
                tracing::warn!(namespace = %namespace_name, %error, "could not mark the project namespace complete");
            }
            Ok(created)
        }
        Err(error) => {
            // Nothing half-created: the namespace takes the Secret with it.
            if let Err(cleanup) = namespaces
                .delete(&namespace_name, &DeleteParams::background())
                .await
            {
                tracing::error!(namespace = %namespace_name, error = %cleanup, "could not remove the namespace of a failed project create; the operator's sweep will");
            }
            Err(error)
        }
    }
}

#[utoipa::path(post, path = "/platform/projects", tag = "projects", request_body = CreateProjectBody, responses((status = 201, body = CreateProjectResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateProjectBody>,
) -> ApiResult<(StatusCode, Json<CreateProjectResponse>)> {
    let (project, organization) = create_project(&state, &caller, &body).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreateProjectResponse {
            summary: ProjectSummary::new(&project, &organization.organization),
            endpoint: api_url(&project, &state.config),
            anon_key: String::new(),
            service_key: String::new(),
        }),
    ))
}

#[utoipa::path(get, path = "/platform/projects/{ref}", tag = "projects", responses((status = 200, body = ProjectDetailResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn detail(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ProjectDetailResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(ProjectDetailResponse::new(
        &access.project,
        &access.organization,
        &state.config,
    )))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct UpdateProjectBody {
    /// 1 to 64 letters, digits, spaces and `- _ . ( )`; no `--`.
    #[schema(min_length = 1, max_length = 64)]
    name: String,
}

/// `ProjectRefResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProjectRefResponse {
    pub id: u64,
    #[serde(rename = "ref")]
    pub project_ref: String,
    pub name: String,
}

impl ProjectRefResponse {
    pub fn new(project: &Project) -> Self {
        ProjectRefResponse {
            id: shapes::uid_id(&project.metadata),
            project_ref: project.name_any(),
            name: project.spec.display_name.clone(),
        }
    }
}

/// Merge-patches a Project's spec and waits until the cache shows it.
async fn patch_spec(
    state: &AppState,
    project_ref: &str,
    spec: serde_json::Value,
) -> ApiResult<Project> {
    let api: Api<Project> = Api::all(state.client.clone());
    let written = api
        .patch(
            project_ref,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER_FACADE.to_string()),
                ..Default::default()
            },
            &Patch::Merge(json!({ "spec": spec })),
        )
        .await
        .map_err(|e| ApiError::kube("updating the project", e))?;
    state
        .index
        .projects
        .wait_for(ObjectRef::from_obj(&written), |cached| {
            includes_write(cached, &written)
        })
        .await;
    Ok(written)
}

#[utoipa::path(patch, path = "/platform/projects/{ref}", tag = "projects", request_body = UpdateProjectBody, responses((status = 200, body = ProjectRefResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<UpdateProjectBody>,
) -> ApiResult<Json<ProjectRefResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    access.require(Action::ManageProject)?;
    let name = validate::display_name("name", &body.name)?;
    let written = patch_spec(&state, &project_ref, json!({ "displayName": name })).await?;
    Ok(Json(ProjectRefResponse::new(&written)))
}

/// Pauses or restores a project by flipping `spec.paused`; the operator
/// does the rest and reports it in status.
pub async fn set_paused(
    state: &AppState,
    access: &ProjectAccess,
    paused: bool,
) -> ApiResult<Project> {
    access.require(Action::ManageProject)?;
    let status = status_of(&access.project);
    if status == SupabaseStatus::GoingDown {
        return Err(ApiError::BadRequest("The project is being deleted".into()));
    }
    if access.project.spec.paused == paused {
        let state_name = if paused { "paused" } else { "running" };
        return Err(ApiError::BadRequest(format!(
            "The project is already {state_name}"
        )));
    }
    patch_spec(state, &access.reference(), json!({ "paused": paused })).await
}

#[utoipa::path(post, path = "/platform/projects/{ref}/pause", tag = "projects", responses((status = 200), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<StatusCode> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    set_paused(&state, &access, true).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(post, path = "/platform/projects/{ref}/restore", tag = "projects", responses((status = 200, body = ProjectRefResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn restore(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ProjectRefResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let written = set_paused(&state, &access, false).await?;
    Ok(Json(ProjectRefResponse::new(&written)))
}

/// `PauseStatusResponse`: a paused project can always be restored here;
/// its newest backup in its bucket can be downloaded.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct PauseStatusResponse {
    can_restore: bool,
    last_paused_on: Option<String>,
    latest_downloadable_backup_id: Option<u64>,
    max_days_till_restore_disabled: u32,
    remaining_days_till_restore_disabled: Option<u32>,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/pause/status", tag = "projects", responses((status = 200, body = PauseStatusResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn pause_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<PauseStatusResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(PauseStatusResponse {
        can_restore: access.project.spec.paused,
        last_paused_on: None,
        latest_downloadable_backup_id: crate::api::platform::backup_downloads::downloadable(
            &state,
            &access.project,
        )
        .await?
        .first()
        .map(|b| b.id),
        max_days_till_restore_disabled: 0,
        remaining_days_till_restore_disabled: None,
    }))
}

/// Deletes the Project; its finalizer tears the stack down per its policy.
pub async fn delete_project(state: &AppState, access: &ProjectAccess) -> ApiResult<()> {
    access.require(Action::ManageProject)?;
    let api: Api<Project> = Api::all(state.client.clone());
    api.delete(&access.reference(), &DeleteParams::default())
        .await
        .map_err(|e| ApiError::kube("deleting the project", e))?;
    state
        .index
        .projects
        .wait_for(ObjectRef::from_obj(&*access.project), |cached| {
            cached.is_none_or(|p| p.metadata.deletion_timestamp.is_some())
        })
        .await;
    Ok(())
}

#[utoipa::path(delete, path = "/platform/projects/{ref}", tag = "projects", responses((status = 200, body = ProjectRefResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ProjectRefResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    delete_project(&state, &access).await?;
    Ok(Json(ProjectRefResponse::new(&access.project)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProjectStatusResponse {
    status: String,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/status", tag = "projects", responses((status = 200, body = ProjectStatusResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn project_status(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ProjectStatusResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(ProjectStatusResponse {
        status: status_text(status_of(&access.project)),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ServiceApiKey {
    api_key: String,
    name: &'static str,
    tags: &'static str,
}

/// Studio builds URLs as `{protocol}://{endpoint}`: hosts without scheme.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct AppConfig {
    db_schema: &'static str,
    endpoint: String,
    storage_endpoint: String,
    protocol: String,
}

/// `ProjectSettingsResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ProjectSettingsResponse {
    #[serde(rename = "ref")]
    project_ref: String,
    name: String,
    status: String,
    region: String,
    cloud_provider: &'static str,
    inserted_at: String,
    db_host: String,
    db_dns_name: String,
    db_ip_addr_config: &'static str,
    db_name: &'static str,
    db_port: i32,
    db_user: &'static str,
    ssl_enforced: bool,
    app_config: AppConfig,
    service_api_keys: Vec<ServiceApiKey>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt_secret: Option<String>,
    is_sensitive: bool,
}

fn app_config(api_url: &str) -> AppConfig {
    let (protocol, host) = api_url.split_once("://").unwrap_or(("https", api_url));
    let host = host.trim_end_matches('/').to_string();
    AppConfig {
        db_schema: "public",
        storage_endpoint: host.clone(),
        endpoint: host,
        protocol: protocol.to_string(),
    }
}

#[utoipa::path(get, path = "/platform/projects/{ref}/settings", tag = "projects", responses((status = 200, body = ProjectSettingsResponse), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn settings(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<ProjectSettingsResponse>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let keys = read_keys(&state.client, &access).await?;
    let project = &access.project;
    let endpoint = api_url(project, &state.config);
    let mut service_api_keys = Vec::new();
    if let Some(anon) = keys.anon_key {
        service_api_keys.push(ServiceApiKey {
            api_key: anon,
            name: "anon key",
            tags: "anon",
        });
    }
    if let Some(service) = keys.service_role_key {
        service_api_keys.push(ServiceApiKey {
            api_key: service,
            name: "service_role key",
            tags: "service_role",
        });
    }
    let host = shapes::database_host(project);
    Ok(Json(ProjectSettingsResponse {
        project_ref: project.name_any(),
        name: project.spec.display_name.clone(),
        status: status_text(status_of(project)),
        region: project.spec.region.clone(),
        cloud_provider: shapes::CLOUD_PROVIDER,
        inserted_at: shapes::created_at(&project.metadata),
        db_dns_name: host.clone(),
        db_host: host,
        db_ip_addr_config: "ipv4",
        db_name: "postgres",
        db_port: shapes::database_port(project),
        db_user: "postgres",
        ssl_enforced: false,
        app_config: app_config(&endpoint),
        service_api_keys,
        jwt_secret: keys.jwt_secret,
        is_sensitive: false,
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DatabaseDetail {
    identifier: String,
    db_host: String,
    db_name: &'static str,
    db_port: i32,
    db_user: &'static str,
    #[serde(rename = "restUrl")]
    rest_url: String,
    #[serde(rename = "connectionString")]
    connection_string: Option<String>,
    region: String,
    cloud_provider: &'static str,
    status: String,
    size: String,
    inserted_at: String,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/databases", tag = "projects", responses((status = 200, body = Vec<DatabaseDetail>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn databases(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<DatabaseDetail>>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    let detail = ProjectDetailResponse::new(&access.project, &access.organization, &state.config);
    Ok(Json(vec![DatabaseDetail {
        identifier: project_ref,
        db_host: detail.db_host,
        db_name: "postgres",
        db_port: shapes::database_port(&access.project),
        db_user: "postgres",
        rest_url: detail.rest_url,
        connection_string: detail.connection_string,
        region: detail.region,
        cloud_provider: shapes::CLOUD_PROVIDER,
        status: shapes::database_status(status_of(&access.project)).to_string(),
        size: detail.infra_compute_size,
        inserted_at: detail.inserted_at,
    }]))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct DatabaseStatus {
    identifier: String,
    status: String,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/databases-statuses", tag = "projects", responses((status = 200, body = Vec<DatabaseStatus>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn databases_statuses(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<Vec<DatabaseStatus>>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(vec![DatabaseStatus {
        identifier: project_ref,
        status: shapes::database_status(status_of(&access.project)).to_string(),
    }]))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SmartGroup {
    code: &'static str,
    name: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SpecificRegion {
    code: String,
    name: String,
    provider: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RegionChoices {
    #[serde(rename = "smartGroup")]
    smart_group: Vec<SmartGroup>,
    specific: Vec<SpecificRegion>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RegionRecommendations {
    #[serde(rename = "smartGroup")]
    smart_group: SmartGroup,
    specific: Vec<SpecificRegion>,
}

/// `RegionsInfo`, from the facade's configured regions.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct RegionsInfo {
    all: RegionChoices,
    recommendations: RegionRecommendations,
}

#[utoipa::path(get, path = "/platform/projects/available-regions", tag = "projects", responses((status = 200, body = RegionsInfo), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Not signed in", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn available_regions(State(state): State<AppState>, _caller: Caller) -> Json<RegionsInfo> {
    let specific = || {
        state
            .config
            .regions()
            .into_iter()
            .map(|r| SpecificRegion {
                code: r.code,
                name: r.name,
                provider: shapes::CLOUD_PROVIDER,
                kind: "specific",
            })
            .collect::<Vec<_>>()
    };
    Json(RegionsInfo {
        all: RegionChoices {
            smart_group: Vec::new(),
            specific: specific(),
        },
        recommendations: RegionRecommendations {
            // Studio requires one recommended group and preselects the region
            // whose name it carries. No groups are offered (each region is a
            // place projects really run), so it names the first region; the
            // code is one of the values Studio's type allows, unused without
            // groups.
            smart_group: SmartGroup {
                code: "americas",
                name: specific()
                    .first()
                    .map(|r| r.name.clone())
                    .unwrap_or_default(),
                kind: "smartGroup",
            },
            specific: specific().into_iter().take(1).collect(),
        },
    })
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(all_projects, create))
        .routes(routes!(available_regions))
        .routes(routes!(organization_projects))
        .routes(routes!(detail, rename, remove))
        .routes(routes!(project_status))
        .routes(routes!(settings))
        .routes(routes!(pause))
        .routes(routes!(pause_status))
        .routes(routes!(restore))
        .routes(routes!(databases))
        .routes(routes!(databases_statuses))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, display_name: &str, created: &str) -> Project {
        Project::test(name)
            .displayed_as(display_name)
            .created_at(created)
    }

    fn order(sort: &str, projects: &[Project]) -> Vec<String> {
        let query = ListQuery {
            limit: None,
            offset: None,
            sort: Some(sort.into()),
            search: None,
            statuses: None,
        };
        let (page, _) = query
            .page(projects.iter().collect(), |p| p)
            .expect("a page");
        page.iter().map(|p| p.name_any()).collect()
    }

    #[test]
    fn pages_sort_by_name_ignoring_case_then_ref_and_by_creation() {
        let projects = [
            project("c", "beta", "2026-12-01T03:00:00Z"),
            project("b", "Alpha", "2026-12-01T01:00:00Z"),
            project("a", "alpha", "2026-12-01T02:00:00Z"),
            project("d", "Ärger", "2026-11-30T00:00:00Z"),
        ];
        assert_eq!(order("name_asc", &projects), ["a", "b", "c", "d"]);
        assert_eq!(order("name_desc", &projects), ["d", "c", "b", "a"]);
        assert_eq!(order("created_asc", &projects), ["d", "b", "a", "c"]);
        assert_eq!(order("created_desc", &projects), ["c", "a", "b", "d"]);
    }
}
