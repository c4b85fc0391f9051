//! Everything one Project runs, rendered together: the objects to apply, in
//! the order to apply them, and which workload reports which condition.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, PersistentVolumeClaim, ResourceQuota, Secret, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use supaplane_crds::{Project, conditions};

use super::ingress::IngressSettings;
use super::{
    auth, database, facade_access, gateway, ingress, meta, network_policy, quota, realtime, rest,
    storage,
};
use crate::keys::ProjectKeys;

/// The operator's settings that shape every project.
#[derive(Debug, Clone, Default)]
pub struct StackSettings {
    pub ingress: IngressSettings,
    /// Namespaces whose pods may reach every project.
    pub trusted_namespaces: Vec<String>,
    /// The facade to let read each project's logs, if known.
    pub facade_access: Option<facade_access::FacadeAccess>,
    /// Where purge orders for the bucket backups of projects deleted with
    /// `Delete` are kept (the operator's own namespace); none are written
    /// when unset.
    pub purge_namespace: Option<String>,
}

/// A project's children, apart from its namespace and keys Secret.
#[derive(Debug, Clone)]
pub struct Stack {
    pub network_policy: NetworkPolicy,
    pub roles: Vec<Role>,
    pub role_bindings: Vec<RoleBinding>,
    pub resource_quota: ResourceQuota,
    pub limit_range: LimitRange,
    pub config_maps: Vec<ConfigMap>,
    pub secrets: Vec<Secret>,
    pub claims: Vec<PersistentVolumeClaim>,
    pub stateful_sets: Vec<StatefulSet>,
    pub services: Vec<Service>,
    pub deployments: Vec<Deployment>,
    pub ingresses: Vec<Ingress>,
}

/// The condition each workload sets, by workload name.
pub fn condition_of(workload: &str) -> Option<&'static str> {
    Some(match workload {
        database::NAME => conditions::DATABASE_READY,
        auth::NAME => conditions::AUTH_READY,
        rest::NAME => conditions::REST_READY,
        realtime::NAME => conditions::REALTIME_READY,
        storage::NAME => conditions::STORAGE_READY,
        meta::NAME => conditions::META_READY,
        gateway::NAME => conditions::GATEWAY_READY,
        _ => return None,
    })
}

/// Every stateless component a project may run, by name. Names not in the
/// rendered stack are the ones to remove.
/// (imgproxy runs in the Storage pod.)
pub const STATELESS_COMPONENTS: [&str; 6] = [
    auth::NAME,
    rest::NAME,
    realtime::NAME,
    storage::NAME,
    meta::NAME,
    gateway::NAME,
];

pub fn render(project: &Project, keys: &ProjectKeys, settings: &StackSettings) -> Stack {
    let database = database::render(project);
    let mut stack = Stack {
        network_policy: network_policy::network_policy(project, &settings.trusted_namespaces),
        roles: settings
            .facade_access
            .iter()
            .map(|_| facade_access::backups_role(project))
            .collect(),
        role_bindings: settings
            .facade_access
            .iter()
            .flat_map(|access| {
                [
                    facade_access::role_binding(project, access),
                    facade_access::backups_role_binding(project, access),
                ]
            })
            .collect(),
        // Sized below, from the workloads.
        resource_quota: Default::default(),
        limit_range: quota::limit_range(project),
        config_maps: vec![database.init_scripts],
        secrets: Vec::new(),
        claims: vec![database.claim],
        stateful_sets: vec![database.stateful_set],
        services: vec![database.service],
        deployments: Vec::new(),
        ingresses: Vec::new(),
    };
    stack.claims.extend(storage::claim(project));
    let stateless = [
        auth::render(project, &settings.ingress),
        rest::render(project),
        realtime::render(project),
        storage::render(project, &settings.ingress),
        meta::render(project),
    ];
    for (deployment, service) in stateless.into_iter().flatten() {
        stack.deployments.push(deployment);
        stack.services.push(service);
    }
    if let Some((deployment, service, config)) = gateway::render(project, keys) {
        stack.deployments.push(deployment);
        stack.services.push(service);
        stack.secrets.push(config);
    }
    stack
        .ingresses
        .extend(ingress::render(project, &settings.ingress));
    stack.resource_quota = quota::resource_quota(project, &stack.deployments, &stack.stateful_sets);
    stack
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::ResourceExt;
    use rand::SeedableRng;
    use supaplane_crds::Project;

    fn keys() -> ProjectKeys {
        ProjectKeys::generate(&mut rand::rngs::StdRng::seed_from_u64(3), 0, None).expect("keys")
    }

    fn names<K: ResourceExt>(objects: &[K]) -> Vec<String> {
        objects.iter().map(|o| o.name_any()).collect()
    }

    fn containers(stack: &Stack) -> Vec<(String, k8s_openapi::api::core::v1::Container)> {
        let pods = stack
            .deployments
            .iter()
            .map(|d| (d.name_any(), d.spec.template.spec.clone()))
            .chain(
                stack
                    .stateful_sets
                    .iter()
                    .map(|s| (s.name_any(), s.spec.template.spec.clone())),
            );
        pods.flat_map(|(name, pod)| {
            pod.expect("pod spec")
                .containers
                .into_iter()
                .map(move |c| (name.clone(), c))
        })
        .collect()
    }

    /// Seconds a startup probe allows before the kubelet restarts the container.
    fn startup_budget(probe: &k8s_openapi::api::core::v1::Probe) -> i32 {
        probe.initial_delay_seconds.unwrap_or(0)
            + probe.period_seconds.unwrap_or(10) * probe.failure_threshold.unwrap_or(3)
    }

    #[test]
    fn every_container_has_time_to_start_before_liveness_applies() {
        let stack = render(&Project::test("abc"), &keys(), &StackSettings::default());
        let all = containers(&stack);
        // Every component and the database, imgproxy in the Storage pod.
        assert_eq!(all.len(), STATELESS_COMPONENTS.len() + 2);
        for (workload, container) in all {
            let startup = container
                .startup_probe
                .as_ref()
                .unwrap_or_else(|| panic!("{workload} has no startup probe"));
            let liveness = container.liveness_probe.as_ref().expect("liveness");
            // Liveness counts only once the startup probe passed: no delay of its own.
            assert_eq!(liveness.initial_delay_seconds, None, "{workload}");
            let budget = startup_budget(startup);
            if workload == database::NAME {
                // initdb and the image's migrations at a small CPU share.
                assert!(budget >= 20 * 60, "{workload}: {budget} s");
            } else {
                assert!(budget >= 5 * 60, "{workload}: {budget} s");
            }
        }
    }

    #[test]
    fn postgrest_is_restarted_only_when_it_is_stuck_not_when_the_database_is_down() {
        let stack = render(&Project::test("abc"), &keys(), &StackSettings::default());
        let (_, rest) = containers(&stack)
            .into_iter()
            .find(|(name, _)| name == rest::NAME)
            .expect("rest");
        let path = |probe: Option<k8s_openapi::api::core::v1::Probe>| {
            probe.and_then(|p| p.http_get).and_then(|h| h.path)
        };
        assert_eq!(path(rest.readiness_probe).as_deref(), Some("/ready"));
        assert_eq!(path(rest.liveness_probe).as_deref(), Some("/live"));
    }

    #[test]
    fn a_default_project_runs_every_component_in_its_namespace_owned_by_it() {
        let project = Project::test("abc");
        let stack = render(&project, &keys(), &StackSettings::default());
        let mut deployments = names(&stack.deployments);
        deployments.sort();
        let mut expected = STATELESS_COMPONENTS.to_vec();
        expected.sort();
        assert_eq!(deployments, expected);
        assert_eq!(names(&stack.stateful_sets), vec![database::NAME]);
        assert_eq!(stack.services.len(), STATELESS_COMPONENTS.len() + 1);
        assert_eq!(
            names(&stack.claims),
            vec![database::DATA_CLAIM, storage::DATA_CLAIM]
        );
        assert_eq!(stack.ingresses.len(), 1);
        for deployment in &stack.deployments {
            assert_eq!(deployment.namespace().as_deref(), Some("project-abc"));
            assert_eq!(deployment.owner_references()[0].name, "abc");
            assert!(condition_of(&deployment.name_any()).is_some());
        }
    }

    #[test]
    fn only_the_gateway_takes_a_cluster_ip() {
        let stack = render(&Project::test("abc"), &keys(), &StackSettings::default());
        let virtual_ips: Vec<String> = stack
            .services
            .iter()
            .filter(|s| s.spec.as_ref().and_then(|s| s.cluster_ip.as_deref()) != Some("None"))
            .map(|s| s.name_any())
            .collect();
        assert_eq!(virtual_ips, vec![gateway::NAME]);
    }

    #[test]
    fn disabled_components_are_not_rendered() {
        let mut project = Project::test("abc");
        project.spec.components.realtime.enabled = false;
        project.spec.components.gateway.enabled = false;
        project.spec.components.storage.enabled = false;
        let stack = render(&project, &keys(), &StackSettings::default());
        let deployments = names(&stack.deployments);
        for absent in [realtime::NAME, gateway::NAME, storage::NAME] {
            assert!(!deployments.contains(&absent.to_string()), "{absent}");
        }
        assert!(stack.ingresses.is_empty());
        assert!(stack.secrets.is_empty());
        assert_eq!(names(&stack.claims), vec![database::DATA_CLAIM]);
    }

    #[test]
    fn pausing_scales_every_workload_to_zero_and_keeps_the_volumes() {
        let mut project = Project::test("abc");
        project.spec.paused = true;
        let stack = render(&project, &keys(), &StackSettings::default());
        assert!(stack.deployments.iter().all(|d| d.spec.replicas == Some(0)));
        assert!(
            stack
                .stateful_sets
                .iter()
                .all(|s| s.spec.replicas == Some(0))
        );
        assert_eq!(stack.claims.len(), 2);
    }

    #[test]
    fn services_that_migrate_at_start_wait_for_the_database_first() {
        let mut project = Project::test("abc");
        project.spec.postgres_version = supaplane_crds::PostgresVersion::V15;
        let stack = render(&project, &keys(), &StackSettings::default());
        let mut waiting = Vec::new();
        for deployment in &stack.deployments {
            let pod = deployment.spec.template.spec.as_ref().expect("pod");
            let Some(init) = pod.init_containers.as_ref() else {
                continue;
            };
            waiting.push(deployment.name_any());
            assert_eq!(init.len(), 1);
            let wait = &init[0];
            // The project's own Postgres image, for its pg_isready.
            assert_eq!(
                wait.image.as_deref(),
                Some(crate::images::postgres(project.spec.postgres_version))
            );
            let script = wait.command.as_ref().expect("command").join(" ");
            assert!(script.contains("pg_isready"), "{script}");
            assert!(
                !script.contains("project-abc"),
                "values come in as variables, never in the script: {script}"
            );
            let host = wait
                .env
                .iter()
                .flatten()
                .find(|e| e.name == "DB_HOST")
                .and_then(|e| e.value.clone());
            assert_eq!(host, Some(super::super::database::database_host(&project)));
            assert!(wait.resources.is_some(), "sized, so the quota counts it");
        }
        waiting.sort();
        assert_eq!(waiting, ["auth", "realtime", "storage"]);
    }

    #[test]
    fn the_shared_list_of_workloads_is_what_the_stack_renders() {
        let mut rendered: Vec<&str> = STATELESS_COMPONENTS.to_vec();
        rendered.push(super::super::database::NAME);
        rendered.sort();
        let mut shared = supaplane_crds::constants::WORKLOADS.to_vec();
        shared.sort();
        assert_eq!(rendered, shared);
    }
}
