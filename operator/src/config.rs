//! Operator configuration from flags and environment.

use std::net::SocketAddr;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "supaplane-operator",
    version,
    about = "Reconciles supaplane Organizations and Projects"
)]
pub struct OperatorConfig {
    /// Address of the health, readiness and metrics endpoints.
    #[arg(long, env = "SUPAPLANE_HEALTH_ADDRESS", default_value = "0.0.0.0:8080")]
    pub health_address: SocketAddr,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SUPAPLANE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}
