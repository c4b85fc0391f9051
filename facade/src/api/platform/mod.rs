//! Studio's platform API (`/platform/**`), one module per area.

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub mod access_tokens;
pub mod audit;
pub mod auth_config;
pub mod auth_providers;
pub mod backup_clones;
pub mod backup_downloads;
pub mod backups;
pub mod content;
pub mod content_folders;
pub mod entitlements;
pub mod invitations;
pub mod log_query;
pub mod not_offered;
pub mod organizations;
pub mod pg_meta;
pub mod profile;
pub mod project_config;
pub mod project_logs;
pub mod projects;
pub mod restart;
pub mod services;
pub mod storage_config;
pub mod studio_flags;
pub mod temporary_keys;
pub mod unbacked;

/// Every platform route, documented.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(profile::routes())
        .merge(audit::routes())
        .merge(access_tokens::routes())
        .merge(organizations::routes())
        .merge(invitations::routes())
        .merge(entitlements::routes())
        .merge(studio_flags::routes())
        .merge(restart::routes())
        .merge(storage_config::routes())
        .merge(temporary_keys::routes())
        .merge(not_offered::routes())
        .merge(projects::routes())
        .merge(content::routes())
        .merge(backups::routes())
        .merge(backup_clones::routes())
        .merge(backup_downloads::routes())
        .merge(content_folders::routes())
        .merge(project_logs::routes())
        .merge(project_config::routes())
        .merge(pg_meta::routes())
        .merge(auth_config::routes())
        .merge(services::routes())
        .merge(unbacked::routes())
}
