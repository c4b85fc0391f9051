//! PostgREST: the REST (and GraphQL) API over the project's database.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use supaplane_crds::Project;

use super::database::{DATABASE_NAME, database_host, database_port};
use super::workload::{
    Addressing, StatelessComponent, deployment, env, env_from_keys, http_probe, service,
};
use crate::images::{PINNED, image_or_pinned};
use crate::keys::secret_keys;

pub const NAME: &str = "rest";
/// PostgREST's admin server (`/live`, `/ready`).
pub const ADMIN_PORT: i32 = 3001;
pub const PORT: i32 = 3000;
use supaplane_crds::constants::postgrest;
/// The schemas PostgREST serves, as in the self-hosting stack.
pub use supaplane_crds::constants::postgrest::SCHEMAS;

pub fn render(project: &Project) -> Option<(Deployment, Service)> {
    let settings = &project.spec.components.rest;
    if !settings.enabled {
        return None;
    }
    let jwt_expiry = project.spec.auth.jwt_expiry();
    let env = vec![
        env_from_keys(
            "AUTHENTICATOR_PASSWORD",
            secret_keys::AUTHENTICATOR_PASSWORD,
        ),
        // Kubernetes expands $(AUTHENTICATOR_PASSWORD) from the entry above.
        env(
            "PGRST_DB_URI",
            format!(
                "postgres://authenticator:$(AUTHENTICATOR_PASSWORD)@{}:{}/{DATABASE_NAME}",
                database_host(project),
                database_port()
            ),
        ),
        env("PGRST_DB_SCHEMAS", SCHEMAS),
        env("PGRST_DB_MAX_ROWS", postgrest::MAX_ROWS.to_string()),
        env("PGRST_DB_EXTRA_SEARCH_PATH", postgrest::EXTRA_SEARCH_PATH),
        env("PGRST_DB_ANON_ROLE", postgrest::ANON_ROLE),
        env_from_keys("PGRST_JWT_SECRET", secret_keys::JWT_SECRET),
        env("PGRST_DB_USE_LEGACY_GUCS", "false"),
        env_from_keys("PGRST_APP_SETTINGS_JWT_SECRET", secret_keys::JWT_SECRET),
        env("PGRST_APP_SETTINGS_JWT_EXP", jwt_expiry.to_string()),
        env("PGRST_ADMIN_SERVER_PORT", ADMIN_PORT.to_string()),
    ];
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.rest),
        port: PORT,
        env,
        args: None,
        // PostgREST's admin server answers /ready once its schema cache is loaded.
        // PostgREST's admin server: /ready fails while the database is
        // down, /live only when PostgREST itself is stuck.
        probe: http_probe("/ready", ADMIN_PORT),
        liveness: Some(http_probe("/live", ADMIN_PORT)),
        waits_for_database: false,
        pod: Default::default(),
    };
    Some((
        deployment(project, component),
        service(project, NAME, PORT, Addressing::Headless),
    ))
}
