//! Studio's platform API (`/platform/**`), one module per area.

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
