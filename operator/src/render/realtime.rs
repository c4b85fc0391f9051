//! Realtime: broadcast, presence and database changes over websockets,
//! behind `/realtime/v1`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use supaplane_crds::Project;

use super::database::{DATABASE_NAME, database_host, database_port};
use super::workload::{
    Addressing, StatelessComponent, deployment, env, env_from_keys, pod_ip, service, tcp_probe,
};
use crate::images::{PINNED, image_or_pinned};
use crate::keys::secret_keys;

pub const NAME: &str = "realtime";
pub const PORT: i32 = 4000;
/// Realtime takes its tenant from the first label of the Host header. The
/// gateway calls `realtime.project-<ref>.svc`, so the seeded tenant must be
/// named after the Service.
pub const TENANT: &str = NAME;
/// The user of Realtime's admin dashboard.
pub const DASHBOARD_USER: &str = "supabase";

pub fn render(project: &Project) -> Option<(Deployment, Service)> {
    let settings = &project.spec.components.realtime;
    if !settings.enabled {
        return None;
    }
    let env = vec![
        env("PORT", PORT.to_string()),
        env("DB_HOST", database_host(project)),
        env("DB_PORT", database_port().to_string()),
        env("DB_USER", "supabase_admin"),
        env_from_keys("DB_PASSWORD", secret_keys::POSTGRES_PASSWORD),
        env("DB_NAME", DATABASE_NAME),
        env("DB_AFTER_CONNECT_QUERY", "SET search_path TO _realtime"),
        env_from_keys("DB_ENC_KEY", secret_keys::REALTIME_DB_ENC_KEY),
        env_from_keys("API_JWT_SECRET", secret_keys::JWT_SECRET),
        env_from_keys("SECRET_KEY_BASE", secret_keys::REALTIME_SECRET_KEY_BASE),
        env_from_keys("METRICS_JWT_SECRET", secret_keys::JWT_SECRET),
        env("ERL_AFLAGS", "-proto_dist inet_tcp"),
        // Replicas find each other through the database (Realtime's
        // default in production, named here so nobody has to look it up),
        // each named realtime@<pod IP> by the image's rel/env.sh, and
        // connect with the project's own cookie.
        env("CLUSTER_STRATEGIES", "POSTGRES"),
        pod_ip(),
        env_from_keys("RELEASE_COOKIE", secret_keys::REALTIME_RELEASE_COOKIE),
        env("DNS_NODES", "''"),
        env("RLIMIT_NOFILE", "10000"),
        env("APP_NAME", "realtime"),
        env("SEED_SELF_HOST", "true"),
        env("SELF_HOST_TENANT_NAME", TENANT),
        env("RUN_JANITOR", "true"),
        env("DISABLE_HEALTHCHECK_LOGGING", "true"),
        // Realtime's config refuses to start without dashboard credentials
        // (its admin dashboard on this port, never routed by the gateway).
        env("DASHBOARD_USER", DASHBOARD_USER),
        env_from_keys(
            "DASHBOARD_PASSWORD",
            secret_keys::REALTIME_DASHBOARD_PASSWORD,
        ),
    ];
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.realtime),
        port: PORT,
        env,
        args: None,
        // Realtime's tenant health check wants an API key in a header, which
        // a probe would have to carry in its spec; the socket answering is
        // what readiness can honestly check.
        probe: tcp_probe(PORT),
        liveness: None,
        waits_for_database: true,
        pod: Default::default(),
    };
    Some((
        deployment(project, component),
        service(project, NAME, PORT, Addressing::Headless),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;

    #[test]
    fn realtime_gets_dashboard_credentials_with_the_password_from_the_keys_secret() {
        let (deployment, _) = render(&Project::test("abc")).expect("realtime");
        let env = deployment.spec.template.spec.expect("pod").containers[0]
            .env
            .clone()
            .expect("env");
        let user = env
            .iter()
            .find(|e| e.name == "DASHBOARD_USER")
            .expect("user");
        assert_eq!(user.value.as_deref(), Some(DASHBOARD_USER));
        let password = env
            .iter()
            .find(|e| e.name == "DASHBOARD_PASSWORD")
            .and_then(|e| e.value_from.as_ref())
            .and_then(|from| from.secret_key_ref.as_ref())
            .expect("password from a Secret");
        assert_eq!(password.key, secret_keys::REALTIME_DASHBOARD_PASSWORD);
    }

    #[test]
    fn replicas_can_cluster_with_their_pod_ip_and_the_projects_own_cookie() {
        let (deployment, _) = render(&Project::test("abc")).expect("realtime");
        let env = deployment.spec.template.spec.expect("pod").containers[0]
            .env
            .clone()
            .expect("env");
        let find = |name: &str| env.iter().find(|e| e.name == name).cloned();
        // rel/env.sh names the node realtime@$POD_IP; without it every
        // replica is realtime@127.0.0.1 and none can reach another.
        let pod_ip = find("POD_IP")
            .and_then(|e| e.value_from)
            .and_then(|f| f.field_ref);
        assert_eq!(
            pod_ip.map(|f| f.field_path).as_deref(),
            Some("status.podIP")
        );
        let cookie = find("RELEASE_COOKIE")
            .and_then(|e| e.value_from)
            .and_then(|f| f.secret_key_ref)
            .expect("cookie from the keys Secret");
        assert_eq!(cookie.key, secret_keys::REALTIME_RELEASE_COOKIE);
        assert_eq!(
            find("CLUSTER_STRATEGIES").and_then(|e| e.value).as_deref(),
            Some("POSTGRES")
        );
    }
}
