//! Building blocks shared by the component renderers: env entries (secrets
//! by reference, never by value), and the Deployment + Service pair each
//! stateless component runs as.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, PodSpec, PodTemplateSpec, Probe,
    SecretKeySelector, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::ObjectMeta;
use supaplane_crds::constants::{
    KEYS_SECRET_NAME, LABEL_COMPONENT, LABEL_PROJECT, project_namespace,
};
use supaplane_crds::{ComponentSpec, Project};

use super::{child_metadata, labels};

/// A plain env var.
pub fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        ..Default::default()
    }
}

/// An env var read from the project's keys Secret, so no secret is ever in a spec.
pub fn env_from_keys(name: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: KEYS_SECRET_NAME.to_string(),
                key: key.to_string(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// `POD_IP`, from the downward API: the address other pods reach this one at.
pub fn pod_ip() -> EnvVar {
    EnvVar {
        name: "POD_IP".to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(k8s_openapi::api::core::v1::ObjectFieldSelector {
                field_path: "status.podIP".to_string(),
                api_version: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The labels that select one component's pods.
pub fn selector(project: &Project, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            LABEL_PROJECT.to_string(),
            project.metadata.name.clone().unwrap_or_default(),
        ),
        (LABEL_COMPONENT.to_string(), component.to_string()),
    ])
}

fn metadata(project: &Project, component: &str) -> ObjectMeta {
    child_metadata(project, component, component)
}

/// An HTTP GET probe on `path` at `port`.
pub fn http_probe(path: &str, port: i32) -> Probe {
    Probe {
        http_get: Some(k8s_openapi::api::core::v1::HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::Int(port),
            ..Default::default()
        }),
        period_seconds: Some(10),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

/// What a stateless component runs.
pub struct StatelessComponent<'a> {
    pub name: &'static str,
    pub settings: &'a ComponentSpec,
    pub image: String,
    pub port: i32,
    pub env: Vec<EnvVar>,
    pub args: Option<Vec<String>>,
    /// Readiness: whether the component can serve now.
    pub probe: Probe,
    /// Liveness when it must differ from readiness (readiness that also
    /// checks the database would restart a healthy server through every
    /// database restart); None uses the readiness probe.
    pub liveness: Option<Probe>,
    /// Hold the pod until Postgres accepts connections: for components that
    /// migrate at start and exit while the database is down.
    pub waits_for_database: bool,
    /// What the pod holds besides the one container.
    pub pod: PodExtras,
}

/// What a component's pod holds besides its container serving `port`:
/// declared with the component, so that the Deployment is built once and
/// never edited afterwards.
#[derive(Debug, Default)]
pub struct PodExtras {
    /// Volumes mounted in the component's container.
    pub volumes: Vec<MountedVolume>,
    /// Ports the container serves besides `port` (named `http`).
    pub ports: Vec<ContainerPort>,
    /// Containers beside the component's own.
    pub sidecars: Vec<Container>,
    /// Pod-template annotations (a config's digest, to roll the pods when
    /// it changes), besides a restart's.
    pub annotations: BTreeMap<String, String>,
    /// Replace pods instead of overlapping them: a ReadWriteOnce volume
    /// cannot be attached to a new pod on another node while the old runs.
    pub recreate: bool,
}

/// A volume and where the component's container mounts it.
#[derive(Debug)]
pub struct MountedVolume {
    pub volume: Volume,
    pub mount_path: &'static str,
    pub read_only: bool,
}

/// The database client's wait loop. Fixed text: the host and port come in
/// as environment variables, never spliced into the script.
const WAIT_FOR_DATABASE: &str =
    r#"until pg_isready --quiet --host="$DB_HOST" --port="$DB_PORT" --timeout=5; do sleep 2; done"#;

/// An init container that waits, however long it takes, until Postgres
/// accepts connections. GoTrue, Storage and Realtime run migrations at start
/// and exit when the database is not up; during a first boot (initdb and
/// the image's migrations take minutes on a small instance) they would
/// otherwise crash-loop into back-offs of up to five minutes. It runs the
/// project's own Postgres image, the one image sure to have `pg_isready`.
pub fn wait_for_database(project: &Project) -> Container {
    let wait = super::resources::WAIT_FOR_DATABASE;
    Container {
        name: "wait-for-database".to_string(),
        image: Some(super::database::image(project)),
        command: Some(vec![
            "sh".to_string(),
            "-c".to_string(),
            WAIT_FOR_DATABASE.to_string(),
        ]),
        env: Some(vec![
            env("DB_HOST", super::database::database_host(project)),
            env("DB_PORT", super::database::database_port().to_string()),
        ]),
        resources: Some(wait.requirements()),
        ..Default::default()
    }
}

/// How long a component may take to start before the kubelet restarts it:
/// five minutes, probed every 5 s. Liveness starts only after this.
pub fn startup_probe(probe: &Probe) -> Probe {
    Probe {
        period_seconds: Some(5),
        failure_threshold: Some(60),
        initial_delay_seconds: None,
        ..probe.clone()
    }
}

/// The component's container: its port named `http`, probes, and resources
/// (the spec's, or what the component needs).
pub fn container(component: StatelessComponent<'_>) -> Container {
    Container {
        name: component.name.to_string(),
        image: Some(component.image),
        args: component.args,
        env: Some(component.env),
        ports: Some(vec![ContainerPort {
            name: Some("http".to_string()),
            container_port: component.port,
            protocol: Some("TCP".to_string()),
            ..Default::default()
        }]),
        startup_probe: Some(startup_probe(&component.probe)),
        readiness_probe: Some(component.probe.clone()),
        liveness_probe: Some(component.liveness.unwrap_or(component.probe)),
        resources: Some(
            component
                .settings
                .resources
                .as_deref()
                .cloned()
                .unwrap_or_else(|| super::resources::service(component.name).requirements()),
        ),
        ..Default::default()
    }
}

/// The component's Deployment; paused or restoring projects run zero
/// replicas.
pub fn deployment(project: &Project, mut component: StatelessComponent<'_>) -> Deployment {
    let replicas = if project.services_stopped() {
        0
    } else {
        component.settings.replicas.unwrap_or(1)
    };
    let pod_labels = labels(project, component.name);
    let name = component.name;
    let init_containers = component
        .waits_for_database
        .then(|| vec![wait_for_database(project)]);
    let mut pod = std::mem::take(&mut component.pod);
    let mut annotations = super::restart::template_annotations(project, name).unwrap_or_default();
    annotations.append(&mut pod.annotations);
    let strategy = pod.recreate.then(|| DeploymentStrategy {
        type_: Some("Recreate".to_string()),
        rolling_update: None,
    });
    let mut main = container(component);
    if let Some(ports) = main.ports.as_mut() {
        ports.append(&mut pod.ports);
    }
    let mounts: Vec<VolumeMount> = pod
        .volumes
        .iter()
        .map(|mounted| VolumeMount {
            name: mounted.volume.name.clone(),
            mount_path: mounted.mount_path.to_string(),
            read_only: mounted.read_only.then_some(true),
            ..Default::default()
        })
        .collect();
    main.volume_mounts = (!mounts.is_empty()).then_some(mounts);
    let volumes: Vec<Volume> = pod
        .volumes
        .into_iter()
        .map(|mounted| mounted.volume)
        .collect();
    let mut containers = vec![main];
    containers.append(&mut pod.sidecars);
    Deployment {
        metadata: metadata(project, name),
        spec: DeploymentSpec {
            replicas: Some(replicas),
            selector: LabelSelector {
                match_labels: Some(selector(project, name)),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: (!annotations.is_empty()).then_some(annotations),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    init_containers,
                    containers,
                    volumes: (!volumes.is_empty()).then_some(volumes),
                    ..Default::default()
                }),
            },
            strategy,
            ..Default::default()
        },
        ..Default::default()
    }
}

/// How a component's Service is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressing {
    /// A virtual ClusterIP: the project's front door (the Ingress and
    /// in-cluster clients of the API), one per project.
    ClusterIp,
    /// Headless: the name resolves to the pod. For backends only the
    /// gateway, the facade and each other reach by name; at 10,000 projects
    /// five ClusterIPs each would be 50,000 virtual IPs and kube-proxy
    /// rules a cluster carries for no gain (Kubernetes' own scalability
    /// threshold is 10,000 Services).
    Headless,
}

/// The component's Service.
pub fn service(project: &Project, component: &str, port: i32, addressing: Addressing) -> Service {
    Service {
        metadata: metadata(project, component),
        spec: Some(ServiceSpec {
            cluster_ip: (addressing == Addressing::Headless).then(|| "None".to_string()),
            selector: Some(selector(project, component)),
            ports: Some(vec![ServicePort {
                name: Some("http".to_string()),
                port,
                target_port: Some(IntOrString::String("http".to_string())),
                protocol: Some("TCP".to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The in-cluster URL of a component's Service.
pub fn service_url(project: &Project, component: &str, port: i32) -> String {
    format!(
        "http://{component}.{}.svc:{port}",
        project_namespace(super::project_ref(project))
    )
}

/// A TCP probe, for services whose HTTP health needs credentials a spec
/// must not hold.
pub fn tcp_probe(port: i32) -> Probe {
    Probe {
        tcp_socket: Some(k8s_openapi::api::core::v1::TCPSocketAction {
            port: IntOrString::Int(port),
            ..Default::default()
        }),
        period_seconds: Some(10),
        failure_threshold: Some(3),
        ..Default::default()
    }
}

/// A ReadWriteOnce claim of `size` (a quantity such as `10Gi`) on
/// `storage_class` (the cluster's default class when None).
pub fn volume_claim(
    metadata: ObjectMeta,
    storage_class: Option<String>,
    size: &str,
) -> k8s_openapi::api::core::v1::PersistentVolumeClaim {
    use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, VolumeResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    k8s_openapi::api::core::v1::PersistentVolumeClaim {
        metadata,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_string()]),
            storage_class_name: storage_class,
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(size.to_string()),
                )])),
                limits: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A volume backed by one of the project's PersistentVolumeClaims.
pub fn claim_volume(name: &str, claim: &str) -> k8s_openapi::api::core::v1::Volume {
    k8s_openapi::api::core::v1::Volume {
        name: name.to_string(),
        persistent_volume_claim: Some(
            k8s_openapi::api::core::v1::PersistentVolumeClaimVolumeSource {
                claim_name: claim.to_string(),
                read_only: None,
            },
        ),
        ..Default::default()
    }
}
