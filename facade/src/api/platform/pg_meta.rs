//! `/platform/pg-meta/{ref}/…`: Studio's table editor, SQL editor and
//! database pages, forwarded server-side to that project's pg-meta.
//!
//! Studio's own `x-connection-encrypted` header is an opaque token to us
//! (it is the project's public connection string) and is never passed on.
//! Every request carries a connection we choose, encrypted with the
//! project's pg-meta key: members who may write SQL connect as `postgres`,
//! which the supabase/postgres image makes a non-superuser (as Supabase's
//! dashboard does: no `COPY … PROGRAM`, no server files, no superuser
//! grants), never through pg-meta's own `supabase_admin` connection.
//! Read-only members connect as the image's read-only role and may not call
//! pg-meta's mutating endpoints.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::Response;
use http_body_util::Full;
use supaplane_crds::constants::keys_secret;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::authorization::access::{self, ProjectAccess};
use crate::authorization::permissions::{Action, allows};
use crate::authorization::project_keys::KeysSecret;
use crate::common::error::{ApiError, ApiResult, ErrorBody};
use crate::common::shapes::{self};
use crate::common::validate;
use crate::identity::caller::Caller;
use crate::state::AppState;
use crate::upstream::crypto_js;
use crate::upstream::relay::{relay, require_running};

/// The role the supabase/postgres image gives read-only dashboard access.
pub const READ_ONLY_ROLE: &str = "supabase_read_only_user";
/// The role dashboard SQL runs as for members who may write: the image's
/// `postgres`, demoted from superuser by its migrations.
pub const DASHBOARD_ROLE: &str = "postgres";

/// Request headers Studio sends that pg-meta uses; nothing else is passed.
const FORWARDED_REQUEST_HEADERS: [&str; 3] = ["content-type", "accept", "x-pg-application-name"];

/// `x-connection-encrypted`: the connection of `role` with the password in
/// the keys Secret's `password_entry`, encrypted as pg-meta expects.
async fn connection_as(
    state: &AppState,
    access: &ProjectAccess,
    role: &str,
    password_entry: &str,
) -> ApiResult<String> {
    let secret = KeysSecret::read(&state.client, access).await?;
    let unavailable = |what: &str| {
        ApiError::Unavailable(format!(
            "Project {} has no {what} yet; SQL is not available",
            access.reference()
        ))
    };
    let password = secret
        .entry(password_entry)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| unavailable("database password"))?;
    let crypto_key = secret
        .entry(keys_secret::PG_META_CRYPTO_KEY)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| unavailable("pg-meta key"))?;
    let host = shapes::database_host(&access.project);
    if host.is_empty() {
        return Err(unavailable("database endpoint"));
    }
    let url = format!(
        "postgresql://{role}:{}@{host}:{}/postgres",
        percent_encode(&password),
        shapes::database_port(&access.project)
    );
    Ok(crypto_js::encrypt(&url, &crypto_key))
}

/// Percent-encodes everything but unreserved URL characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What of a Studio request goes to pg-meta.
struct Forwarded {
    method: Method,
    /// The path under the project's pg-meta, without the leading slash.
    rest: String,
    query: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

/// Forwards one request to the project's pg-meta and streams its answer
/// back unchanged (pg-meta's own errors included).
async fn forward(
    state: &AppState,
    caller: &Caller,
    project_ref: &str,
    forwarded: Forwarded,
) -> ApiResult<Response> {
    let Forwarded {
        method,
        rest,
        query,
        headers,
        body,
    } = forwarded;
    let access = access::project(&state.index, caller, project_ref)?;
    let may_write = allows(access.role, Action::WriteSql);
    let is_query = rest == "query";
    if !may_write && method != Method::GET && !is_query {
        return Err(ApiError::Forbidden(
            "Read-only members cannot change the database".into(),
        ));
    }
    require_running(&access.project)?;

    let base = state.config.pg_meta_url.replace("{ref}", project_ref);
    let mut url = format!("{}/{rest}", base.trim_end_matches('/'));
    if let Some(query) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(&query);
    }
    let mut request = hyper::Request::builder().method(method).uri(&url);
    for name in FORWARDED_REQUEST_HEADERS {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    let connection = if may_write {
        connection_as(
            state,
            &access,
            DASHBOARD_ROLE,
            keys_secret::POSTGRES_PASSWORD,
        )
        .await?
    } else {
        connection_as(
            state,
            &access,
            READ_ONLY_ROLE,
            keys_secret::READ_ONLY_PASSWORD,
        )
        .await?
    };
    request = request.header(
        "x-connection-encrypted",
        HeaderValue::from_str(&connection)
            .map_err(|e| ApiError::Internal(format!("connection header: {e}")))?,
    );
    let request = request
        .body(Full::new(body))
        .map_err(|e| ApiError::BadRequest(format!("Cannot forward this request: {e}")))?;

    relay(
        &state.upstream,
        state.config.upstream_timeout(),
        &access.project,
        "database API",
        request,
    )
    .await
}

/// Runs SQL: pg-meta's `POST /query` with `{query}`; answers the rows, or
/// pg-meta's error unchanged.
/// What Studio's SQL editor sends (pg-meta takes other fields too, such as
/// `disable_statement_timeout`, passed through unchanged).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct QueryBody {
    /// The SQL to run.
    query: String,
}

#[utoipa::path(post, path = "/platform/pg-meta/{ref}/query", tag = "database",
    request_body = QueryBody,
    responses((status = 200, description = "The rows, as pg-meta answers", body = Vec<serde_json::Value>),
              (status = 400, description = "pg-meta's error for the SQL", body = serde_json::Value),
              (status = 404, body = ErrorBody), (status = 503, description = "The project is paused or its pg-meta is not answering", body = ErrorBody)),
    security(("bearer" = [])))]
async fn query(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    // What Studio sends: an object with the SQL as `query`.
    let sql_given = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .is_some_and(|value| value.get("query").is_some_and(serde_json::Value::is_string));
    if !sql_given {
        return Err(ApiError::BadRequest(
            "The body must be a JSON object with the SQL as \"query\"".into(),
        ));
    }
    let forwarded = Forwarded {
        method: Method::POST,
        rest: "query".into(),
        query,
        headers,
        body,
    };
    forward(&state, &caller, &project_ref, forwarded).await
}

/// Every other pg-meta endpoint (`tables`, `columns`, `views`, `policies`,
/// `functions`, `extensions`, `types`, …), passed through as is.
#[utoipa::path(get, path = "/platform/pg-meta/{ref}/{resource}", tag = "database",
    request_body(content = Option<serde_json::Value>, description = "Passed through to pg-meta"),
    responses((status = 200, description = "pg-meta's answer", body = serde_json::Value),
              (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = [])))]
async fn resource(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    Path((project_ref, resource)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let forwarded = Forwarded {
        method,
        rest: validate::path_segment("resource", &resource)?,
        query,
        headers,
        body,
    };
    forward(&state, &caller, &project_ref, forwarded).await
}

/// One item of a pg-meta resource (`tables/{id}`, …).
async fn resource_item(
    State(state): State<AppState>,
    caller: Caller,
    method: Method,
    Path((project_ref, resource, item)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let forwarded = Forwarded {
        method,
        rest: format!(
            "{}/{}",
            validate::path_segment("resource", &resource)?,
            validate::path_segment("item", &item)?
        ),
        query,
        headers,
        body,
    };
    forward(&state, &caller, &project_ref, forwarded).await
}

pub fn routes() -> OpenApiRouter<AppState> {
    use axum::routing::{delete, patch, post};
    OpenApiRouter::new()
        .routes(routes!(query))
        .routes(routes!(resource))
        .route(
            "/platform/pg-meta/{ref}/{resource}",
            post(resource).patch(resource).delete(resource),
        )
        .route(
            "/platform/pg-meta/{ref}/{resource}/{item}",
            axum::routing::get(resource_item)
                .merge(post(resource_item))
                .merge(patch(resource_item))
                .merge(delete(resource_item)),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_percent_encoded_in_urls() {
        assert_eq!(percent_encode("a b/c@d"), "a%20b%2Fc%40d");
        assert_eq!(percent_encode("plain-1.2_3~"), "plain-1.2_3~");
    }
}
