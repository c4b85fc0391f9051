//! The API surfaces: Studio's platform API and the Management API.

pub mod documented_errors;
pub mod platform;
pub mod v1;

/// Routes Studio calls before sign-in, answering nothing secret: served
/// without credentials.
pub const PUBLIC_ROUTES: [(&str, &str); 2] = [
    ("GET", "/platform/telemetry/feature-flags"),
    ("GET", crate::api::platform::studio_flags::CONFIG_PATH),
];

/// Both API surfaces' routes, documented.
pub fn routes() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    platform::routes().merge(v1::routes())
}
