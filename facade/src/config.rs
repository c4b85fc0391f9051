//! Facade configuration from flags and environment.

use std::net::SocketAddr;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "supaplane-facade",
    version,
    about = "Serves Studio and the Management API from supaplane resources"
)]
pub struct FacadeConfig {
    /// Address of the HTTP API (health endpoints included).
    #[arg(long, env = "SUPAPLANE_HEALTH_ADDRESS", default_value = "0.0.0.0:8000")]
    pub health_address: SocketAddr,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SUPAPLANE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}
