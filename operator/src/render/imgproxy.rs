//! imgproxy: Storage's image transformer. It reads objects straight from
//! Storage's file volume, so it runs beside the Storage pod (a
//! ReadWriteOnce volume is shared only on one node).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    Affinity, ExecAction, PodAffinity, PodAffinityTerm, Probe, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use supaplane_crds::Project;

use super::storage;
use super::workload::{
    StatelessComponent, claim_volume, deployment, env, mount_volume, selector, service,
};
use crate::images::{PINNED, image_or_pinned};

pub const NAME: &str = "imgproxy";
pub const PORT: i32 = 5001;

/// Whether imgproxy runs: it is enabled and Storage keeps files on a volume.
pub fn runs(project: &Project) -> bool {
    project.spec.components.imgproxy.enabled
        && project.spec.components.storage.enabled
        && project.spec.storage.s3.is_none()
}

pub fn render(project: &Project) -> Option<(Deployment, Service)> {
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
    };
    let mut deployment = deployment(project, component);
    mount_volume(
        &mut deployment,
        claim_volume("storage", storage::DATA_CLAIM),
        storage::FILE_ROOT,
        true,
    );
    if let Some(pod) = deployment.spec.template.spec.as_mut() {
        pod.affinity = Some(Affinity {
            pod_affinity: Some(PodAffinity {
                required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                    label_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from_iter(selector(project, storage::NAME))),
                        ..Default::default()
                    }),
                    topology_key: "kubernetes.io/hostname".to_string(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    Some((deployment, service(project, NAME, PORT)))
}
