//! The ResourceQuota and LimitRange of a project namespace, sized from the
//! project's instance size (Supabase's compute sizes).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::ObjectMeta;
use supaplane_crds::constants::project_namespace;
use supaplane_crds::{InstanceSize, Project};

use super::{labels, owner_reference};

pub const NAME: &str = "supaplane-instance-size";

/// Memory (MiB) and CPU (millicores) of each compute size, for Postgres.
pub fn database_compute(size: InstanceSize) -> (u32, u32) {
    match size {
        InstanceSize::Nano => (512, 500),
        InstanceSize::Micro => (1024, 1000),
        InstanceSize::Small => (2048, 2000),
        InstanceSize::Medium => (4096, 2000),
        InstanceSize::Large => (8192, 2000),
        InstanceSize::Xlarge => (16384, 4000),
        InstanceSize::X2large => (32768, 8000),
        InstanceSize::X4large => (65536, 16000),
        InstanceSize::X8large => (131072, 32000),
        InstanceSize::X12large => (196608, 48000),
        InstanceSize::X16large => (262144, 64000),
    }
}

/// What the project's services (everything but Postgres) may use together.
const SERVICES_MEMORY_MIB: u32 = 2048;
const SERVICES_CPU_MILLIS: u32 = 2000;

fn metadata(project: &Project) -> ObjectMeta {
    ObjectMeta {
        name: Some(NAME.to_string()),
        namespace: Some(project_namespace(
            project.metadata.name.as_deref().unwrap_or_default(),
        )),
        labels: Some(labels(project, "quota")),
        owner_references: owner_reference(project).map(|r| vec![r]),
        ..Default::default()
    }
}

/// Quantities in the API server's canonical form (`10Gi`, not `10240Mi`;
/// `4`, not `4000m`), so what we apply reads back unchanged.
fn mebibytes(mib: u32) -> Quantity {
    if mib.is_multiple_of(1024) {
        Quantity(format!("{}Gi", mib / 1024))
    } else {
        Quantity(format!("{mib}Mi"))
    }
}

fn millicores(millis: u32) -> Quantity {
    if millis.is_multiple_of(1000) {
        Quantity(format!("{}", millis / 1000))
    } else {
        Quantity(format!("{millis}m"))
    }
}

fn resources(memory_mib: u32, cpu_millis: u32, prefix: &str) -> BTreeMap<String, Quantity> {
    BTreeMap::from([
        (format!("{prefix}memory"), mebibytes(memory_mib)),
        (format!("{prefix}cpu"), millicores(cpu_millis)),
    ])
}

pub fn resource_quota(project: &Project) -> ResourceQuota {
    let (memory, cpu) = database_compute(project.spec.instance_size);
    let mut hard = resources(
        memory + SERVICES_MEMORY_MIB,
        cpu + SERVICES_CPU_MILLIS,
        "limits.",
    );
    hard.insert(
        "persistentvolumeclaims".to_string(),
        Quantity("4".to_string()),
    );
    ResourceQuota {
        metadata: metadata(project),
        spec: Some(ResourceQuotaSpec {
            hard: Some(hard),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Defaults for containers that set no resources, so the quota admits them.
pub fn limit_range(project: &Project) -> LimitRange {
    LimitRange {
        metadata: metadata(project),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".to_string(),
                default: Some(resources(256, 250, "")),
                default_request: Some(resources(64, 50, "")),
                ..Default::default()
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::project;

    #[test]
    fn the_quota_grows_with_the_instance_size() {
        let mut project = project("abc", "acme");
        let nano = resource_quota(&project)
            .spec
            .expect("spec")
            .hard
            .expect("hard");
        assert_eq!(nano["limits.memory"], Quantity("2560Mi".into()));
        project.spec.instance_size = InstanceSize::Large;
        let large = resource_quota(&project)
            .spec
            .expect("spec")
            .hard
            .expect("hard");
        assert_eq!(large["limits.memory"], Quantity("10Gi".into()));
        assert_eq!(large["limits.cpu"], Quantity("4".into()));
        assert_eq!(
            limit_range(&project).metadata.namespace.as_deref(),
            Some("project-abc")
        );
    }
}
