//! supaplane's operator: kube-runtime controllers that reconcile
//! Organizations and Projects into per-project Supabase stacks.

#![forbid(unsafe_code)]

pub mod api_client;
pub mod apply;
pub mod backup_controller;
pub mod backup_schedule;
pub mod bucket_purge;
pub mod child_memo;
pub mod error;
pub mod events;
pub mod images;
pub mod initial_restore;
pub mod keys;
pub mod leader;
pub mod metrics;
pub mod organization_controller;
pub mod organization_projects;
pub mod orphans;
pub mod project_controller;
pub mod project_jobs;
pub mod project_keys;
pub mod project_status;
pub mod quantity;
pub mod render;
pub mod restore_controller;
pub mod workload_report;
