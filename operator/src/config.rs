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

    /// The facade's ServiceAccount (`namespace/name`), given read access to
    /// each project's pod logs there (with the ClusterRole below).
    #[arg(long, env = "SUPAPLANE_FACADE_SERVICE_ACCOUNT")]
    pub facade_service_account: Option<String>,

    /// The ClusterRole (pods list, pods/log get) bound to the facade in each
    /// project namespace.
    #[arg(long, env = "SUPAPLANE_FACADE_LOGS_CLUSTER_ROLE")]
    pub facade_logs_cluster_role: Option<String>,

    /// Projects answer at `<ref>.<base domain>`.
    #[arg(
        long,
        env = "SUPAPLANE_BASE_DOMAIN",
        default_value = "supaplane.localhost"
    )]
    pub base_domain: String,

    /// IngressClass of project Ingresses; the cluster default when unset.
    #[arg(long, env = "SUPAPLANE_INGRESS_CLASS")]
    pub ingress_class: Option<String>,

    /// Serve projects over HTTPS.
    #[arg(long, env = "SUPAPLANE_TLS", default_value_t = false)]
    pub tls: bool,

    /// cert-manager ClusterIssuer for project certificates; without one,
    /// TLS uses the ingress controller's default certificate.
    #[arg(long, env = "SUPAPLANE_TLS_CLUSTER_ISSUER")]
    pub tls_cluster_issuer: Option<String>,

    /// How old a namespace of an unfinished project create (one a crashed
    /// facade left, holding a database password) must be before the
    /// operator deletes it, in seconds.
    #[arg(
        long,
        env = "SUPAPLANE_UNFINISHED_CREATE_GRACE_SECONDS",
        default_value_t = 600
    )]
    pub unfinished_create_grace_seconds: u64,

    /// Reconcile only the Organizations and Projects whose labels match this
    /// selector (for example `shard=a`), so several operators can split a
    /// fleet; every one when unset.
    #[arg(long, env = "SUPAPLANE_SELECTOR")]
    pub selector: Option<String>,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SUPAPLANE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
}

impl OperatorConfig {
    /// The settings every project's stack is rendered with.
    pub fn stack_settings(&self) -> supaplane_operator::render::stack::StackSettings {
        supaplane_operator::render::stack::StackSettings {
            ingress: supaplane_operator::render::ingress::IngressSettings {
                base_domain: self.base_domain.clone(),
                class_name: self.ingress_class.clone(),
                tls: self.tls || self.tls_cluster_issuer.is_some(),
                cluster_issuer: self.tls_cluster_issuer.clone(),
            },
            trusted_namespaces: self.trusted_namespaces.clone(),
            facade_access: supaplane_operator::render::facade_access::FacadeAccess::from_settings(
                self.facade_service_account.as_deref(),
                self.facade_logs_cluster_role.as_deref(),
            ),
            purge_namespace: Some(self.leader_namespace.clone()),
        }
    }
}
