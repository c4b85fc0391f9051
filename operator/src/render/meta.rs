//! pg-meta: the database API Studio's table and SQL editors use.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use supaplane_crds::Project;

use super::database::{DATABASE_NAME, database_host, database_port};
use super::workload::{
    Addressing, StatelessComponent, deployment, env, env_from_keys, http_probe, service,
};
use crate::images::{PINNED, image_or_pinned};
use crate::keys::secret_keys;

pub const NAME: &str = "meta";
pub const PORT: i32 = 8080;

pub fn render(project: &Project) -> Option<(Deployment, Service)> {
    let settings = &project.spec.components.meta;
    if !settings.enabled {
        return None;
    }
    let env = vec![
        env("PG_META_PORT", PORT.to_string()),
        env("PG_META_DB_HOST", database_host(project)),
        env("PG_META_DB_PORT", database_port().to_string()),
        env("PG_META_DB_NAME", DATABASE_NAME),
        env("PG_META_DB_USER", "supabase_admin"),
        env_from_keys("PG_META_DB_PASSWORD", secret_keys::POSTGRES_PASSWORD),
        env_from_keys("CRYPTO_KEY", secret_keys::PG_META_CRYPTO_KEY),
    ];
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.meta),
        port: PORT,
        env,
        args: None,
        probe: http_probe("/health", PORT),
        liveness: None,
        waits_for_database: false,
        pod: Default::default(),
    };
    Some((
        deployment(project, component),
        service(project, NAME, PORT, Addressing::Headless),
    ))
}
