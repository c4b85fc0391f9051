//! Kong: the API gateway in front of a project's services, run as the
//! official self-hosting stack runs it (DB-less, one declarative config).
//!
//! The declarative config is generated here from Rust data, the equivalent
//! of the official `docker/volumes/api/kong.yml` for the services a project
//! runs, with a route only for the components that are enabled:
//!
//! - `/auth/v1/verify`, `/auth/v1/callback`, `/auth/v1/authorize`: open
//!   (CORS only), as GoTrue's email links and OAuth redirects carry no key;
//! - `/auth/v1/`, `/rest/v1/`, `/graphql/v1`, `/realtime/v1/` (the socket)
//!   and `/realtime/v1/api`: an API key (anon or service_role) required;
//! - `/realtime/v1/api/tenants` and `/realtime/v1/api/openapi`: refused
//!   (403), as upstream does: Realtime's tenant API trusts any JWT signed
//!   with the project's secret, the public anon key included;
//! - `/storage/v1/`: CORS only, the Storage API checks the JWT itself;
//! - `/pg/`: pg-meta, the service_role key (the `admin` group) only.
//!
//! Deliberately left out of the official config: the `DASHBOARD` consumer,
//! its basic-auth credentials and the catch-all Studio route (Studio is
//! served elsewhere, not through a project's gateway), the MCP routes (they
//! are Studio's), and the edge-functions and analytics routes (functions
//! and analytics are not part of a project stack yet). The newer upstream
//! request-transformer rules that translate opaque `sb_` keys into JWTs are
//! left out too: a project has only the JWT anon and service_role keys.
//!
//! The config holds both API keys, so it lives in a Secret, mounted
//! read-only; the Deployment carries only the config's hash, which rolls the
//! pods when the config (keys or routes) changes.

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ContainerPort, Secret, SecretVolumeSource, Service, Volume};
use serde_json::{Value, json};
use supaplane_crds::Project;
use supaplane_crds::digest::sha256_hex;

use super::workload::{
    Addressing, MountedVolume, PodExtras, StatelessComponent, deployment, env, http_probe, service,
    service_url,
};
use super::{auth, child_metadata, meta, realtime, rest, storage};
use crate::images::{PINNED, image_or_pinned};
use crate::keys::ProjectKeys;

pub const NAME: &str = "gateway";
pub const PORT: i32 = 8000;
/// The Secret that holds the declarative config: it contains the API keys.
pub const CONFIG_SECRET: &str = "gateway-config";
/// The config's key in the Secret and its file name in the pod. JSON, which
/// Kong reads by the `.json` extension (it picks its parser by extension).
pub const CONFIG_FILE: &str = "kong.json";
/// Where the config Secret is mounted.
pub const CONFIG_DIR: &str = "/etc/kong/declarative";
/// Kong's status API (`/status`), enabled for the probes: Kong 2.8 has no
/// status listener by default.
pub const STATUS_PORT: i32 = 8100;
/// Pod-template annotation with the SHA-256 of the config.
pub const CONFIG_HASH_ANNOTATION: &str = "supaplane.io/config-hash";

/// The plugins the config uses; Kong loads only these.
const PLUGINS: &str = "request-transformer,cors,key-auth,acl,request-termination";
/// The ACL group of the service_role consumer; anon's group is `anon`.
const ADMIN_GROUP: &str = "admin";
const ANON_GROUP: &str = "anon";
const CONFIG_VOLUME: &str = "config";

/// One Kong service with its single route.
struct Upstream {
    /// The service's (and its route's base) name.
    name: &'static str,
    /// The route's name, as the official config names it.
    route: &'static str,
    /// The path prefix the route matches; Kong strips it before proxying.
    path: &'static str,
    /// The upstream URL the stripped request is appended to.
    url: String,
    plugins: Vec<Value>,
}

impl Upstream {
    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "url": self.url,
            "routes": [{
                "name": self.route,
                "strip_path": true,
                "paths": [self.path],
            }],
            "plugins": self.plugins,
        })
    }
}

fn cors() -> Value {
    json!({"name": "cors"})
}

/// Requires an API key (header or query `apikey`); the key is passed on, as
/// Realtime and GoTrue read it.
fn key_auth() -> Value {
    json!({"name": "key-auth", "config": {"hide_credentials": false}})
}

fn acl(groups: &[&str]) -> Value {
    json!({"name": "acl", "config": {"hide_groups_header": true, "allow": groups}})
}

fn forbidden() -> Value {
    json!({
        "name": "request-termination",
        "config": {"status_code": 403, "message": "Access is forbidden."},
    })
}

/// The plugins of a route any API key may use.
fn keyed(extra: Vec<Value>) -> Vec<Value> {
    let mut plugins = vec![cors(), key_auth()];
    plugins.extend(extra);
    plugins.push(acl(&[ADMIN_GROUP, ANON_GROUP]));
    plugins
}

/// The services and routes of the enabled components, in the official
/// config's order.
fn upstreams(project: &Project) -> Vec<Upstream> {
    let components = &project.spec.components;
    let mut upstreams = Vec::new();
    if components.auth.enabled {
        let auth = service_url(project, auth::NAME, auth::PORT);
        for (name, path, upstream_path) in [
            ("auth-v1-open", "/auth/v1/verify", "/verify"),
            ("auth-v1-open-callback", "/auth/v1/callback", "/callback"),
            ("auth-v1-open-authorize", "/auth/v1/authorize", "/authorize"),
        ] {
            upstreams.push(Upstream {
                name,
                route: name,
                path,
                url: format!("{auth}{upstream_path}"),
                plugins: vec![cors()],
            });
        }
        upstreams.push(Upstream {
            name: "auth-v1",
            route: "auth-v1-all",
            path: "/auth/v1/",
            url: format!("{auth}/"),
            plugins: keyed(vec![]),
        });
    }
    if components.rest.enabled {
        let rest = service_url(project, rest::NAME, rest::PORT);
        upstreams.push(Upstream {
            name: "rest-v1",
            route: "rest-v1-all",
            path: "/rest/v1/",
            url: format!("{rest}/"),
            plugins: keyed(vec![]),
        });
        upstreams.push(Upstream {
            name: "graphql-v1",
            route: "graphql-v1-all",
            path: "/graphql/v1",
            url: format!("{rest}/rpc/graphql"),
            plugins: keyed(vec![json!({
                "name": "request-transformer",
                "config": {"add": {"headers": ["Content-Profile:graphql_public"]}},
            })]),
        });
    }
    if components.realtime.enabled {
        let realtime = service_url(project, realtime::NAME, realtime::PORT);
        // The official config also sets `protocol: ws` here; Kong 2.8 takes
        // the protocol from `url`, and proxies WebSocket upgrades over http.
        upstreams.push(Upstream {
            name: "realtime-v1-ws",
            route: "realtime-v1-ws",
            path: "/realtime/v1/",
            url: format!("{realtime}/socket"),
            plugins: keyed(vec![]),
        });
        for (name, path, upstream_path) in [
            (
                "realtime-v1-rest-openapi",
                "/realtime/v1/api/openapi",
                "/api/openapi",
            ),
            (
                "realtime-v1-rest-tenants",
                "/realtime/v1/api/tenants",
                "/api/tenants",
            ),
        ] {
            upstreams.push(Upstream {
                name,
                route: name,
                path,
                url: format!("{realtime}{upstream_path}"),
                plugins: vec![forbidden()],
            });
        }
        upstreams.push(Upstream {
            name: "realtime-v1-rest",
            route: "realtime-v1-rest",
            path: "/realtime/v1/api",
            url: format!("{realtime}/api"),
            plugins: keyed(vec![]),
        });
    }
    if components.storage.enabled {
        upstreams.push(Upstream {
            name: "storage-v1",
            route: "storage-v1-all",
            path: "/storage/v1/",
            url: format!("{}/", service_url(project, storage::NAME, storage::PORT)),
            plugins: vec![cors()],
        });
    }
    if components.meta.enabled {
        upstreams.push(Upstream {
            name: "meta",
            route: "meta-all",
            path: "/pg/",
            url: format!("{}/", service_url(project, meta::NAME, meta::PORT)),
            plugins: vec![key_auth(), acl(&[ADMIN_GROUP])],
        });
    }
    upstreams
}

/// Kong's declarative config for the project.
fn declarative_config(project: &Project, keys: &ProjectKeys) -> Value {
    json!({
        "_format_version": "2.1",
        "_transform": true,
        "consumers": [
            {"username": "anon", "keyauth_credentials": [{"key": keys.anon_key}]},
            {"username": "service_role", "keyauth_credentials": [{"key": keys.service_role_key}]},
        ],
        "acls": [
            {"consumer": "anon", "group": ANON_GROUP},
            {"consumer": "service_role", "group": ADMIN_GROUP},
        ],
        "services": upstreams(project).iter().map(Upstream::to_json).collect::<Vec<_>>(),
    })
}

/// The config file's bytes: pretty JSON, deterministic for given inputs.
fn config_bytes(project: &Project, keys: &ProjectKeys) -> Vec<u8> {
    // Serialising a `Value` cannot fail.
    serde_json::to_vec_pretty(&declarative_config(project, keys)).unwrap_or_default()
}

/// The gateway's Deployment, Service and config Secret; `None` when the
/// gateway is disabled.
pub fn render(project: &Project, keys: &ProjectKeys) -> Option<(Deployment, Service, Secret)> {
    let settings = &project.spec.components.gateway;
    if !settings.enabled {
        return None;
    }
    let config = config_bytes(project, keys);
    let config_hash = sha256_hex(&config);

    let env = vec![
        env("KONG_DATABASE", "off"),
        env(
            "KONG_DECLARATIVE_CONFIG",
            format!("{CONFIG_DIR}/{CONFIG_FILE}"),
        ),
        // https://github.com/supabase/cli/issues/14
        env("KONG_DNS_ORDER", "LAST,A,CNAME"),
        // The backends' Services are headless: a backend not yet ready has
        // no address, and Kong would remember that for 30 s (its default)
        // after the backend came up.
        env("KONG_DNS_NOT_FOUND_TTL", "1"),
        env("KONG_PLUGINS", PLUGINS),
        env("KONG_NGINX_PROXY_PROXY_BUFFER_SIZE", "160k"),
        env("KONG_NGINX_PROXY_PROXY_BUFFERS", "64 160k"),
        // The default, `auto`, starts one worker per CPU of the node, which
        // a project's memory limit does not allow for on a large node.
        env("KONG_NGINX_WORKER_PROCESSES", "2"),
        // Plain HTTP only: TLS ends at the ingress.
        env("KONG_PROXY_LISTEN", format!("0.0.0.0:{PORT}")),
        env("KONG_STATUS_LISTEN", format!("0.0.0.0:{STATUS_PORT}")),
    ];
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.gateway),
        port: PORT,
        env,
        args: None,
        // Kong 2.8's status API answers 200 once the proxy is serving.
        probe: http_probe("/status", STATUS_PORT),
        liveness: None,
        waits_for_database: false,
        pod: PodExtras {
            volumes: vec![MountedVolume {
                volume: Volume {
                    name: CONFIG_VOLUME.to_string(),
                    secret: Some(SecretVolumeSource {
                        secret_name: Some(CONFIG_SECRET.to_string()),
                        optional: Some(false),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                mount_path: CONFIG_DIR,
                read_only: true,
            }],
            ports: vec![ContainerPort {
                name: Some("status".to_string()),
                container_port: STATUS_PORT,
                protocol: Some("TCP".to_string()),
                ..Default::default()
            }],
            // A new config rolls the pods: Kong reads it only at start.
            annotations: [(CONFIG_HASH_ANNOTATION.to_string(), config_hash)].into(),
            ..Default::default()
        },
    };
    let deployment = deployment(project, component);

    let secret = Secret {
        metadata: child_metadata(project, CONFIG_SECRET, NAME),
        type_: Some("Opaque".to_string()),
        data: Some([(CONFIG_FILE.to_string(), ByteString(config))].into()),
        ..Default::default()
    };

    Some((
        deployment,
        service(project, NAME, PORT, Addressing::ClusterIp),
        secret,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use supaplane_crds::Project;

    fn keys(seed: u64) -> ProjectKeys {
        ProjectKeys::generate(&mut StdRng::seed_from_u64(seed), 0, None).expect("keys")
    }

    fn rendered(project: &Project, keys: &ProjectKeys) -> (Deployment, Service, Secret) {
        render(project, keys).expect("the gateway is enabled by default")
    }

    /// The config as Kong reads it, parsed back from the Secret.
    fn config_of(secret: &Secret) -> Value {
        let data = secret.data.as_ref().expect("data");
        serde_json::from_slice(&data[CONFIG_FILE].0).expect("the config is JSON")
    }

    fn services(config: &Value) -> &Vec<Value> {
        config["services"].as_array().expect("services")
    }

    /// The service whose route matches `path` exactly.
    fn service_for<'a>(config: &'a Value, path: &str) -> Option<&'a Value> {
        services(config).iter().find(|service| {
            service["routes"]
                .as_array()
                .expect("routes")
                .iter()
                .any(|route| {
                    route["paths"]
                        .as_array()
                        .expect("paths")
                        .contains(&json!(path))
                })
        })
    }

    fn plugin<'a>(service: &'a Value, name: &str) -> Option<&'a Value> {
        service["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .find(|plugin| plugin["name"] == name)
    }

    fn allowed_groups(service: &Value) -> Vec<String> {
        let acl = plugin(service, "acl").expect("an acl");
        serde_json::from_value(acl["config"]["allow"].clone()).expect("groups")
    }

    #[test]
    fn every_route_points_at_its_in_cluster_upstream() {
        let (_, _, secret) = rendered(&Project::test("abc"), &keys(1));
        let config = config_of(&secret);
        assert_eq!(config["_format_version"], "2.1");
        for (path, url) in [
            ("/auth/v1/verify", "http://auth.project-abc.svc:9999/verify"),
            (
                "/auth/v1/callback",
                "http://auth.project-abc.svc:9999/callback",
            ),
            (
                "/auth/v1/authorize",
                "http://auth.project-abc.svc:9999/authorize",
            ),
            ("/auth/v1/", "http://auth.project-abc.svc:9999/"),
            ("/rest/v1/", "http://rest.project-abc.svc:3000/"),
            (
                "/graphql/v1",
                "http://rest.project-abc.svc:3000/rpc/graphql",
            ),
            (
                "/realtime/v1/",
                "http://realtime.project-abc.svc:4000/socket",
            ),
            (
                "/realtime/v1/api",
                "http://realtime.project-abc.svc:4000/api",
            ),
            ("/storage/v1/", "http://storage.project-abc.svc:5000/"),
            ("/pg/", "http://meta.project-abc.svc:8080/"),
        ] {
            let service = service_for(&config, path).unwrap_or_else(|| panic!("route {path}"));
            assert_eq!(service["url"], url, "upstream of {path}");
            assert_eq!(service["routes"][0]["strip_path"], true);
        }
        // Service and route names are unique, as Kong requires.
        let mut names: Vec<&str> = services(&config)
            .iter()
            .map(|s| s["name"].as_str().expect("name"))
            .collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn keyed_routes_require_an_api_key_and_open_ones_do_not() {
        let (_, _, secret) = rendered(&Project::test("abc"), &keys(1));
        let config = config_of(&secret);
        for path in [
            "/auth/v1/",
            "/rest/v1/",
            "/graphql/v1",
            "/realtime/v1/",
            "/realtime/v1/api",
        ] {
            let service = service_for(&config, path).expect("route");
            let key_auth = plugin(service, "key-auth").unwrap_or_else(|| panic!("{path} keyed"));
            assert_eq!(key_auth["config"]["hide_credentials"], false);
            assert_eq!(allowed_groups(service), ["admin", "anon"]);
            assert!(plugin(service, "cors").is_some());
        }
        for path in [
            "/auth/v1/verify",
            "/auth/v1/callback",
            "/auth/v1/authorize",
            "/storage/v1/",
        ] {
            let service = service_for(&config, path).expect("route");
            assert!(plugin(service, "key-auth").is_none(), "{path} is open");
            assert!(plugin(service, "cors").is_some());
        }
        let graphql = service_for(&config, "/graphql/v1").expect("graphql");
        assert_eq!(
            plugin(graphql, "request-transformer").expect("transformer")["config"]["add"]["headers"],
            json!(["Content-Profile:graphql_public"])
        );
        for path in ["/realtime/v1/api/tenants", "/realtime/v1/api/openapi"] {
            let service = service_for(&config, path).expect("blocked route");
            let termination = plugin(service, "request-termination").expect("blocked");
            assert_eq!(termination["config"]["status_code"], 403);
        }
    }

    #[test]
    fn pg_meta_is_for_the_service_role_only() {
        let (_, _, secret) = rendered(&Project::test("abc"), &keys(1));
        let config = config_of(&secret);
        let meta = service_for(&config, "/pg/").expect("pg-meta route");
        assert!(plugin(meta, "key-auth").is_some());
        assert_eq!(allowed_groups(meta), ["admin"]);
        let acls = config["acls"].as_array().expect("acls");
        let admins: Vec<&Value> = acls.iter().filter(|a| a["group"] == "admin").collect();
        assert_eq!(admins.len(), 1);
        assert_eq!(admins[0]["consumer"], "service_role");
    }

    #[test]
    fn consumers_carry_exactly_the_project_keys() {
        let keys = keys(1);
        let (_, _, secret) = rendered(&Project::test("abc"), &keys);
        let config = config_of(&secret);
        let consumers = config["consumers"].as_array().expect("consumers");
        assert_eq!(consumers.len(), 2);
        let credentials = |username: &str| -> Value {
            consumers
                .iter()
                .find(|c| c["username"] == username)
                .unwrap_or_else(|| panic!("consumer {username}"))["keyauth_credentials"]
                .clone()
        };
        assert_eq!(credentials("anon"), json!([{"key": keys.anon_key}]));
        assert_eq!(
            credentials("service_role"),
            json!([{"key": keys.service_role_key}])
        );
        assert!(config.get("basicauth_credentials").is_none());
    }

    #[test]
    fn a_disabled_component_has_no_route() {
        let mut project = Project::test("abc");
        project.spec.components.meta.enabled = false;
        project.spec.components.realtime.enabled = false;
        let (_, _, secret) = rendered(&project, &keys(1));
        let config = config_of(&secret);
        assert!(service_for(&config, "/pg/").is_none());
        for service in services(&config) {
            assert!(
                !service["url"].as_str().expect("url").contains("realtime."),
                "no realtime upstream: {service}"
            );
        }
        assert!(service_for(&config, "/rest/v1/").is_some());

        project.spec.components.auth.enabled = false;
        let (_, _, secret) = rendered(&project, &keys(1));
        let config = config_of(&secret);
        assert!(service_for(&config, "/auth/v1/").is_none());
        assert!(service_for(&config, "/auth/v1/verify").is_none());
    }

    #[test]
    fn a_disabled_gateway_renders_nothing() {
        let mut project = Project::test("abc");
        project.spec.components.gateway.enabled = false;
        assert!(render(&project, &keys(1)).is_none());
    }

    #[test]
    fn no_key_appears_in_the_deployment() {
        let keys = keys(1);
        let (deployment, service, _) = rendered(&Project::test("abc"), &keys);
        for object in [
            serde_json::to_string(&deployment).expect("json"),
            serde_json::to_string(&service).expect("json"),
        ] {
            for secret in [&keys.anon_key, &keys.service_role_key, &keys.jwt_secret] {
                assert!(!object.contains(secret.as_str()));
            }
        }
    }

    #[test]
    fn the_deployment_mounts_the_config_and_probes_the_status_api() {
        let project = Project::test("abc");
        let (deployment, service, secret) = rendered(&project, &keys(1));
        assert_eq!(deployment.metadata.name.as_deref(), Some(NAME));
        assert_eq!(
            deployment.metadata.namespace.as_deref(),
            Some("project-abc")
        );
        assert!(deployment.metadata.owner_references.is_some());
        assert_eq!(secret.metadata.name.as_deref(), Some(CONFIG_SECRET));
        assert_eq!(secret.metadata.namespace.as_deref(), Some("project-abc"));
        assert!(secret.metadata.owner_references.is_some());
        assert!(secret.string_data.is_none());

        let pod = deployment.spec.template.spec.expect("pod spec");
        let volume = &pod.volumes.expect("volumes")[0];
        assert_eq!(
            volume
                .secret
                .as_ref()
                .and_then(|s| s.secret_name.as_deref()),
            Some(CONFIG_SECRET)
        );
        let container = &pod.containers[0];
        assert_eq!(container.image.as_deref(), Some(PINNED.gateway));
        let mount = &container.volume_mounts.as_ref().expect("mounts")[0];
        assert_eq!(mount.name, volume.name);
        assert_eq!(mount.read_only, Some(true));
        let env = container.env.as_ref().expect("env");
        let value = |name: &str| {
            env.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
        };
        assert_eq!(value("KONG_DATABASE").as_deref(), Some("off"));
        assert_eq!(value("KONG_DNS_NOT_FOUND_TTL").as_deref(), Some("1"));
        assert_eq!(
            value("KONG_DECLARATIVE_CONFIG"),
            Some(format!("{}/{CONFIG_FILE}", mount.mount_path))
        );
        assert_eq!(value("KONG_STATUS_LISTEN").as_deref(), Some("0.0.0.0:8100"));
        let ports = container.ports.as_ref().expect("ports");
        assert!(
            ports
                .iter()
                .any(|p| p.name.as_deref() == Some("http") && p.container_port == PORT)
        );
        assert!(
            ports
                .iter()
                .any(|p| p.name.as_deref() == Some("status") && p.container_port == STATUS_PORT)
        );
        let probe = container
            .readiness_probe
            .as_ref()
            .and_then(|p| p.http_get.as_ref())
            .expect("http probe");
        assert_eq!(probe.path.as_deref(), Some("/status"));
        assert_eq!(probe.port, IntOrString::Int(STATUS_PORT));

        let service_spec = service.spec.expect("spec");
        assert_eq!(service.metadata.name.as_deref(), Some(NAME));
        assert_eq!(service_spec.ports.expect("ports")[0].port, PORT);
    }

    #[test]
    fn an_image_override_replaces_the_pinned_image() {
        let mut project = Project::test("abc");
        project.spec.components.gateway.image = Some("registry.local/kong:custom".into());
        let (deployment, _, _) = rendered(&project, &keys(1));
        let pod = deployment.spec.template.spec.expect("pod spec");
        assert_eq!(
            pod.containers[0].image.as_deref(),
            Some("registry.local/kong:custom")
        );
    }

    fn config_hash(deployment: &Deployment) -> String {
        deployment
            .spec
            .template
            .metadata
            .as_ref()
            .and_then(|m| m.annotations.as_ref())
            .and_then(|a| a.get(CONFIG_HASH_ANNOTATION))
            .cloned()
            .expect("config hash")
    }

    #[test]
    fn the_config_hash_follows_the_config() {
        let project = Project::test("abc");
        let (first, _, secret) = rendered(&project, &keys(1));
        let (again, _, _) = rendered(&project, &keys(1));
        let (rekeyed, _, _) = rendered(&project, &keys(2));
        let hash = config_hash(&first);
        assert_eq!(hash.len(), 64);
        assert_eq!(
            hash,
            sha256_hex(&secret.data.as_ref().expect("data")[CONFIG_FILE].0)
        );
        assert_eq!(hash, config_hash(&again), "rendering is deterministic");
        assert_ne!(hash, config_hash(&rekeyed));
    }
}
