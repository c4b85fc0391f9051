//! Isolation: a project's pods accept traffic only from their own namespace
//! and from the namespaces supaplane trusts (the ingress controller's and
//! supaplane's own), so no other project can reach them.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Resource;
use kube::api::ObjectMeta;
use supaplane_crds::constants::project_namespace;
use supaplane_crds::{Project, Restore};

use super::backup::{LABEL_RESTORE, LABEL_RESTORE_INTO};
use super::child_metadata;
use super::database::{self, database_port};
use super::workload::selector;

pub const NAME: &str = "supaplane-isolation";

pub fn network_policy(project: &Project, trusted_namespaces: &[String]) -> NetworkPolicy {
    let mut peers = vec![NetworkPolicyPeer {
        // Every pod of this namespace (an empty selector in this namespace).
        pod_selector: Some(LabelSelector::default()),
        ..Default::default()
    }];
    if !trusted_namespaces.is_empty() {
        peers.push(NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_expressions: Some(vec![LabelSelectorRequirement {
                    key: "kubernetes.io/metadata.name".to_string(),
                    operator: "In".to_string(),
                    values: Some(trusted_namespaces.to_vec()),
                }]),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    NetworkPolicy {
        metadata: child_metadata(project, NAME, "network-policy"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::new()),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".to_string()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(peers),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

/// While a restore from another project's backup runs: the target's
/// database admits that restore's Job (in the source's namespace, by its
/// labels), on the database port only. Owned by the Restore; removed when
/// it ends.
pub fn restore_admission(target: &Project, restore: &Restore) -> NetworkPolicy {
    let restore_name = restore.metadata.name.clone().unwrap_or_default();
    NetworkPolicy {
        // The Restore's, not the Project's: it goes when the restore ends.
        metadata: ObjectMeta {
            namespace: Some(project_namespace(&restore.spec.project)),
            owner_references: restore.controller_owner_ref(&()).map(|r| vec![r]),
            ..child_metadata(
                target,
                &restore_admission_name(restore),
                "restore-admission",
            )
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(selector(target, database::NAME)),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".to_string()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![NetworkPolicyPeer {
                    namespace_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from([(
                            "kubernetes.io/metadata.name".to_string(),
                            project_namespace(restore.spec.source()),
                        )])),
                        ..Default::default()
                    }),
                    pod_selector: Some(LabelSelector {
                        match_labels: Some(BTreeMap::from([
                            (LABEL_RESTORE.to_string(), restore_name),
                            (LABEL_RESTORE_INTO.to_string(), restore.spec.project.clone()),
                        ])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }]),
                ports: Some(vec![NetworkPolicyPort {
                    port: Some(IntOrString::Int(database_port())),
                    protocol: Some("TCP".to_string()),
                    ..Default::default()
                }]),
            }]),
            ..Default::default()
        }),
    }
}

/// The name of [`restore_admission`]'s policy.
pub fn restore_admission_name(restore: &Restore) -> String {
    format!(
        "restore-{}",
        restore.metadata.name.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;

    #[test]
    fn only_the_namespace_itself_and_trusted_namespaces_may_connect() {
        let policy = network_policy(&Project::test("abc"), &["ingress-nginx".to_string()]);
        let spec = policy.spec.expect("spec");
        assert_eq!(
            spec.policy_types.as_deref(),
            Some(&["Ingress".to_string()][..])
        );
        let peers = spec.ingress.expect("ingress")[0]
            .from
            .clone()
            .expect("from");
        assert_eq!(peers.len(), 2);
        assert!(
            peers[0].namespace_selector.is_none(),
            "pods of other namespaces do not match the first peer"
        );
        let trusted = peers[1]
            .namespace_selector
            .clone()
            .expect("namespaces")
            .match_expressions
            .expect("expressions");
        assert_eq!(
            trusted[0].values.as_deref(),
            Some(&["ingress-nginx".to_string()][..])
        );
    }

    #[test]
    fn a_restore_from_another_project_is_admitted_to_the_database_port_only() {
        let target = Project::test("target");
        let mut restore = Restore::new(
            "initial-restore",
            supaplane_crds::RestoreSpec {
                project: "target".into(),
                backup: "nightly".into(),
                source_project: Some("source".into()),
            },
        );
        restore.metadata.namespace = Some("project-target".into());
        restore.metadata.uid = Some("uid-r".into());
        let policy = restore_admission(&target, &restore);
        assert_eq!(policy.metadata.namespace.as_deref(), Some("project-target"));
        let rule = &policy.spec.expect("spec").ingress.expect("ingress")[0];
        let peer = &rule.from.as_ref().expect("from")[0];
        let namespaces = peer
            .namespace_selector
            .clone()
            .and_then(|s| s.match_labels)
            .expect("namespaces");
        assert_eq!(
            namespaces
                .get("kubernetes.io/metadata.name")
                .map(String::as_str),
            Some("project-source")
        );
        let pods = peer
            .pod_selector
            .clone()
            .and_then(|s| s.match_labels)
            .expect("pods");
        assert_eq!(
            pods.get(LABEL_RESTORE).map(String::as_str),
            Some("initial-restore")
        );
        assert_eq!(
            pods.get(LABEL_RESTORE_INTO).map(String::as_str),
            Some("target")
        );
        let ports = rule.ports.clone().expect("ports");
        assert_eq!(ports.len(), 1);
        assert_eq!(ports[0].port, Some(IntOrString::Int(database_port())));
        assert_eq!(
            policy.metadata.owner_references.expect("owner")[0].name,
            "initial-restore"
        );
    }
}
