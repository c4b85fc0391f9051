//! The ResourceQuota and LimitRange of a project namespace: the quota is
//! what the rendered workloads need (their resources come from the
//! instance size, see `resources`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    Container, LimitRange, LimitRangeItem, LimitRangeSpec, PodSpec, ResourceQuota,
    ResourceQuotaSpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use kube::api::ObjectMeta;
use supaplane_crds::Project;

use super::child_metadata;
use super::resources::{self, Compute};
use crate::quantity;

pub const NAME: &str = "supaplane-instance-size";

/// The LimitRange's defaults for a container that sets no resources (only
/// possible through a spec override without them).
const DEFAULT_LIMIT: Compute = Compute {
    memory_request_mib: 64,
    memory_limit_mib: 256,
    cpu_request_millis: 50,
    cpu_limit_millis: 250,
};

fn metadata(project: &Project) -> ObjectMeta {
    child_metadata(project, NAME, "quota")
}

/// Totals of requests and limits, in bytes and millicores.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Totals {
    pub memory_requests: f64,
    pub memory_limits: f64,
    pub cpu_requests: f64,
    pub cpu_limits: f64,
}

impl Totals {
    /// What a container with `compute` requests and may use.
    fn of_compute(compute: super::resources::Compute) -> Totals {
        const MIB: f64 = 1024.0 * 1024.0;
        Totals {
            memory_requests: f64::from(compute.memory_request_mib) * MIB,
            memory_limits: f64::from(compute.memory_limit_mib) * MIB,
            cpu_requests: f64::from(compute.cpu_request_millis),
            cpu_limits: f64::from(compute.cpu_limit_millis),
        }
    }

    /// What one container requests and may use.
    fn of_container(container: &Container) -> Totals {
        const MIB: f64 = 1024.0 * 1024.0;
        let resources = container.resources.as_ref();
        let read = |requests: bool, key: &str| {
            resources
                .and_then(|r| {
                    if requests {
                        r.requests.as_ref()
                    } else {
                        r.limits.as_ref()
                    }
                })
                .and_then(|m| m.get(key))
                .and_then(|q| quantity::value(&q.0))
        };
        let (memory_limit, cpu_limit) = (read(false, "memory"), read(false, "cpu"));
        // Without a request Kubernetes requests the limit, when one is set;
        // without either the LimitRange's defaults apply.
        let memory_request = read(true, "memory")
            .or(memory_limit)
            .unwrap_or(f64::from(DEFAULT_LIMIT.memory_request_mib) * MIB);
        let cpu_request = read(true, "cpu")
            .or(cpu_limit)
            .unwrap_or(f64::from(DEFAULT_LIMIT.cpu_request_millis) / 1000.0);
        let memory_limit = memory_limit.unwrap_or(f64::from(DEFAULT_LIMIT.memory_limit_mib) * MIB);
        let cpu_limit = cpu_limit.unwrap_or(f64::from(DEFAULT_LIMIT.cpu_limit_millis) / 1000.0);
        Totals {
            memory_requests: memory_request,
            memory_limits: memory_limit,
            cpu_requests: cpu_request * 1000.0,
            cpu_limits: cpu_limit * 1000.0,
        }
    }

    fn combine(self, other: Totals, pick: impl Fn(f64, f64) -> f64) -> Totals {
        Totals {
            memory_requests: pick(self.memory_requests, other.memory_requests),
            memory_limits: pick(self.memory_limits, other.memory_limits),
            cpu_requests: pick(self.cpu_requests, other.cpu_requests),
            cpu_limits: pick(self.cpu_limits, other.cpu_limits),
        }
    }

    /// What the quota charges one pod: its containers together, or its
    /// largest init container if that is more (init containers run one at
    /// a time, before the others start).
    fn of_pod(pod: Option<&PodSpec>) -> Totals {
        let Some(pod) = pod else {
            return Totals::default();
        };
        let running = pod
            .containers
            .iter()
            .map(Totals::of_container)
            .fold(Totals::default(), |sum, c| sum.combine(c, |a, b| a + b));
        pod.init_containers
            .iter()
            .flatten()
            .map(Totals::of_container)
            .fold(running, |most, c| most.combine(c, f64::max))
    }

    fn times(self, pods: i32) -> Totals {
        let pods = f64::from(pods.max(0));
        self.combine(Totals::default(), |value, _| value * pods)
    }

    /// What the pods of these workloads use together at most: every replica,
    /// and during a rolling update of a Deployment its surge pods too
    /// (maxSurge 25%, rounded up). A StatefulSet replaces pods one at a time.
    pub fn of(deployments: &[Deployment], stateful_sets: &[StatefulSet]) -> Totals {
        let sum = |a: f64, b: f64| a + b;
        let deployments = deployments.iter().map(|deployment| {
            let replicas = deployment.spec.replicas.unwrap_or(1);
            let surge = (replicas + 3) / 4;
            Totals::of_pod(deployment.spec.template.spec.as_ref()).times(replicas + surge)
        });
        let stateful_sets = stateful_sets.iter().map(|stateful_set| {
            Totals::of_pod(stateful_set.spec.template.spec.as_ref())
                .times(stateful_set.spec.replicas.unwrap_or(1))
        });
        deployments
            .chain(stateful_sets)
            .fold(Totals::default(), |total, pods| total.combine(pods, sum))
    }
}

fn mebibytes_of(bytes: f64) -> Quantity {
    resources::mebibytes((bytes / (1024.0 * 1024.0)).ceil() as u32)
}

fn millicores_of(millis: f64) -> Quantity {
    resources::millicores(millis.ceil() as u32)
}

/// The namespace's quota: exactly what the project's workloads need, surge
/// pods included, so they always fit and nothing else does. A paused
/// project's quota shrinks with its replicas and grows back, before its
/// workloads, when it resumes.
pub fn resource_quota(
    project: &Project,
    deployments: &[Deployment],
    stateful_sets: &[StatefulSet],
) -> ResourceQuota {
    let workloads = Totals::of(deployments, stateful_sets);
    // Room for one backup or restore Job and a prune Job beside it, which
    // may run at any time, paused or not.
    let jobs = [
        super::backup::JOB_COMPUTE,
        super::resources::WAIT_FOR_DATABASE,
    ]
    .into_iter()
    .fold(Totals::default(), |sum, compute| {
        sum.combine(Totals::of_compute(compute), |a, b| a + b)
    });
    let totals = workloads.combine(jobs, |a, b| a + b);
    let hard = BTreeMap::from([
        (
            "requests.memory".to_string(),
            mebibytes_of(totals.memory_requests),
        ),
        (
            "limits.memory".to_string(),
            mebibytes_of(totals.memory_limits),
        ),
        (
            "requests.cpu".to_string(),
            millicores_of(totals.cpu_requests),
        ),
        ("limits.cpu".to_string(), millicores_of(totals.cpu_limits)),
        (
            "persistentvolumeclaims".to_string(),
            Quantity("4".to_string()),
        ),
    ]);
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
    let defaults = DEFAULT_LIMIT.requirements();
    LimitRange {
        metadata: metadata(project),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".to_string(),
                default: defaults.limits,
                default_request: defaults.requests,
                ..Default::default()
            }],
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::stack::{StackSettings, render};
    use rand::SeedableRng;
    use supaplane_crds::InstanceSize;
    use supaplane_crds::Project;

    fn keys() -> crate::keys::ProjectKeys {
        crate::keys::ProjectKeys::generate(&mut rand::rngs::StdRng::seed_from_u64(3), 0, None)
            .expect("keys")
    }

    fn hard(quota: &ResourceQuota, key: &str) -> f64 {
        let hard = quota
            .spec
            .as_ref()
            .and_then(|s| s.hard.as_ref())
            .expect("hard");
        quantity::value(&hard[key].0).expect("quantity")
    }

    #[test]
    fn every_instance_size_fits_its_own_quota_with_a_rollout_in_flight() {
        let sizes = [
            InstanceSize::Nano,
            InstanceSize::Micro,
            InstanceSize::Small,
            InstanceSize::Medium,
            InstanceSize::Large,
            InstanceSize::Xlarge,
            InstanceSize::X2large,
            InstanceSize::X4large,
            InstanceSize::X8large,
            InstanceSize::X12large,
            InstanceSize::X16large,
        ];
        let mut previous = 0.0;
        for size in sizes {
            let mut project = Project::test("abc");
            project.spec.instance_size = size;
            project.spec.components.realtime.replicas = Some(2);
            let stack = render(&project, &keys(), &StackSettings::default());
            let quota = &stack.resource_quota;
            // Every pod of the stack, plus one surge pod per Deployment.
            let mut needed = Totals::default();
            let mut add = |pod: Option<&PodSpec>, pods: i32| {
                for container in &pod.expect("pod").containers {
                    let one = Totals::of_container(container).times(pods);
                    needed = needed.combine(one, |a, b| a + b);
                }
            };
            for deployment in &stack.deployments {
                let replicas = deployment.spec.replicas.unwrap_or(1);
                add(deployment.spec.template.spec.as_ref(), replicas + 1);
            }
            for stateful_set in &stack.stateful_sets {
                add(stateful_set.spec.template.spec.as_ref(), 1);
            }
            assert!(
                hard(quota, "limits.memory") >= needed.memory_limits,
                "{size:?}"
            );
            assert!(
                hard(quota, "requests.memory") >= needed.memory_requests,
                "{size:?}"
            );
            assert!(
                hard(quota, "limits.cpu") * 1000.0 >= needed.cpu_limits - 0.5,
                "{size:?}"
            );
            assert!(
                hard(quota, "requests.cpu") * 1000.0 >= needed.cpu_requests - 0.5,
                "{size:?}"
            );
            // And Postgres is what the size says.
            let (memory_mib, _) = resources::database_compute(size);
            let db = &stack.stateful_sets[0]
                .spec
                .template
                .spec
                .as_ref()
                .expect("pod")
                .containers[0];
            let limits = db
                .resources
                .as_ref()
                .and_then(|r| r.limits.clone())
                .expect("limits");
            assert_eq!(
                quantity::value(&limits["memory"].0),
                Some(f64::from(memory_mib) * 1024.0 * 1024.0),
                "{size:?}"
            );
            assert!(hard(quota, "limits.memory") > previous);
            previous = hard(quota, "limits.memory");
        }
    }

    #[test]
    fn a_pod_is_charged_its_containers_or_its_largest_init_container() {
        let sized = |name: &str, memory_mib: u32| Container {
            name: name.to_string(),
            resources: Some(
                resources::Compute {
                    memory_request_mib: memory_mib,
                    memory_limit_mib: memory_mib,
                    cpu_request_millis: 10,
                    cpu_limit_millis: 10,
                }
                .requirements(),
            ),
            ..Default::default()
        };
        let pod = |init: u32| PodSpec {
            containers: vec![sized("a", 100), sized("b", 50)],
            init_containers: Some(vec![sized("wait", init)]),
            ..Default::default()
        };
        const MIB: f64 = 1024.0 * 1024.0;
        assert_eq!(Totals::of_pod(Some(&pod(16))).memory_limits, 150.0 * MIB);
        assert_eq!(Totals::of_pod(Some(&pod(400))).memory_limits, 400.0 * MIB);
        assert_eq!(Totals::of_pod(Some(&pod(16))).cpu_requests, 20.0);
    }

    #[test]
    fn a_spec_override_is_counted_as_given() {
        let mut project = Project::test("abc");
        let base = render(&project, &keys(), &StackSettings::default());
        project.spec.components.gateway.resources = Some(
            resources::Compute {
                memory_request_mib: 1024,
                memory_limit_mib: 2048,
                cpu_request_millis: 500,
                cpu_limit_millis: 2000,
            }
            .requirements()
            .into(),
        );
        let bigger = render(&project, &keys(), &StackSettings::default());
        let grown = hard(&bigger.resource_quota, "limits.memory")
            - hard(&base.resource_quota, "limits.memory");
        // One replica and its surge pod, 1.5 GiB more each.
        assert_eq!(grown, 2.0 * 1536.0 * 1024.0 * 1024.0);
        assert_eq!(
            limit_range(&project).metadata.namespace.as_deref(),
            Some("project-abc")
        );
    }
}
