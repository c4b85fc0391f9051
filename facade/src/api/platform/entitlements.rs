//! What this platform offers an organization, in Studio's entitlement
//! terms: Studio enables an action only when its entitlement says so (Pause
//! needs `project_pausing`), so this lists what supaplane really does and
//! nothing it does not. Every organization gets the same: plans are labels
//! here.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::authorization::access;
use crate::common::error::ApiResult;
use crate::identity::caller::Caller;
use crate::state::AppState;

/// The features offered, each a yes (boolean entitlements only).
pub const OFFERED: [&str; 3] = [
    // spec.paused: workloads scale to zero, the data stays.
    "project_pausing",
    // A paused project resumes whenever asked; nothing expires.
    "project_restore_after_expiry",
    // imgproxy runs beside every Storage API.
    "storage.image_transformations",
];

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Feature {
    key: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// An entitlement's config: `enabled` for a boolean one; a numeric one
/// also says its unit, whether it is unlimited and its value. (One schema
/// with optional fields: the two shapes overlap, so `oneOf` could not tell
/// them apart.)
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Config {
    enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unlimited: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<u32>,
}

impl Config {
    fn enabled() -> Config {
        Config {
            enabled: true,
            unit: None,
            unlimited: None,
            value: None,
        }
    }
}

/// Numeric features offered: backups are kept by each project's own
/// `spec.backups` (a count and an age), not by a plan's days, so the
/// organization's allowance is unlimited. Studio shows its backups list
/// only with this.
pub const OFFERED_NUMERIC: [(&str, &str); 1] = [("backup.retention_days", "days")];

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Entitlement {
    feature: Feature,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "hasAccess")]
    has_access: bool,
    config: Config,
}

/// `ListEntitlementsResponse`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Entitlements {
    entitlements: Vec<Entitlement>,
}

#[utoipa::path(get, path = "/platform/organizations/{slug}/entitlements", tag = "organizations", responses((status = 200, body = Entitlements)), security(("bearer" = [])))]
async fn entitlements(
    State(state): State<AppState>,
    caller: Caller,
    Path(slug): Path<String>,
) -> ApiResult<Json<Entitlements>> {
    access::organization(&state.index, &caller, &slug)?;
    Ok(Json(Entitlements {
        entitlements: OFFERED
            .iter()
            .map(|key| Entitlement {
                feature: Feature {
                    key,
                    kind: "boolean",
                },
                kind: "boolean",
                has_access: true,
                config: Config::enabled(),
            })
            .chain(OFFERED_NUMERIC.iter().map(|(key, unit)| Entitlement {
                feature: Feature {
                    key,
                    kind: "numeric",
                },
                kind: "numeric",
                has_access: true,
                config: Config {
                    unit: Some(unit),
                    unlimited: Some(true),
                    value: Some(0),
                    ..Config::enabled()
                },
            }))
            .collect(),
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(entitlements))
}
