//! imgproxy: Storage's image transformer. It reads objects straight from
//! Storage's file volume, so it runs in the Storage pod.

use k8s_openapi::api::core::v1::{Container, ExecAction, Probe, VolumeMount};
use supaplane_crds::Project;

use super::storage;
use super::workload::{self, StatelessComponent, env};
use crate::images::{PINNED, image_or_pinned};

pub const NAME: &str = "imgproxy";
pub const PORT: i32 = 5001;

/// Whether imgproxy runs: it is enabled and Storage keeps files on a volume.
pub fn runs(project: &Project) -> bool {
    project.spec.transforms_images()
}

/// imgproxy's container, run in the Storage pod: it reads Storage's file
/// volume, which only one node can mount (ReadWriteOnce), so it goes
/// wherever Storage goes. Its port is named `imgproxy` (`http` is Storage's).
pub fn container(project: &Project) -> Option<Container> {
    let settings = &project.spec.components.imgproxy;
    if !runs(project) {
        return None;
    }
    let env = vec![
        env("IMGPROXY_BIND", format!(":{PORT}")),
        env("IMGPROXY_LOCAL_FILESYSTEM_ROOT", "/"),
        env("IMGPROXY_USE_ETAG", "true"),
        env("IMGPROXY_ENABLE_WEBP_DETECTION", "true"),
        env("IMGPROXY_MAX_SRC_RESOLUTION", "16.8"),
    ];
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.imgproxy),
        port: PORT,
        env,
        args: None,
        probe: Probe {
            exec: Some(ExecAction {
                command: Some(vec!["imgproxy".to_string(), "health".to_string()]),
            }),
            period_seconds: Some(10),
            failure_threshold: Some(3),
            ..Default::default()
        },
        liveness: None,
        waits_for_database: false,
        pod: Default::default(),
    };
    let mut container = workload::container(component);
    for port in container.ports.iter_mut().flatten() {
        port.name = Some(NAME.to_string());
    }
    container.volume_mounts = Some(vec![VolumeMount {
        name: storage::DATA_VOLUME.to_string(),
        mount_path: storage::FILE_ROOT.to_string(),
        read_only: Some(true),
        ..Default::default()
    }]);
    Some(container)
}
