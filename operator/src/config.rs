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

    /// Namespace of the leader-election Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "supaplane-system")]
    pub leader_namespace: String,

    /// This replica's identity in the Lease (the pod name).
    #[arg(long, env = "POD_NAME", default_value = "supaplane-operator-local")]
    pub identity: String,

    /// Namespaces whose pods may reach every project (comma-separated).
    #[arg(
        long,
        env = "SUPAPLANE_TRUSTED_NAMESPACES",
        value_delimiter = ',',
        default_value = "ingress-nginx,supaplane-system"
    )]
    pub trusted_namespaces: Vec<String>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SUPAPLANE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}
