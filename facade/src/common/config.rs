//! Facade configuration from flags and environment.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "supaplane-facade",
    version,
    about = "Serves Studio and the Management API from supaplane resources"
)]
pub struct FacadeConfig {
    /// Address of the HTTP API (health endpoints included).
    #[arg(long, env = "SUPAPLANE_LISTEN_ADDRESS", default_value = "0.0.0.0:8000")]
    pub listen_address: SocketAddr,

    /// Log format: `text` or `json`.
    #[arg(long, env = "SUPAPLANE_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,

    /// HS256 secret the dashboard GoTrue signs access tokens with.
    #[arg(long, env = "SUPAPLANE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// URL of the dashboard GoTrue's JWKS, for tokens signed with
    /// asymmetric keys (`<gotrue>/.well-known/jwks.json`).
    #[arg(long, env = "SUPAPLANE_JWKS_URL")]
    pub jwks_url: Option<String>,

    /// Audience the dashboard's access tokens must carry.
    #[arg(long, env = "SUPAPLANE_JWT_AUDIENCE", default_value = "authenticated")]
    pub jwt_audience: String,

    /// Issuer the dashboard's access tokens must carry (not checked when unset).
    #[arg(long, env = "SUPAPLANE_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,

    /// Namespace of the facade's own Secrets (personal access tokens).
    #[arg(long, env = "POD_NAMESPACE", default_value = "supaplane-system")]
    pub namespace: String,

    /// The Studio origin allowed by CORS (none when unset: same origin only).
    #[arg(long, env = "SUPAPLANE_STUDIO_ORIGIN")]
    pub studio_origin: Option<String>,

    /// Projects answer at `<ref>.<base domain>` (as the operator is told).
    #[arg(
        long,
        env = "SUPAPLANE_BASE_DOMAIN",
        default_value = "supaplane.localhost"
    )]
    pub base_domain: String,

    /// Whether project URLs use https.
    #[arg(long, env = "SUPAPLANE_TLS", default_value_t = false)]
    pub tls: bool,

    /// Regions offered when creating a project, as `code=Name` pairs.
    #[arg(
        long,
        env = "SUPAPLANE_REGIONS",
        value_delimiter = ',',
        default_value = "local=Local cluster"
    )]
    pub regions: Vec<String>,

    /// Instance sizes offered when creating a project.
    #[arg(
        long,
        env = "SUPAPLANE_INSTANCE_SIZES",
        value_delimiter = ',',
        default_value = "nano,micro,small,medium,large,xlarge,2xlarge,4xlarge,8xlarge,12xlarge,16xlarge"
    )]
    pub instance_sizes: Vec<String>,

    /// A project's pg-meta; `{ref}` is replaced by the project ref.
    #[arg(
        long,
        env = "SUPAPLANE_PG_META_URL",
        default_value = "http://meta.project-{ref}.svc.cluster.local:8080"
    )]
    pub pg_meta_url: String,

    /// A project's GoTrue; `{ref}` is replaced by the project ref.
    #[arg(
        long,
        env = "SUPAPLANE_AUTH_URL",
        default_value = "http://auth.project-{ref}.svc.cluster.local:9999"
    )]
    pub auth_url: String,

    /// A project's Storage API; `{ref}` is replaced by the project ref.
    #[arg(
        long,
        env = "SUPAPLANE_STORAGE_URL",
        default_value = "http://storage.project-{ref}.svc.cluster.local:5000"
    )]
    pub storage_url: String,

    /// Longest wait for a project's service to start answering, in seconds.
    /// Must be shorter than the request timeout, so a slow service is
    /// answered 503 rather than cut off.
    #[arg(long, env = "SUPAPLANE_UPSTREAM_TIMEOUT_SECONDS", default_value_t = 50)]
    pub upstream_timeout_seconds: u64,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "SUPAPLANE_BODY_LIMIT_BYTES", default_value_t = 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// Longest wait for a request's head on a connection (a new one, or a
    /// kept-alive one between requests), in seconds; the connection is
    /// closed after it.
    #[arg(
        long,
        env = "SUPAPLANE_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 10
    )]
    pub header_read_timeout_seconds: u64,

    /// Organizations one user may own.
    #[arg(
        long,
        env = "SUPAPLANE_MAX_ORGANIZATIONS_PER_USER",
        default_value_t = 10
    )]
    pub max_organizations_per_user: usize,

    /// Projects one user may create (over all organizations).
    #[arg(long, env = "SUPAPLANE_MAX_PROJECTS_PER_USER", default_value_t = 50)]
    pub max_projects_per_user: usize,

    /// Projects one organization may hold.
    #[arg(
        long,
        env = "SUPAPLANE_MAX_PROJECTS_PER_ORGANIZATION",
        default_value_t = 100
    )]
    pub max_projects_per_organization: usize,

    /// Members one organization may have.
    #[arg(
        long,
        env = "SUPAPLANE_MAX_MEMBERS_PER_ORGANIZATION",
        default_value_t = 200
    )]
    pub max_members_per_organization: usize,

    /// Pending invitations one organization may have.
    #[arg(
        long,
        env = "SUPAPLANE_MAX_INVITATIONS_PER_ORGANIZATION",
        default_value_t = 50
    )]
    pub max_invitations_per_organization: usize,

    /// Personal access tokens one user may hold.
    #[arg(
        long,
        env = "SUPAPLANE_MAX_ACCESS_TOKENS_PER_USER",
        default_value_t = 20
    )]
    pub max_access_tokens_per_user: usize,

    /// Snippets, reports and saved log queries one user may keep in one
    /// project.
    #[arg(
        long,
        env = "SUPAPLANE_MAX_CONTENT_PER_USER_PER_PROJECT",
        default_value_t = 1000
    )]
    pub max_content_per_user_per_project: usize,

    /// Snippet folders one user may keep in one project.
    #[arg(
        long,
        env = "SUPAPLANE_MAX_FOLDERS_PER_USER_PER_PROJECT",
        default_value_t = 100
    )]
    pub max_folders_per_user_per_project: usize,

    /// Log lines one request of Studio's log pages reads, over all pods.
    #[arg(long, env = "SUPAPLANE_LOGS_MAX_LINES", default_value_t = 10_000)]
    pub logs_max_lines: usize,

    /// Log bytes one request of Studio's log pages reads, over all pods.
    #[arg(long, env = "SUPAPLANE_LOGS_MAX_BYTES", default_value_t = 4 * 1024 * 1024)]
    pub logs_max_bytes: usize,

    /// Changes (POST, PUT, PATCH, DELETE) one user may make per minute.
    #[arg(long, env = "SUPAPLANE_WRITES_PER_MINUTE", default_value_t = 120)]
    pub writes_per_minute: u32,

    /// Longest a request may take, in seconds.
    #[arg(long, env = "SUPAPLANE_REQUEST_TIMEOUT_SECONDS", default_value_t = 60)]
    pub request_timeout_seconds: u64,
}

/// A region Studio can offer.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub code: String,
    pub name: String,
}

impl FacadeConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_seconds)
    }

    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_secs(self.upstream_timeout_seconds)
    }

    /// Settings that contradict each other, refused at start.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.upstream_timeout_seconds >= self.request_timeout_seconds {
            anyhow::bail!(
                "--upstream-timeout-seconds ({}) must be shorter than --request-timeout-seconds ({}), or a slow project service is cut off without an answer",
                self.upstream_timeout_seconds,
                self.request_timeout_seconds
            );
        }
        Ok(())
    }

    /// The configured regions; a bare `code` is its own name.
    pub fn regions(&self) -> Vec<Region> {
        self.regions
            .iter()
            .filter(|entry| !entry.trim().is_empty())
            .map(|entry| match entry.split_once('=') {
                Some((code, name)) => Region {
                    code: code.trim().to_string(),
                    name: name.trim().to_string(),
                },
                None => Region {
                    code: entry.trim().to_string(),
                    name: entry.trim().to_string(),
                },
            })
            .collect()
    }

    /// The URL a project's API answers at.
    pub fn project_api_url(&self, project_ref: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{project_ref}.{}", self.base_domain)
    }

    /// A configuration for tests and embedding, with defaults for the rest.
    pub fn for_tests(jwt_secret: &str, namespace: &str) -> Self {
        FacadeConfig::parse_from([
            "supaplane-facade",
            "--jwt-secret",
            jwt_secret,
            "--namespace",
            namespace,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_parse_code_and_name() {
        let mut config = FacadeConfig::for_tests("s", "ns");
        config.regions = vec!["eu=Europe".into(), "us".into(), " ".into()];
        assert_eq!(
            config.regions(),
            vec![
                Region {
                    code: "eu".into(),
                    name: "Europe".into()
                },
                Region {
                    code: "us".into(),
                    name: "us".into()
                }
            ]
        );
    }
}
