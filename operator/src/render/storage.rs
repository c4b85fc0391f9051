//! The Storage API, behind `/storage/v1`: objects on a project volume, or
//! in an S3-compatible bucket when the project names one.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, PersistentVolumeClaim, SecretKeySelector, Service,
};
use supaplane_crds::{Project, S3Spec};

use super::database::{DATABASE_NAME, database_host, database_port};
use super::ingress::IngressSettings;
use super::workload::{
    Addressing, MountedVolume, PodExtras, StatelessComponent, claim_volume, deployment, env,
    env_from_keys, http_probe, service, service_url, volume_claim,
};
use super::{child_metadata, imgproxy, rest};
use crate::images::{PINNED, image_or_pinned};
use crate::keys::secret_keys;

pub const NAME: &str = "storage";
pub const PORT: i32 = 5000;
/// The PersistentVolumeClaim of the file backend.
pub const DATA_CLAIM: &str = "storage-data";
/// The pod volume of Storage's files (imgproxy mounts it too).
pub const DATA_VOLUME: &str = "storage";
/// Where the file backend keeps objects (imgproxy reads them there too).
pub const FILE_ROOT: &str = "/var/lib/storage";
/// Keys of the user's S3 credentials Secret.
pub const S3_ACCESS_KEY_ID: &str = "accessKeyId";
pub const S3_SECRET_ACCESS_KEY: &str = "secretAccessKey";
/// The tenant and bucket names the single-tenant file backend uses.
const SINGLE_TENANT: &str = "stub";

/// The largest upload Storage accepts for this project.
pub fn file_size_limit_bytes(project: &Project) -> i64 {
    project.spec.file_size_limit_bytes()
}

/// The Storage API's Deployment and Service; none when disabled.
pub fn render(project: &Project, ingress: &IngressSettings) -> Option<(Deployment, Service)> {
    let settings = &project.spec.components.storage;
    if !settings.enabled {
        return None;
    }
    let storage = &project.spec.storage;
    let project_ref = super::project_ref(project);
    let mut variables = vec![
        env_from_keys("ANON_KEY", secret_keys::ANON_KEY),
        env_from_keys("SERVICE_KEY", secret_keys::SERVICE_ROLE_KEY),
        env(
            "POSTGREST_URL",
            service_url(project, rest::NAME, rest::PORT),
        ),
        env_from_keys("PGRST_JWT_SECRET", secret_keys::JWT_SECRET),
        env_from_keys(
            "STORAGE_ADMIN_PASSWORD",
            secret_keys::STORAGE_ADMIN_PASSWORD,
        ),
        // Kubernetes expands $(STORAGE_ADMIN_PASSWORD) from the entry above.
        env(
            "DATABASE_URL",
            format!(
                "postgres://supabase_storage_admin:$(STORAGE_ADMIN_PASSWORD)@{}:{}/{DATABASE_NAME}",
                database_host(project),
                database_port()
            ),
        ),
        env("STORAGE_PUBLIC_URL", ingress.api_url(project_ref)),
        env("REQUEST_ALLOW_X_FORWARDED_PATH", "true"),
        env(
            "FILE_SIZE_LIMIT",
            file_size_limit_bytes(project).to_string(),
        ),
        env("TENANT_ID", SINGLE_TENANT),
    ];
    match &storage.s3 {
        None => variables.extend([
            env("STORAGE_BACKEND", "file"),
            env("GLOBAL_S3_BUCKET", SINGLE_TENANT),
            env("FILE_STORAGE_BACKEND_PATH", FILE_ROOT),
            env("REGION", project.spec.region.clone()),
        ]),
        Some(s3) => variables.extend(s3_env(s3)),
    }
    if imgproxy::runs(project) {
        variables.extend([
            env("ENABLE_IMAGE_TRANSFORMATION", "true"),
            // imgproxy runs in this pod (see imgproxy::container).
            env(
                "IMGPROXY_URL",
                format!("http://localhost:{}", imgproxy::PORT),
            ),
        ]);
    } else {
        variables.push(env("ENABLE_IMAGE_TRANSFORMATION", "false"));
    }
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.storage),
        port: PORT,
        env: variables,
        args: None,
        probe: http_probe("/status", PORT),
        liveness: None,
        waits_for_database: true,
        // Files on the project's volume (ReadWriteOnce: pods are replaced,
        // never overlapped), with imgproxy beside Storage reading them.
        pod: match storage.s3 {
            Some(_) => PodExtras::default(),
            None => PodExtras {
                volumes: vec![MountedVolume {
                    volume: claim_volume(DATA_VOLUME, DATA_CLAIM),
                    mount_path: FILE_ROOT,
                    read_only: false,
                }],
                sidecars: imgproxy::container(project).into_iter().collect(),
                recreate: true,
                ..Default::default()
            },
        },
    };
    Some((
        deployment(project, component),
        service(project, NAME, PORT, Addressing::Headless),
    ))
}

fn s3_env(s3: &S3Spec) -> Vec<EnvVar> {
    let credential = |name: &str, key: &str| EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: s3.credentials_secret_name.clone(),
                key: key.to_string(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut variables = vec![
        env("STORAGE_BACKEND", "s3"),
        env("GLOBAL_S3_BUCKET", s3.bucket.clone()),
        env("REGION", s3.region.clone()),
        env(
            "GLOBAL_S3_FORCE_PATH_STYLE",
            s3.force_path_style.to_string(),
        ),
        credential("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY_ID),
        credential("AWS_SECRET_ACCESS_KEY", S3_SECRET_ACCESS_KEY),
    ];
    if let Some(endpoint) = &s3.endpoint {
        variables.push(env("GLOBAL_S3_ENDPOINT", endpoint.clone()));
    }
    variables
}

/// The file backend's volume; none when Storage is off or uses S3. It is
/// kept when Storage is disabled later: turning a service off never
/// deletes data.
pub fn claim(project: &Project) -> Option<PersistentVolumeClaim> {
    let storage = &project.spec.storage;
    if !project.spec.components.storage.enabled || storage.s3.is_some() {
        return None;
    }
    Some(volume_claim(
        child_metadata(project, DATA_CLAIM, NAME),
        storage.storage_class_name.clone(),
        &storage.size,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::{env_of, value};
    use supaplane_crds::Project;

    #[test]
    fn the_file_backend_mounts_its_claim_and_never_overlaps_pods() {
        let project = Project::test("abc");
        let (deployment, _) = render(&project, &IngressSettings::default()).expect("storage");
        let env = env_of(&deployment);
        assert_eq!(value(&env, "STORAGE_BACKEND"), Some("file"));
        assert_eq!(value(&env, "FILE_STORAGE_BACKEND_PATH"), Some(FILE_ROOT));
        assert_eq!(value(&env, "IMGPROXY_URL"), Some("http://localhost:5001"));
        assert_eq!(
            value(&env, "STORAGE_PUBLIC_URL"),
            Some("http://abc.supaplane.localhost")
        );
        let pod = deployment.spec.template.spec.clone().expect("pod");
        let volume = &pod.volumes.expect("volumes")[0];
        assert_eq!(
            volume
                .persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.as_str()),
            Some(DATA_CLAIM)
        );
        assert_eq!(
            pod.containers[0].volume_mounts.as_ref().expect("mounts")[0].mount_path,
            FILE_ROOT
        );
        assert_eq!(
            deployment.spec.strategy.and_then(|s| s.type_).as_deref(),
            Some("Recreate")
        );
        let claim = claim(&project).expect("claim");
        let spec = claim.spec.expect("spec");
        assert_eq!(
            spec.resources.and_then(|r| r.requests).expect("requests")["storage"].0,
            "1Gi"
        );
    }

    #[test]
    fn s3_replaces_the_volume_and_takes_credentials_by_reference() {
        let mut project = Project::test("abc");
        project.spec.storage.s3 = Some(Box::new(S3Spec {
            bucket: "objects".into(),
            region: "eu-west-1".into(),
            endpoint: Some("https://minio.example".into()),
            force_path_style: true,
            credentials_secret_name: "s3-credentials".into(),
        }));
        let (deployment, _) = render(&project, &IngressSettings::default()).expect("storage");
        let env = env_of(&deployment);
        assert_eq!(value(&env, "STORAGE_BACKEND"), Some("s3"));
        assert_eq!(value(&env, "GLOBAL_S3_BUCKET"), Some("objects"));
        assert_eq!(
            value(&env, "GLOBAL_S3_ENDPOINT"),
            Some("https://minio.example")
        );
        let secret = env
            .iter()
            .find(|e| e.name == "AWS_SECRET_ACCESS_KEY")
            .and_then(|e| e.value_from.clone())
            .and_then(|v| v.secret_key_ref)
            .expect("by reference");
        assert_eq!(
            (secret.name.as_str(), secret.key.as_str()),
            ("s3-credentials", S3_SECRET_ACCESS_KEY)
        );
        assert!(claim(&project).is_none());
        assert!(imgproxy::container(&project).is_none());
        assert_eq!(value(&env, "ENABLE_IMAGE_TRANSFORMATION"), Some("false"));
        assert!(
            deployment
                .spec
                .template
                .spec
                .expect("pod")
                .volumes
                .is_none()
        );
    }

    #[test]
    fn imgproxy_runs_in_the_storage_pod_and_reads_its_volume() {
        let project = Project::test("abc");
        let (deployment, _) = render(&project, &IngressSettings::default()).expect("storage");
        assert_eq!(
            value(&env_of(&deployment), "IMGPROXY_URL"),
            Some("http://localhost:5001")
        );
        let pod = deployment.spec.template.spec.expect("pod");
        let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec![NAME, imgproxy::NAME]);
        let imgproxy = &pod.containers[1];
        let mount = &imgproxy.volume_mounts.as_ref().expect("mounts")[0];
        assert_eq!(
            (
                mount.name.as_str(),
                mount.mount_path.as_str(),
                mount.read_only
            ),
            (DATA_VOLUME, FILE_ROOT, Some(true))
        );
        assert!(
            pod.volumes
                .expect("volumes")
                .iter()
                .any(|v| v.name == DATA_VOLUME)
        );
        // Port names are unique in a pod.
        let ports: Vec<_> = pod
            .containers
            .iter()
            .flat_map(|c| c.ports.clone().unwrap_or_default())
            .filter_map(|p| p.name)
            .collect();
        assert_eq!(ports, vec!["http".to_string(), imgproxy::NAME.to_string()]);
        assert!(imgproxy.startup_probe.is_some() && imgproxy.resources.is_some());
    }
}
