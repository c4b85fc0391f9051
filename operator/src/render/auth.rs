//! GoTrue: the project's auth server, behind `/auth/v1`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use supaplane_crds::Project;

use super::database::{DATABASE_NAME, database_host, database_port};
use super::ingress::IngressSettings;
use super::workload::{StatelessComponent, deployment, env, env_from_keys, http_probe, service};
use crate::images::{PINNED, image_or_pinned};
use crate::keys::secret_keys;

pub const NAME: &str = "auth";
pub const PORT: i32 = 9999;
/// GoTrue's default access-token lifetime, as the self-hosting stack sets it.
pub const DEFAULT_JWT_EXPIRY_SECONDS: i32 = 3600;
/// Where GoTrue sends users when no redirect is given and none is configured.
const DEFAULT_SITE_URL: &str = "http://localhost:3000";
/// The paths in GoTrue's emails, relative to the API URL.
const MAILER_PATH: &str = "/auth/v1/verify";

pub fn render(project: &Project, ingress: &IngressSettings) -> Option<(Deployment, Service)> {
    let settings = &project.spec.components.auth;
    if !settings.enabled {
        return None;
    }
    let auth = &project.spec.auth;
    let project_ref = project.metadata.name.as_deref().unwrap_or_default();
    let env = vec![
        env("GOTRUE_API_HOST", "0.0.0.0"),
        env("GOTRUE_API_PORT", PORT.to_string()),
        env("API_EXTERNAL_URL", ingress.api_url(project_ref)),
        env("GOTRUE_DB_DRIVER", "postgres"),
        env_from_keys("AUTH_ADMIN_PASSWORD", secret_keys::AUTH_ADMIN_PASSWORD),
        // Kubernetes expands $(AUTH_ADMIN_PASSWORD) from the entry above.
        env(
            "GOTRUE_DB_DATABASE_URL",
            format!(
                "postgres://supabase_auth_admin:$(AUTH_ADMIN_PASSWORD)@{}:{}/{DATABASE_NAME}",
                database_host(project),
                database_port()
            ),
        ),
        env(
            "GOTRUE_SITE_URL",
            auth.site_url.as_deref().unwrap_or(DEFAULT_SITE_URL),
        ),
        env(
            "GOTRUE_URI_ALLOW_LIST",
            auth.additional_redirect_urls.join(","),
        ),
        env("GOTRUE_DISABLE_SIGNUP", auth.disable_signup.to_string()),
        env("GOTRUE_JWT_ADMIN_ROLES", "service_role"),
        env("GOTRUE_JWT_AUD", "authenticated"),
        env("GOTRUE_JWT_DEFAULT_GROUP_NAME", "authenticated"),
        env(
            "GOTRUE_JWT_EXP",
            auth.jwt_expiry_seconds
                .unwrap_or(DEFAULT_JWT_EXPIRY_SECONDS)
                .to_string(),
        ),
        env_from_keys("GOTRUE_JWT_SECRET", secret_keys::JWT_SECRET),
        env("GOTRUE_EXTERNAL_EMAIL_ENABLED", "true"),
        env("GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED", "false"),
        env("GOTRUE_MAILER_AUTOCONFIRM", "false"),
        env("GOTRUE_MAILER_URLPATHS_INVITE", MAILER_PATH),
        env("GOTRUE_MAILER_URLPATHS_CONFIRMATION", MAILER_PATH),
        env("GOTRUE_MAILER_URLPATHS_RECOVERY", MAILER_PATH),
        env("GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE", MAILER_PATH),
        env("GOTRUE_EXTERNAL_PHONE_ENABLED", "false"),
        env("GOTRUE_SMS_AUTOCONFIRM", "false"),
    ];
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.auth),
        port: PORT,
        env,
        args: None,
        probe: http_probe("/health", PORT),
    };
    Some((deployment(project, component), service(project, NAME, PORT)))
}
