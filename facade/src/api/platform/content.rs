//! Studio's saved SQL snippets, reports and log queries
//! (`/platform/projects/{ref}/content`), kept as `UserContent` objects in
//! the project's namespace.
//!
//! Who sees what, as in Studio: `user` items are their owner's alone,
//! `project` items every member's; favourites are per user. Members who may
//! save content (not Read-only) change their own items; a shared item's
//! owner, or an organization Owner or Administrator, may change it, and
//! anyone who sees it may mark it a favourite for themselves.

use axum::Json;
use axum::extract::{Path, Query, State};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, ListParams, ObjectMeta, PostParams};
use kube::{Api, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use supaplane_crds::constants::project_namespace;
use supaplane_crds::{
    ContentFolder, ContentType, ContentVisibility, Organization, UserContent, UserContentSpec,
};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access::{self, ProjectAccess};
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::common::ids::numeric_id;
use crate::common::shapes::uid_id;
use crate::identity::caller::Caller;
use crate::middleware::limits;
use crate::state::AppState;

/// The largest content (the query and its chart) kept per item, as JSON.
pub const MAX_CONTENT_BYTES: usize = 256 * 1024;
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 1000;

/// The project's content and folders, for one caller.
pub(crate) struct Shelf {
    pub access: ProjectAccess,
    pub items: Api<UserContent>,
    pub folders: Api<ContentFolder>,
}

impl Shelf {
    pub fn open(state: &AppState, caller: &Caller, project_ref: &str) -> ApiResult<Shelf> {
        let access = access::project(&state.index, caller, project_ref)?;
        let namespace = project_namespace(project_ref);
        Ok(Shelf {
            access,
            items: Api::namespaced(state.client.clone(), &namespace),
            folders: Api::namespaced(state.client.clone(), &namespace),
        })
    }

    pub async fn all_items(&self) -> ApiResult<Vec<UserContent>> {
        Ok(self
            .items
            .list(&ListParams::default())
            .await
            .map_err(|e| ApiError::kube("reading saved content", e))?
            .items)
    }

    /// The caller's visible items of `wanted_type` (any when None) whose
    /// name matches `page`'s search.
    pub async fn visible_items(
        &self,
        caller: &Caller,
        wanted_type: Option<ContentType>,
        page: &Page,
    ) -> ApiResult<Vec<UserContent>> {
        Ok(self
            .all_items()
            .await?
            .into_iter()
            .filter(|item| visible(item, caller))
            .filter(|item| wanted_type.is_none_or(|t| item.spec.content_type == t))
            .filter(|item| page.name_matches(item))
            .collect())
    }

    /// Item `id`, if the caller sees it.
    pub async fn visible_item(&self, caller: &Caller, id: &str) -> ApiResult<Option<UserContent>> {
        Ok(self
            .items
            .get_opt(id)
            .await
            .map_err(|e| ApiError::kube("reading saved content", e))?
            .filter(|item| visible(item, caller)))
    }

    pub async fn folders_of(&self, caller: &Caller) -> ApiResult<Vec<ContentFolder>> {
        Ok(self
            .folders
            .list(&ListParams::default())
            .await
            .map_err(|e| ApiError::kube("reading snippet folders", e))?
            .items
            .into_iter()
            .filter(|folder| folder.spec.owner == caller.user_id)
            .collect())
    }

    pub fn project_id(&self) -> u64 {
        uid_id(&self.access.project.metadata)
    }
}

/// Whether the caller sees the item at all.
pub(crate) fn visible(item: &UserContent, caller: &Caller) -> bool {
    item.spec.visibility == ContentVisibility::Project || item.spec.owner == caller.user_id
}

/// Whether the caller may change (or delete) a visible item.
fn may_change(item: &UserContent, caller: &Caller, access: &ProjectAccess) -> bool {
    item.spec.owner == caller.user_id
        || (item.spec.visibility == ContentVisibility::Project
            && access.require(Action::ManageProject).is_ok())
}

/// Content ids are the UUIDs Studio makes; they name the objects.
pub(crate) fn content_id(text: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(text)
        .map(|id| id.hyphenated().to_string())
        .map_err(|_| ApiError::BadRequest(format!("Invalid uuid: {text:?}")))
}

fn not_found() -> ApiError {
    ApiError::NotFound("Content not found.".into())
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct UserRef {
    id: u64,
    username: String,
}

fn user_ref(organization: &Organization, user_id: &str) -> UserRef {
    let username = organization
        .spec
        .members
        .iter()
        .find(|member| member.user_id == user_id)
        .and_then(|member| member.email.split('@').next())
        .unwrap_or_default()
        .to_string();
    UserRef {
        id: numeric_id(user_id),
        username,
    }
}

/// One item as Studio reads it in lists, folders and by id.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub(crate) struct ContentItem {
    id: String,
    /// `sql`, `report` or `log_sql`.
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    content_type: ContentType,
    name: String,
    description: String,
    /// `user` or `project`.
    #[schema(value_type = String)]
    visibility: ContentVisibility,
    /// For the caller.
    favorite: bool,
    folder_id: Option<String>,
    owner_id: u64,
    project_id: u64,
    owner: UserRef,
    updated_by: UserRef,
    inserted_at: String,
    updated_at: String,
    #[schema(value_type = Object)]
    content: Map<String, Value>,
}

pub(crate) fn item_view(item: &UserContent, shelf: &Shelf, caller: &Caller) -> ContentItem {
    let organization = &shelf.access.organization;
    ContentItem {
        id: item.name_any(),
        content_type: item.spec.content_type,
        name: item.spec.name.clone(),
        description: item.spec.description.clone(),
        visibility: item.spec.visibility,
        favorite: item.spec.favorite_of.contains(&caller.user_id),
        folder_id: item.spec.folder.clone(),
        owner_id: numeric_id(&item.spec.owner),
        project_id: shelf.project_id(),
        owner: user_ref(organization, &item.spec.owner),
        updated_by: user_ref(organization, &item.spec.updated_by),
        inserted_at: item
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| t.0.to_string())
            .unwrap_or_default(),
        updated_at: item.spec.updated_at.clone(),
        content: item.spec.content.clone(),
    }
}

/// Paging, sorting and name search, as Studio sends them.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// Where the previous page ended (its `cursor`).
    cursor: Option<String>,
    /// 1 to 1000 (default 100).
    limit: Option<String>,
    /// Part of the name, any case.
    name: Option<String>,
    /// `name` or `inserted_at` (default).
    sort_by: Option<String>,
    /// `asc` or `desc` (default `desc`).
    sort_order: Option<String>,
}

impl Page {
    pub fn name_matches(&self, item: &UserContent) -> bool {
        self.name.as_deref().is_none_or(|wanted| {
            item.spec
                .name
                .to_lowercase()
                .contains(&wanted.to_lowercase())
        })
    }

    /// Sorts `items` and cuts this page: the page and the next cursor.
    pub fn cut(
        &self,
        mut items: Vec<UserContent>,
    ) -> ApiResult<(Vec<UserContent>, Option<String>)> {
        let limit = match self.limit.as_deref() {
            None => DEFAULT_PAGE,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!("limit {text:?} must be 1 to {MAX_PAGE}"))
                })?,
        };
        let start = match self.cursor.as_deref() {
            None | Some("") => 0,
            Some(text) => text.parse::<usize>().map_err(|_| {
                ApiError::BadRequest(format!("cursor {text:?} is not one this API gave"))
            })?,
        };
        let descending = match self.sort_order.as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "sort_order {other:?} must be asc or desc"
                )));
            }
        };
        match self.sort_by.as_deref() {
            None | Some("inserted_at") => items.sort_by_key(|item| {
                (
                    item.metadata.creation_timestamp.clone().map(|t| t.0),
                    item.name_any(),
                )
            }),
            Some("name") => {
                items.sort_by_key(|item| (item.spec.name.to_lowercase(), item.name_any()))
            }
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "sort_by {other:?} must be name or inserted_at"
                )));
            }
        }
        if descending {
            items.reverse();
        }
        let total = items.len();
        let page: Vec<UserContent> = items.into_iter().skip(start).take(limit).collect();
        let next = (start + limit < total).then(|| (start + limit).to_string());
        Ok((page, next))
    }
}

fn parse_type(text: Option<&str>) -> ApiResult<Option<ContentType>> {
    text.map(|text| {
        serde_json::from_value(Value::String(text.into())).map_err(|_| {
            ApiError::BadRequest(format!("type {text:?} must be sql, report or log_sql"))
        })
    })
    .transpose()
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `sql`, `report` or `log_sql`.
    #[serde(rename = "type")]
    content_type: Option<String>,
    /// `user` (the caller's own) or `project` (shared).
    visibility: Option<String>,
    /// `true`: only the caller's favourites.
    favorite: Option<bool>,
}

/// `GetUserContentResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ContentPage {
    data: Vec<ContentItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/content", tag = "content", params(ListQuery, Page), responses((status = 200, body = ContentPage), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(query): Query<ListQuery>,
    Query(page): Query<Page>,
) -> ApiResult<Json<ContentPage>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    let wanted_type = parse_type(query.content_type.as_deref())?;
    let visibility = match query.visibility.as_deref() {
        None => None,
        Some("user") => Some(ContentVisibility::User),
        Some("project") => Some(ContentVisibility::Project),
        // Studio's `org` and `public` are not offered: nothing is either.
        Some("org" | "public") => {
            return Ok(Json(ContentPage {
                data: Vec::new(),
                cursor: None,
            }));
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "visibility {other:?} must be user or project"
            )));
        }
    };
    let items: Vec<UserContent> = shelf
        .visible_items(&caller, wanted_type, &page)
        .await?
        .into_iter()
        .filter(|item| visibility.is_none_or(|v| item.spec.visibility == v))
        .filter(|item| {
            query.favorite != Some(true) || item.spec.favorite_of.contains(&caller.user_id)
        })
        .collect();
    let (items, cursor) = page.cut(items)?;
    Ok(Json(ContentPage {
        data: items
            .iter()
            .map(|item| item_view(item, &shelf, &caller))
            .collect(),
        cursor,
    }))
}

#[utoipa::path(get, path = "/platform/projects/{ref}/content/item/{id}", tag = "content", responses((status = 200, body = ContentItem), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn item(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
) -> ApiResult<Json<ContentItem>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    let id = content_id(&id)?;
    let item = shelf
        .visible_item(&caller, &id)
        .await?
        .ok_or_else(not_found)?;
    Ok(Json(item_view(&item, &shelf, &caller)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct CountQuery {
    /// `sql`, `report` or `log_sql`.
    #[serde(rename = "type")]
    content_type: Option<String>,
    /// Part of the name, any case.
    name: Option<String>,
}

/// `GetContentCountV2Response`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ContentCount {
    favorites: usize,
    private: usize,
    shared: usize,
}

#[utoipa::path(get, path = "/platform/projects/{ref}/content/count", tag = "content", params(CountQuery), responses((status = 200, body = ContentCount), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn count(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(query): Query<CountQuery>,
) -> ApiResult<Json<ContentCount>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    let wanted_type = parse_type(query.content_type.as_deref())?;
    let search = Page {
        name: query.name,
        ..Default::default()
    };
    let items = shelf.visible_items(&caller, wanted_type, &search).await?;
    Ok(Json(ContentCount {
        favorites: items
            .iter()
            .filter(|item| item.spec.favorite_of.contains(&caller.user_id))
            .count(),
        private: items
            .iter()
            .filter(|item| item.spec.visibility == ContentVisibility::User)
            .count(),
        shared: items
            .iter()
            .filter(|item| item.spec.visibility == ContentVisibility::Project)
            .count(),
    }))
}

/// `UpsertContentBody`. Studio spreads whole objects into it, so other
/// fields are ignored; an absent field keeps its value on update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct UpsertBody {
    /// The content's UUID (Studio makes it).
    id: String,
    #[serde(rename = "type")]
    content_type: String,
    /// 1 to 256 characters.
    name: String,
    #[serde(default)]
    description: Option<String>,
    /// `user` or `project`.
    visibility: String,
    /// The caller's favourite or not; absent keeps it.
    #[serde(default)]
    favorite: Option<bool>,
    /// A folder of the caller's; `null` moves to the top; absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    folder_id: Option<Option<String>>,
    /// Merged into the stored content key by key.
    #[serde(default)]
    #[schema(value_type = Object)]
    content: Map<String, Value>,
}

/// Tells an explicit `null` (Some(None)) from an absent field (None).
fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

fn visibility_of(text: &str) -> ApiResult<ContentVisibility> {
    match text {
        "user" => Ok(ContentVisibility::User),
        "project" => Ok(ContentVisibility::Project),
        other => Err(ApiError::BadRequest(format!(
            "visibility {other:?} is not offered: use user (yours alone) or project (shared with the project's members)"
        ))),
    }
}

/// The fields of a spec that only someone who may change the item changes.
fn same_substance(a: &UserContentSpec, b: &UserContentSpec) -> bool {
    a.content_type == b.content_type
        && a.name == b.name
        && a.description == b.description
        && a.visibility == b.visibility
        && a.folder == b.folder
        && a.content == b.content
}

#[utoipa::path(put, path = "/platform/projects/{ref}/content", tag = "content", request_body = UpsertBody, responses((status = 200, body = ContentItem), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody), (status = 409, description = "Changed meanwhile", body = ErrorBody), (status = 413, description = "Content too large", body = ErrorBody)), security(("bearer" = [])))]
async fn upsert(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<UpsertBody>,
) -> ApiResult<Json<ContentItem>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    shelf.access.require(Action::SaveContent)?;
    let id = content_id(&body.id)?;
    let content_type = parse_type(Some(&body.content_type))?.expect("given");
    let visibility = visibility_of(&body.visibility)?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "name must be 1 to 256 characters, without control characters".into(),
        ));
    }
    if let Some(description) = &body.description
        && description.chars().count() > 1024
    {
        return Err(ApiError::BadRequest(
            "description must be at most 1024 characters".into(),
        ));
    }
    let existing = shelf
        .items
        .get_opt(&id)
        .await
        .map_err(|e| ApiError::kube("reading saved content", e))?;
    if let Some(existing) = &existing
        && !visible(existing, &caller)
    {
        // Somebody else's private item: as if absent, and not ours to take.
        return Err(not_found());
    }
    let folder = match (&body.folder_id, &existing) {
        (Some(folder), _) => folder.clone(),
        (None, Some(existing)) => existing.spec.folder.clone(),
        (None, None) => None,
    };
    if let Some(folder) = &folder {
        if visibility == ContentVisibility::Project {
            return Err(ApiError::BadRequest(
                "Shared snippet cannot be within a folder: move it to the top first".into(),
            ));
        }
        let owned = shelf
            .folders
            .get_opt(&content_id(folder)?)
            .await
            .map_err(|e| ApiError::kube("reading snippet folders", e))?
            .is_some_and(|f| f.spec.owner == caller.user_id);
        if !owned {
            return Err(ApiError::BadRequest(format!(
                "folder_id {folder:?} is not one of your folders in this project"
            )));
        }
    }
    let mut content = existing
        .as_ref()
        .map(|e| e.spec.content.clone())
        .unwrap_or_default();
    content.extend(body.content);
    let size = serde_json::to_vec(&content).map(|v| v.len()).unwrap_or(0);
    if size > MAX_CONTENT_BYTES {
        return Err(ApiError::PayloadTooLarge(format!(
            "content is {size} bytes; at most {MAX_CONTENT_BYTES} are kept per snippet"
        )));
    }
    let now = Timestamp::now().to_string();
    let saved = match existing {
        None => {
            let mine = shelf
                .all_items()
                .await?
                .iter()
                .filter(|item| item.spec.owner == caller.user_id)
                .count();
            limits::check(
                "saved snippets, reports and log queries per user in a project",
                mine,
                state.config.max_content_per_user_per_project,
                "SUPAPLANE_MAX_CONTENT_PER_USER_PER_PROJECT",
            )?;
            let item = UserContent {
                metadata: ObjectMeta {
                    name: Some(id.clone()),
                    ..Default::default()
                },
                spec: UserContentSpec {
                    content_type,
                    name: name.to_string(),
                    description: body.description.unwrap_or_default(),
                    visibility,
                    owner: caller.user_id.clone(),
                    folder,
                    favorite_of: if body.favorite == Some(true) {
                        vec![caller.user_id.clone()]
                    } else {
                        Vec::new()
                    },
                    updated_by: caller.user_id.clone(),
                    updated_at: now,
                    content,
                },
            };
            shelf
                .items
                .create(&PostParams::default(), &item)
                .await
                .map_err(|e| match e {
                    kube::Error::Api(status) if status.code == 404 => ApiError::Conflict(
                        "the project's namespace is not ready yet; try again shortly".into(),
                    ),
                    other => ApiError::kube("saving content", other),
                })?
        }
        Some(mut item) => {
            let before = item.spec.clone();
            item.spec.content_type = content_type;
            item.spec.name = name.to_string();
            if let Some(description) = body.description {
                item.spec.description = description;
            }
            item.spec.visibility = visibility;
            item.spec.folder = folder;
            item.spec.content = content;
            if !same_substance(&before, &item.spec) {
                if !may_change(&item, &caller, &shelf.access) {
                    return Err(ApiError::Forbidden(
                        "Only its owner, or an organization Owner or Administrator, may change a shared snippet; you may mark it a favourite".into(),
                    ));
                }
                item.spec.updated_by = caller.user_id.clone();
                item.spec.updated_at = now;
            }
            match body.favorite {
                Some(true) if !item.spec.favorite_of.contains(&caller.user_id) => {
                    item.spec.favorite_of.push(caller.user_id.clone());
                }
                Some(false) => item.spec.favorite_of.retain(|user| user != &caller.user_id),
                _ => {}
            }
            // Replace carries the read resourceVersion: a change made
            // meanwhile answers 409 rather than being overwritten.
            shelf
                .items
                .replace(&id, &PostParams::default(), &item)
                .await
                .map_err(|e| ApiError::kube("saving content", e))?
        }
    };
    Ok(Json(item_view(&saved, &shelf, &caller)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct Ids {
    /// Comma-separated ids.
    ids: String,
}

impl Ids {
    pub fn parse(&self) -> ApiResult<Vec<String>> {
        let ids: Vec<String> = self
            .ids
            .split(',')
            .filter(|id| !id.trim().is_empty())
            .map(|id| content_id(id.trim()))
            .collect::<ApiResult<_>>()?;
        if ids.is_empty() || ids.len() > MAX_PAGE {
            return Err(ApiError::BadRequest(format!(
                "ids must list 1 to {MAX_PAGE} ids, comma-separated"
            )));
        }
        Ok(ids)
    }
}

/// `BulkDeleteUserContentResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Deleted {
    id: String,
}

#[utoipa::path(delete, path = "/platform/projects/{ref}/content", tag = "content", params(Ids), responses((status = 200, body = Vec<Deleted>), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(ids): Query<Ids>,
) -> ApiResult<Json<Vec<Deleted>>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    shelf.access.require(Action::SaveContent)?;
    let ids = ids.parse()?;
    let mut found = Vec::new();
    // Every one is checked before any is deleted: all or nothing.
    for id in &ids {
        let item = shelf.visible_item(&caller, id).await?;
        if let Some(item) = item {
            if !may_change(&item, &caller, &shelf.access) {
                return Err(ApiError::Forbidden(format!(
                    "{id} is shared by another member: only its owner, or an organization Owner or Administrator, may delete it"
                )));
            }
            found.push(id.clone());
        }
    }
    if found.is_empty() {
        return Err(ApiError::NotFound("Contents not found.".into()));
    }
    for id in &found {
        delete_quietly(&shelf.items, id).await?;
    }
    Ok(Json(found.into_iter().map(|id| Deleted { id }).collect()))
}

/// Deletes `name`; already gone is fine.
pub(crate) async fn delete_quietly<K>(api: &Api<K>, name: &str) -> ApiResult<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    supaplane_crds::gone::delete_if_present(api, name, &DeleteParams::default())
        .await
        .map(|_| ())
        .map_err(|error| ApiError::kube("deleting saved content", error))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, upsert, remove))
        .routes(routes!(count))
        .routes(routes!(item))
}
