//! The project's Postgres (`supabase/postgres`): a StatefulSet on its own
//! volume, a headless Service, and the init SQL the self-hosting stack runs
//! on first boot (role passwords, JWT settings, realtime, webhooks, logs).

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, ExecAction, PersistentVolumeClaim,
    PodSpec, PodTemplateSpec, Probe, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;
use supaplane_crds::Project;
use supaplane_crds::constants::{KEYS_SECRET_NAME, project_namespace};

use super::workload::{claim_volume, env, env_from_keys, selector, volume_claim};
use super::{child_metadata, labels};
use crate::images::{self, image_or_pinned};
use crate::keys::secret_keys;

/// The StatefulSet, its headless Service and the component label.
pub const NAME: &str = "db";
/// The Postgres Service of every project.
pub const SERVICE_NAME: &str = NAME;
pub const DATA_CLAIM: &str = "db-data";
pub const INIT_SCRIPTS: &str = "db-init";
pub const DATABASE_NAME: &str = "postgres";
const PORT: i32 = 5432;
const DATA_PATH: &str = "/var/lib/postgresql/data";

/// The init SQL: ConfigMap key, where the image's entrypoint runs it, and
/// the SQL. Mounted file by file so the image's own scripts in the same
/// directories stay visible.
/// Where the database container finds the project's pgsodium / Vault root
/// key and the script that hands it to Postgres.
const PGSODIUM_DIR: &str = "/etc/supaplane/pgsodium";
const PGSODIUM_GETKEY_ENTRY: &str = "pgsodium-getkey.sh";
/// pgsodium and Vault run `*.getkey_script` at server start and read the
/// root key (64 hex characters) from its output. The image's own script
/// makes a new key inside the container, so one restart loses it; this one
/// prints the key kept in the project's keys Secret.
fn pgsodium_getkey_script() -> String {
    format!("#!/bin/sh\nexec cat {PGSODIUM_DIR}/root.key\n")
}

pub const INIT_SQL: [(&str, &str, &str); 7] = [
    (
        "webhooks.sql",
        "/docker-entrypoint-initdb.d/init-scripts/98-webhooks.sql",
        include_str!("sql/webhooks.sql"),
    ),
    (
        "roles.sql",
        "/docker-entrypoint-initdb.d/init-scripts/99-roles.sql",
        include_str!("sql/roles.sql"),
    ),
    (
        "jwt.sql",
        "/docker-entrypoint-initdb.d/init-scripts/99-jwt.sql",
        include_str!("sql/jwt.sql"),
    ),
    (
        "supabase.sql",
        "/docker-entrypoint-initdb.d/migrations/97-_supabase.sql",
        include_str!("sql/supabase.sql"),
    ),
    (
        "realtime.sql",
        "/docker-entrypoint-initdb.d/migrations/99-realtime.sql",
        include_str!("sql/realtime.sql"),
    ),
    (
        "logs.sql",
        "/docker-entrypoint-initdb.d/migrations/99-logs.sql",
        include_str!("sql/logs.sql"),
    ),
    (
        "pooler.sql",
        "/docker-entrypoint-initdb.d/migrations/99-pooler.sql",
        include_str!("sql/pooler.sql"),
    ),
];

/// The text of one init script, by its ConfigMap key.
pub fn init_sql(key: &str) -> Option<&'static str> {
    INIT_SQL
        .iter()
        .find(|(name, _, _)| *name == key)
        .map(|(_, _, text)| *text)
}

pub fn database_host(project: &Project) -> String {
    format!(
        "{SERVICE_NAME}.{}.svc",
        project_namespace(super::project_ref(project))
    )
}

pub fn database_port() -> i32 {
    PORT
}

/// Everything the database runs as.
#[derive(Debug, Clone)]
pub struct DatabaseObjects {
    pub stateful_set: StatefulSet,
    pub service: Service,
    pub claim: PersistentVolumeClaim,
    pub init_scripts: ConfigMap,
}

fn metadata(project: &Project, name: &str) -> ObjectMeta {
    child_metadata(project, name, NAME)
}

fn pg_isready() -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(
                ["pg_isready", "-U", "postgres", "-h", "localhost"]
                    .map(String::from)
                    .to_vec(),
            ),
        }),
        period_seconds: Some(10),
        timeout_seconds: Some(5),
        failure_threshold: Some(6),
        ..Default::default()
    }
}

/// The getkey script (executable) and the root key (readable by the
/// `postgres` user the image steps down to) in one read-only directory.
fn pgsodium_volume() -> Volume {
    use k8s_openapi::api::core::v1::{
        ConfigMapProjection, KeyToPath, ProjectedVolumeSource, SecretProjection, VolumeProjection,
    };
    let item = |key: &str, path: &str, mode: i32| KeyToPath {
        key: key.to_string(),
        path: path.to_string(),
        mode: Some(mode),
        ..Default::default()
    };
    Volume {
        name: "pgsodium".to_string(),
        projected: Some(ProjectedVolumeSource {
            sources: Some(vec![
                VolumeProjection {
                    config_map: Some(ConfigMapProjection {
                        name: INIT_SCRIPTS.to_string(),
                        items: Some(vec![item(PGSODIUM_GETKEY_ENTRY, "getkey", 0o555)]),
                        optional: Some(false),
                    }),
                    ..Default::default()
                },
                VolumeProjection {
                    secret: Some(SecretProjection {
                        name: KEYS_SECRET_NAME.to_string(),
                        items: Some(vec![item(
                            secret_keys::PGSODIUM_ROOT_KEY,
                            "root.key",
                            0o444,
                        )]),
                        optional: Some(false),
                    }),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The Postgres image the project runs: its override, else the pinned image
/// of its major version.
pub fn image(project: &Project) -> String {
    image_or_pinned(
        project.spec.database.image.as_ref(),
        images::postgres(project.spec.postgres_version),
    )
}

pub fn render(project: &Project) -> DatabaseObjects {
    let spec = &project.spec.database;
    let jwt_expiry = project.spec.auth.jwt_expiry();
    let env = vec![
        env("POSTGRES_HOST", "/var/run/postgresql"),
        env("PGPORT", PORT.to_string()),
        env("POSTGRES_PORT", PORT.to_string()),
        env("PGDATABASE", DATABASE_NAME),
        env("POSTGRES_DB", DATABASE_NAME),
        env_from_keys("POSTGRES_PASSWORD", secret_keys::POSTGRES_PASSWORD),
        env_from_keys("PGPASSWORD", secret_keys::POSTGRES_PASSWORD),
        env_from_keys(
            "AUTHENTICATOR_PASSWORD",
            secret_keys::AUTHENTICATOR_PASSWORD,
        ),
        env_from_keys("AUTH_ADMIN_PASSWORD", secret_keys::AUTH_ADMIN_PASSWORD),
        env_from_keys(
            "STORAGE_ADMIN_PASSWORD",
            secret_keys::STORAGE_ADMIN_PASSWORD,
        ),
        env_from_keys("READ_ONLY_PASSWORD", secret_keys::READ_ONLY_PASSWORD),
        env_from_keys("JWT_SECRET", secret_keys::JWT_SECRET),
        env("JWT_EXP", jwt_expiry.to_string()),
    ];
    let mut mounts = vec![VolumeMount {
        name: "data".to_string(),
        mount_path: DATA_PATH.to_string(),
        // A fresh volume's root may hold lost+found, which initdb refuses.
        sub_path: Some("pgdata".to_string()),
        ..Default::default()
    }];
    mounts.extend(INIT_SQL.iter().map(|(key, path, _)| VolumeMount {
        name: "init-scripts".to_string(),
        mount_path: path.to_string(),
        sub_path: Some(key.to_string()),
        read_only: Some(true),
        ..Default::default()
    }));
    mounts.push(VolumeMount {
        name: "pgsodium".to_string(),
        mount_path: PGSODIUM_DIR.to_string(),
        read_only: Some(true),
        ..Default::default()
    });
    let container = Container {
        name: NAME.to_string(),
        image: Some(image(project)),
        args: Some(
            [
                "postgres",
                "-c",
                "config_file=/etc/postgresql/postgresql.conf",
                "-c",
                "log_min_messages=fatal",
            ]
            .map(String::from)
            .into_iter()
            .chain(["pgsodium", "vault"].into_iter().flat_map(|extension| {
                [
                    "-c".to_string(),
                    format!("{extension}.getkey_script={PGSODIUM_DIR}/getkey"),
                ]
            }))
            .collect(),
        ),
        env: Some(env),
        ports: Some(vec![ContainerPort {
            name: Some("postgres".to_string()),
            container_port: PORT,
            protocol: Some("TCP".to_string()),
            ..Default::default()
        }]),
        // The first boot runs initdb and the image's migrations with TCP
        // closed; killing it half-way leaves a database that never gets
        // them. Thirty minutes to start, then liveness takes over.
        startup_probe: Some(Probe {
            failure_threshold: Some(180),
            ..pg_isready()
        }),
        readiness_probe: Some(pg_isready()),
        liveness_probe: Some(pg_isready()),
        resources: Some(spec.resources.as_deref().cloned().unwrap_or_else(|| {
            super::resources::database(project.spec.instance_size).requirements()
        })),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let stateful_set = StatefulSet {
        metadata: metadata(project, NAME),
        spec: StatefulSetSpec {
            service_name: Some(SERVICE_NAME.to_string()),
            replicas: Some(if project.spec.paused { 0 } else { 1 }),
            selector: LabelSelector {
                match_labels: Some(selector(project, NAME)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels(project, NAME)),
                    annotations: super::restart::template_annotations(project, NAME),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    containers: vec![container],
                    volumes: Some(vec![
                        claim_volume("data", DATA_CLAIM),
                        Volume {
                            name: "init-scripts".to_string(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: INIT_SCRIPTS.to_string(),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        pgsodium_volume(),
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let service = Service {
        metadata: metadata(project, SERVICE_NAME),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_string()),
            selector: Some(selector(project, NAME)),
            ports: Some(vec![ServicePort {
                name: Some("postgres".to_string()),
                port: PORT,
                target_port: Some(IntOrString::String("postgres".to_string())),
                protocol: Some("TCP".to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let claim = volume_claim(
        metadata(project, DATA_CLAIM),
        spec.storage_class_name.clone(),
        &spec.storage_size,
    );
    let init_scripts = ConfigMap {
        metadata: metadata(project, INIT_SCRIPTS),
        data: Some(
            INIT_SQL
                .iter()
                .map(|(key, _, sql)| (key.to_string(), sql.to_string()))
                .chain([(PGSODIUM_GETKEY_ENTRY.to_string(), pgsodium_getkey_script())])
                .collect(),
        ),
        ..Default::default()
    };
    DatabaseObjects {
        stateful_set,
        service,
        claim,
        init_scripts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::secret_key_of;
    use supaplane_crds::Project;

    fn container(objects: &DatabaseObjects) -> Container {
        objects
            .stateful_set
            .spec
            .template
            .spec
            .clone()
            .expect("pod")
            .containers[0]
            .clone()
    }

    /// The variables the SQL reads with psql's `echo "$NAME"`.
    fn variables_read_by(sql: &str) -> Vec<String> {
        sql.split("echo \"$")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_role_password_comes_from_the_keys_secret_by_reference() {
        let objects = render(&Project::test("abc"));
        let env = container(&objects).env.expect("env");
        for (name, key) in [
            ("POSTGRES_PASSWORD", secret_keys::POSTGRES_PASSWORD),
            ("PGPASSWORD", secret_keys::POSTGRES_PASSWORD),
            (
                "AUTHENTICATOR_PASSWORD",
                secret_keys::AUTHENTICATOR_PASSWORD,
            ),
            ("AUTH_ADMIN_PASSWORD", secret_keys::AUTH_ADMIN_PASSWORD),
            (
                "STORAGE_ADMIN_PASSWORD",
                secret_keys::STORAGE_ADMIN_PASSWORD,
            ),
            ("JWT_SECRET", secret_keys::JWT_SECRET),
        ] {
            assert_eq!(secret_key_of(&env, name).as_deref(), Some(key), "{name}");
            let entry = env.iter().find(|e| e.name == name).expect("entry");
            assert!(entry.value.is_none(), "{name} has a literal value");
        }
    }

    #[test]
    fn the_init_sql_reads_only_variables_the_container_defines() {
        let objects = render(&Project::test("abc"));
        let defined: Vec<String> = container(&objects)
            .env
            .expect("env")
            .into_iter()
            .map(|e| e.name)
            .collect();
        let mut read = Vec::new();
        for (_, _, sql) in INIT_SQL {
            read.extend(variables_read_by(sql));
        }
        assert!(read.contains(&"AUTHENTICATOR_PASSWORD".to_string()));
        assert!(read.contains(&"JWT_SECRET".to_string()));
        for variable in read {
            assert!(defined.contains(&variable), "{variable} is not defined");
        }
    }

    #[test]
    fn the_vault_root_key_comes_from_the_keys_secret_on_every_start() {
        let objects = render(&Project::test("abc"));
        let container = container(&objects);
        let args = container.args.clone().expect("args");
        for extension in ["pgsodium", "vault"] {
            let setting = format!("{extension}.getkey_script={PGSODIUM_DIR}/getkey");
            assert!(args.contains(&setting), "{setting} in {args:?}");
        }
        let script = &objects.init_scripts.data.clone().expect("data")[PGSODIUM_GETKEY_ENTRY];
        assert!(script.starts_with("#!/bin/sh\n"));
        assert!(script.contains(&format!("cat {PGSODIUM_DIR}/root.key")));
        let mount = container
            .volume_mounts
            .clone()
            .expect("mounts")
            .into_iter()
            .find(|m| m.mount_path == PGSODIUM_DIR)
            .expect("mounted");
        let pod = objects
            .stateful_set
            .spec
            .template
            .spec
            .clone()
            .expect("pod");
        let volume = pod
            .volumes
            .expect("volumes")
            .into_iter()
            .find(|v| v.name == mount.name)
            .expect("volume");
        let sources = volume.projected.and_then(|p| p.sources).expect("projected");
        let key = sources
            .iter()
            .find_map(|s| s.secret.as_ref())
            .and_then(|s| s.items.clone())
            .expect("secret items");
        assert_eq!(key[0].key, secret_keys::PGSODIUM_ROOT_KEY);
        assert_eq!(key[0].path, "root.key");
        let getkey = sources
            .iter()
            .find_map(|s| s.config_map.as_ref())
            .and_then(|c| c.items.clone())
            .expect("config map items");
        assert_eq!(
            (getkey[0].path.as_str(), getkey[0].mode),
            ("getkey", Some(0o555))
        );
    }

    #[test]
    fn the_image_is_the_pinned_one_of_the_projects_major_version() {
        let image_of = |project: &Project| {
            render(project)
                .stateful_set
                .spec
                .template
                .spec
                .expect("pod")
                .containers[0]
                .image
                .clone()
                .expect("image")
        };
        let mut project = Project::test("abc");
        assert_eq!(image_of(&project), "supabase/postgres:17.6.1.084");
        project.spec.postgres_version = supaplane_crds::PostgresVersion::V15;
        assert_eq!(image_of(&project), "supabase/postgres:15.8.1.085");
        project.spec.database.image = Some("registry.local/postgres:15-custom".into());
        assert_eq!(image_of(&project), "registry.local/postgres:15-custom");
    }

    #[test]
    fn each_script_is_mounted_once_by_sub_path() {
        let objects = render(&Project::test("abc"));
        let mounts = container(&objects).volume_mounts.expect("mounts");
        let data = objects.init_scripts.data.clone().expect("data");
        assert_eq!(data.len(), INIT_SQL.len() + 1);
        for key in data.keys().filter(|k| k.as_str() != PGSODIUM_GETKEY_ENTRY) {
            let using: Vec<_> = mounts
                .iter()
                .filter(|m| m.sub_path.as_deref() == Some(key.as_str()))
                .collect();
            assert_eq!(using.len(), 1, "{key}");
            assert!(
                using[0]
                    .mount_path
                    .starts_with("/docker-entrypoint-initdb.d/")
            );
        }
        let data_mount = mounts.iter().find(|m| m.name == "data").expect("data");
        assert_eq!(data_mount.sub_path.as_deref(), Some("pgdata"));
    }

    #[test]
    fn the_volume_follows_the_spec_and_survives_a_pause() {
        let mut project = Project::test("abc");
        project.spec.database.storage_size = "8Gi".into();
        project.spec.database.storage_class_name = Some("fast".into());
        project.spec.paused = true;
        let objects = render(&project);
        assert_eq!(objects.stateful_set.spec.replicas, Some(0));
        let claim = objects.claim.spec.expect("spec");
        assert_eq!(claim.storage_class_name.as_deref(), Some("fast"));
        assert_eq!(
            claim.resources.and_then(|r| r.requests).expect("requests")["storage"].0,
            "8Gi"
        );
    }

    #[test]
    fn probes_run_pg_isready_without_a_shell_and_the_service_is_headless() {
        let objects = render(&Project::test("abc"));
        let container = container(&objects);
        let command = container
            .readiness_probe
            .and_then(|p| p.exec)
            .and_then(|e| e.command)
            .expect("exec");
        assert_eq!(command[0], "pg_isready");
        let service = objects.service.spec.expect("spec");
        assert_eq!(service.cluster_ip.as_deref(), Some("None"));
        assert_eq!(
            objects.stateful_set.spec.service_name.as_deref(),
            Some(SERVICE_NAME)
        );
    }
}
