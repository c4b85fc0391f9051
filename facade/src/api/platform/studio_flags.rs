//! Studio's release flags, as this platform sets them. Studio reads some
//! switches only from ConfigCat (`useFlag`), and fetches them from
//! `NEXT_PUBLIC_CONFIGCAT_PROXY_URL` when that is set: our Studio image
//! points it here, so the facade answers the ConfigCat config file the SDK
//! downloads (format `config_v6.json`). No third-party service is asked.
//! Flags not listed read as off in Studio.

use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// Where Studio's ConfigCat client downloads its config: the proxy URL
/// (`<public URL>/platform/configcat`) plus the SDK's path for the key
/// Studio uses with a proxy, `configcat-proxy/frontend-v2`.
pub const CONFIG_PATH: &str =
    "/platform/configcat/configuration-files/configcat-proxy/frontend-v2/config_v6.json";

/// Each flag Studio asks for and what is true here.
pub const FLAGS: [(&str, bool); 3] = [
    // Project creation asks `available-regions` (the configured regions)
    // instead of showing Supabase's own AWS list.
    ("enableSmartRegion", true),
    // Postgres 17 and 15 are both offered on create; a paused project lists
    // its own major to resume with.
    ("showPostgresVersionSelector", true),
    // Restart rolls the project's workloads (`restart.rs`).
    ("disableProjectRestarts", false),
];

/// `p`: preferences. Redirect mode 0 ("no redirect") keeps the SDK here.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Preferences {
    /// The base URL the file is meant to be read from; empty: this one.
    u: &'static str,
    r: u8,
}

/// A setting value; `b` holds a boolean.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct SettingValue {
    b: bool,
}

/// A setting: `t` 0 is a boolean setting, `v` its value for everyone.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Setting {
    t: u8,
    v: SettingValue,
}

/// ConfigCat's `config_v6.json`, only what a fixed set of booleans needs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct ConfigFile {
    p: Preferences,
    f: BTreeMap<&'static str, Setting>,
}

/// Public: the flags say what this platform offers, nothing secret; Studio
/// loads them before sign-in (see `auth::PUBLIC_ROUTES`).
#[utoipa::path(get, path = "/platform/configcat/configuration-files/configcat-proxy/frontend-v2/config_v6.json", tag = "studio", responses((status = 200, body = ConfigFile)), security(()))]
async fn config_file() -> Json<ConfigFile> {
    Json(ConfigFile {
        p: Preferences { u: "", r: 0 },
        f: FLAGS
            .into_iter()
            .map(|(key, on)| {
                (
                    key,
                    Setting {
                        t: 0,
                        v: SettingValue { b: on },
                    },
                )
            })
            .collect(),
    })
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(config_file))
}
