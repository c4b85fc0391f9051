//! supaplane's facade: the REST API Supabase Studio (`/platform/**`) and
//! Management API clients (`/v1/**`) talk to, answered from the
//! Organization and Project resources.

#![forbid(unsafe_code)]

// The layers, from the bottom up; each imports only the ones below it.
pub mod api;
pub mod authorization;
pub mod common;
pub mod identity;
pub mod index;
pub mod middleware;
pub mod state;
pub mod upstream;

pub mod health;
pub mod server;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use health::Readiness;
use state::AppState;

/// The whole HTTP surface: health unauthenticated, everything else behind
/// [`identity::middleware::authenticate`], with tracing, CORS, body limits
/// and timeouts.
pub fn router(state: AppState, readiness: Arc<Readiness>) -> Router {
    let (documented, document) = documented_api();
    let api_server = readiness.clone();
    let document = Arc::new(document);
    let authenticated = documented
        .route(
            "/openapi.json",
            axum::routing::get(move || {
                let document = document.clone();
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .fallback(unknown_route)
        .layer(axum::middleware::from_fn_with_state(
            state.audit.clone(),
            middleware::audit::record_writes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.write_rate.clone(),
            middleware::limits::limit_writes,
        ))
        // `layer`, not `route_layer`: unknown paths need credentials too.
        .layer(axum::middleware::from_fn_with_state(
            state.gate(&api::PUBLIC_ROUTES),
            identity::middleware::authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            api_server,
            health::require_api_server,
        ))
        .with_state(state.clone());
    let config = &state.config;
    Router::new()
        .merge(health::routes(readiness))
        .merge(authenticated)
        .layer(RequestBodyLimitLayer::new(config.body_limit_bytes))
        .layer(axum::middleware::from_fn_with_state(
            config.request_timeout(),
            middleware::answers::answer,
        ))
        .layer(cors(config.studio_origin.as_deref()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &axum::extract::Request| {
                // Method and path only: no headers, so no credentials, in logs.
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
            }),
        )
}

/// The routes and the OpenAPI document that describes them, errors included.
fn documented_api() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (documented, mut document) = api().split_for_parts();
    utoipa::Modify::modify(&api::documented_errors::DocumentedErrors, &mut document);
    (documented, document)
}

/// The OpenAPI document `/openapi.json` answers.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented_api().1
}

/// Every documented route, with the OpenAPI document generated from the
/// handlers' annotations: the router and the document cannot drift apart.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(FacadeApi::openapi()).merge(api::routes())
}

/// The document's frame: title, and the bearer scheme every operation uses.
#[derive(OpenApi)]
#[openapi(
    info(title = "supaplane facade", description = "Supabase Studio's platform API and the Management API, on Kubernetes resources"),
    modifiers(&BearerAuth)
)]
struct FacadeApi;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A dashboard GoTrue access token, or a personal access token (sbp_…)",
                    ))
                    .build(),
            ),
        );
    }
}

async fn unknown_route() -> common::error::ApiError {
    common::error::ApiError::NotFound("No such endpoint".into())
}

fn cors(origin: Option<&str>) -> CorsLayer {
    let allowed = origin
        .and_then(|o| HeaderValue::from_str(o).ok())
        .map(|origin| AllowOrigin::list([origin]))
        .unwrap_or_else(|| AllowOrigin::list([]));
    CorsLayer::new()
        .allow_origin(allowed)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        // Studio's clients add their own headers (tracing, client info);
        // the origin check is what guards, so any requested header is fine.
        .allow_headers(AllowHeaders::mirror_request())
        .allow_credentials(true)
}

#[cfg(test)]
mod tests {
    /// The documented API, as committed in `facade/openapi.json`: a change
    /// to a route's path, parameters or shapes shows here and is made on
    /// purpose (`SUPAPLANE_UPDATE_OPENAPI=1` writes the new document).
    #[test]
    fn the_openapi_document_is_the_committed_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");
        let document = serde_json::to_value(super::openapi_document()).expect("document");
        if std::env::var_os("SUPAPLANE_UPDATE_OPENAPI").is_some() {
            let text = serde_json::to_string_pretty(&document).expect("text");
            std::fs::write(path, text + "\n").expect("written");
        }
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("committed document"))
                .expect("committed JSON");
        assert!(
            document == committed,
            "the OpenAPI document differs from facade/openapi.json"
        );
    }
}
