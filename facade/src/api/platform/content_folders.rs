//! The folders of Studio's SQL editor (`/platform/projects/{ref}/content/folders`):
//! each user's own, one level deep, holding only that user's private
//! snippets. Kept as `ContentFolder` objects in the project's namespace;
//! deleting one deletes the snippets in it.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kube::ResourceExt;
use kube::api::{ObjectMeta, PostParams};
use serde::{Deserialize, Serialize};
use supaplane_crds::{ContentFolder, ContentFolderSpec, ContentType, ContentVisibility};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::content::{
    ContentItem, Ids, Page, Shelf, content_id, delete_quietly, item_view,
};
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::common::ids::numeric_id;
use crate::identity::caller::Caller;
use crate::middleware::limits;
use crate::state::AppState;

/// A folder as Studio reads it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Folder {
    id: String,
    name: String,
    owner_id: u64,
    parent_id: Option<String>,
    project_id: u64,
}

fn folder_view(folder: &ContentFolder, shelf: &Shelf) -> Folder {
    Folder {
        id: folder.name_any(),
        name: folder.spec.name.clone(),
        owner_id: numeric_id(&folder.spec.owner),
        parent_id: None,
        project_id: shelf.project_id(),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FolderContents {
    folders: Vec<Folder>,
    contents: Vec<ContentItem>,
}

/// `GetUserContentFolderResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct FolderPage {
    data: FolderContents,
    #[serde(skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// The caller's private SQL snippets in `folder` (None: at the top).
async fn page_of(
    shelf: &Shelf,
    caller: &Caller,
    folder: Option<&str>,
    page: &Page,
) -> ApiResult<(Vec<ContentItem>, Option<String>)> {
    let items = shelf
        .all_items()
        .await?
        .into_iter()
        .filter(|item| item.spec.owner == caller.user_id)
        .filter(|item| item.spec.visibility == ContentVisibility::User)
        .filter(|item| item.spec.content_type == ContentType::Sql)
        .filter(|item| item.spec.folder.as_deref() == folder)
        .filter(|item| page.name_matches(item))
        .collect();
    let (items, cursor) = page.cut(items)?;
    Ok((
        items.iter().map(|i| item_view(i, shelf, caller)).collect(),
        cursor,
    ))
}

#[utoipa::path(get, path = "/platform/projects/{ref}/content/folders", tag = "content", params(Page), responses((status = 200, body = FolderPage), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn root(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(page): Query<Page>,
) -> ApiResult<Json<FolderPage>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    let mut folders = shelf.folders_of(&caller).await?;
    folders.sort_by_key(|f| f.spec.name.to_lowercase());
    let (contents, cursor) = page_of(&shelf, &caller, None, &page).await?;
    Ok(Json(FolderPage {
        data: FolderContents {
            folders: folders.iter().map(|f| folder_view(f, &shelf)).collect(),
            contents,
        },
        cursor,
    }))
}

async fn own_folder(shelf: &Shelf, caller: &Caller, id: &str) -> ApiResult<ContentFolder> {
    let id = content_id(id)?;
    shelf
        .folders
        .get_opt(&id)
        .await
        .map_err(|e| ApiError::kube("reading snippet folders", e))?
        .filter(|folder| folder.spec.owner == caller.user_id)
        .ok_or_else(|| ApiError::NotFound(format!("Folder {id} not found")))
}

#[utoipa::path(get, path = "/platform/projects/{ref}/content/folders/{id}", tag = "content", params(Page), responses((status = 200, body = FolderPage), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn folder(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
    Query(page): Query<Page>,
) -> ApiResult<Json<FolderPage>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    let folder = own_folder(&shelf, &caller, &id).await?;
    let (contents, cursor) = page_of(&shelf, &caller, Some(&folder.name_any()), &page).await?;
    Ok(Json(FolderPage {
        data: FolderContents {
            folders: Vec::new(),
            contents,
        },
        cursor,
    }))
}

/// `CreateContentFolderBody` / `UpdateContentFolderBody`; Studio never
/// sends a parent (folders are one level).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct FolderBody {
    /// 1 to 256 characters; unique among the caller's folders.
    name: String,
}

/// A checked folder name, not taken by another of the caller's folders.
fn folder_name(
    name: &str,
    mine: &[ContentFolder],
    except: Option<&str>,
    verb: &str,
) -> ApiResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 256 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "Could not {verb} folder: a name is 1 to 256 characters, without control characters"
        )));
    }
    if mine
        .iter()
        .any(|f| f.spec.name == name && Some(f.name_any().as_str()) != except)
    {
        // Studio matches "create"/"update" in the message to undo its edit.
        return Err(ApiError::Conflict(format!(
            "Could not {verb} folder: you already have a folder named {name:?}"
        )));
    }
    Ok(name.to_string())
}

#[utoipa::path(post, path = "/platform/projects/{ref}/content/folders", tag = "content", request_body = FolderBody, responses((status = 201, body = Folder), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody), (status = 409, description = "Name taken", body = ErrorBody)), security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<FolderBody>,
) -> ApiResult<(StatusCode, Json<Folder>)> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    shelf.access.require(Action::SaveContent)?;
    let mine = shelf.folders_of(&caller).await?;
    let name = folder_name(&body.name, &mine, None, "create")?;
    limits::check(
        "snippet folders per user in a project",
        mine.len(),
        state.config.max_folders_per_user_per_project,
        "SUPAPLANE_MAX_FOLDERS_PER_USER_PER_PROJECT",
    )?;
    let folder = ContentFolder {
        metadata: ObjectMeta {
            name: Some(uuid::Uuid::new_v4().to_string()),
            ..Default::default()
        },
        spec: ContentFolderSpec {
            name,
            owner: caller.user_id.clone(),
        },
    };
    let created = shelf
        .folders
        .create(&PostParams::default(), &folder)
        .await
        .map_err(|e| match e {
            kube::Error::Api(status) if status.code == 404 => ApiError::Conflict(
                "Could not create folder: the project's namespace is not ready yet".into(),
            ),
            other => ApiError::kube("Could not create folder", other),
        })?;
    Ok((StatusCode::CREATED, Json(folder_view(&created, &shelf))))
}

#[utoipa::path(patch, path = "/platform/projects/{ref}/content/folders/{id}", tag = "content", request_body = FolderBody, responses((status = 200, body = Folder), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody), (status = 409, description = "Name taken", body = ErrorBody)), security(("bearer" = [])))]
async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    Path((project_ref, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<FolderBody>,
) -> ApiResult<Json<Folder>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    shelf.access.require(Action::SaveContent)?;
    let mut folder = own_folder(&shelf, &caller, &id).await?;
    let mine = shelf.folders_of(&caller).await?;
    folder.spec.name = folder_name(&body.name, &mine, Some(&folder.name_any()), "update")?;
    let saved = shelf
        .folders
        .replace(&folder.name_any(), &PostParams::default(), &folder)
        .await
        .map_err(|e| ApiError::kube("Could not update folder", e))?;
    Ok(Json(folder_view(&saved, &shelf)))
}

#[utoipa::path(delete, path = "/platform/projects/{ref}/content/folders", tag = "content", params(Ids), responses((status = 200, body = Object), (status = 400, description = "Bad input", body = ErrorBody), (status = 403, description = "Not allowed", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(ids): Query<Ids>,
) -> ApiResult<Json<serde_json::Value>> {
    let shelf = Shelf::open(&state, &caller, &project_ref)?;
    shelf.access.require(Action::SaveContent)?;
    let mut folders = Vec::new();
    for id in ids.parse()? {
        folders.push(own_folder(&shelf, &caller, &id).await?.name_any());
    }
    let items = shelf.all_items().await?;
    for folder in &folders {
        // The snippets first: a folder is never gone while its snippets stay.
        for item in items
            .iter()
            .filter(|i| i.spec.owner == caller.user_id && i.spec.folder.as_ref() == Some(folder))
        {
            delete_quietly(&shelf.items, &item.name_any()).await?;
        }
        delete_quietly(&shelf.folders, folder).await?;
    }
    Ok(Json(serde_json::json!({})))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root, create, remove))
        .routes(routes!(folder, rename))
}
