//! Isolation: a project's pods accept traffic only from their own namespace
//! and from the namespaces supaplane trusts (the ingress controller's and
//! supaplane's own), so no other project can reach them.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};
use kube::api::ObjectMeta;
use supaplane_crds::Project;
use supaplane_crds::constants::project_namespace;

use super::{labels, owner_reference};

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
        metadata: ObjectMeta {
            name: Some(NAME.to_string()),
            namespace: Some(project_namespace(
                project.metadata.name.as_deref().unwrap_or_default(),
            )),
            labels: Some(labels(project, "network-policy")),
            owner_references: owner_reference(project).map(|r| vec![r]),
            ..Default::default()
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures::project;

    #[test]
    fn only_the_namespace_itself_and_trusted_namespaces_may_connect() {
        let policy = network_policy(&project("abc", "acme"), &["ingress-nginx".to_string()]);
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
}
