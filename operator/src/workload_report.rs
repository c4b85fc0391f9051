//! A workload as the operator's watch takes it in: the metadata the memo
//! marks it by, its replica count and its status. The pod template and the
//! field-ownership records, most of a workload's bytes, are skipped while
//! the watch's pages and events are decoded, so a restarted operator
//! listing every workload at once never holds them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStatus, StatefulSet, StatefulSetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use serde::{Deserialize, Deserializer};

/// What the watch of workload kind `K` keeps of each object; `S` is the
/// kind's status.
#[derive(Debug, Clone, Deserialize)]
#[serde(bound(deserialize = "S: Deserialize<'de>"))]
pub struct WorkloadReport<K, S> {
    #[serde(deserialize_with = "marked_metadata")]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: Replicas,
    #[serde(default)]
    pub status: Option<S>,
    #[serde(skip)]
    kind: PhantomData<fn() -> K>,
}

pub type DeploymentReport = WorkloadReport<Deployment, DeploymentStatus>;
pub type StatefulSetReport = WorkloadReport<StatefulSet, StatefulSetStatus>;

/// The one field of a workload's spec the operator reads from its watch.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Replicas {
    pub replicas: Option<i32>,
}

/// The metadata the memo's change mark of a workload and its owning
/// Project are read from, and nothing else.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MarkedMetadata {
    name: Option<String>,
    namespace: Option<String>,
    resource_version: Option<String>,
    generation: Option<i64>,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
    owner_references: Option<Vec<OwnerReference>>,
}

fn marked_metadata<'de, D: Deserializer<'de>>(decoder: D) -> Result<ObjectMeta, D::Error> {
    let kept = MarkedMetadata::deserialize(decoder)?;
    Ok(ObjectMeta {
        name: kept.name,
        namespace: kept.namespace,
        resource_version: kept.resource_version,
        generation: kept.generation,
        labels: kept.labels,
        annotations: kept.annotations,
        owner_references: kept.owner_references,
        ..ObjectMeta::default()
    })
}

/// Addressed as the kind itself: the watch lists and watches `K`.
impl<K: Resource<DynamicType = ()>, S> Resource for WorkloadReport<K, S> {
    type DynamicType = ();
    type Scope = K::Scope;

    fn kind(dynamic: &()) -> Cow<'_, str> {
        K::kind(dynamic)
    }

    fn group(dynamic: &()) -> Cow<'_, str> {
        K::group(dynamic)
    }

    fn version(dynamic: &()) -> Cow<'_, str> {
        K::version(dynamic)
    }

    fn plural(dynamic: &()) -> Cow<'_, str> {
        K::plural(dynamic)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::child_memo::Memoized;
    use k8s_openapi::api::apps::v1::{DeploymentCondition, DeploymentSpec, StatefulSetSpec};
    use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    /// Metadata as the API server sends it, with what the report drops.
    fn served_metadata(name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some("supaplane-p1".into()),
            resource_version: Some("41".into()),
            generation: Some(3),
            uid: Some("6f1c".into()),
            labels: Some([("app.kubernetes.io/component".into(), name.into())].into()),
            annotations: Some([("supaplane.io/restarted-at".into(), "1".into())].into()),
            owner_references: Some(vec![OwnerReference {
                kind: "Project".into(),
                name: "p1".into(),
                api_version: "supaplane.io/v1alpha1".into(),
                uid: "9a2b".into(),
                ..Default::default()
            }]),
            managed_fields: Some(vec![ManagedFieldsEntry {
                manager: Some("supaplane-operator".into()),
                fields_v1: Some(FieldsV1(serde_json::json!({"f:spec": {"f:template": {}}}))),
                ..Default::default()
            }]),
            ..Default::default()
        }
    }

    fn template() -> PodTemplateSpec {
        PodTemplateSpec {
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "auth".into(),
                    image: Some("supabase/gotrue".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Decoded from the JSON the API server would send for `whole`.
    fn reported<R: serde::de::DeserializeOwned>(whole: &impl serde::Serialize) -> R {
        let served = serde_json::to_vec(whole).expect("encodes");
        serde_json::from_slice(&served).expect("decodes as a report")
    }

    #[test]
    fn a_deployment_report_marks_and_reports_as_the_whole_deployment() {
        let mut whole = Deployment {
            metadata: served_metadata("auth"),
            spec: DeploymentSpec {
                replicas: Some(2),
                template: template(),
                ..Default::default()
            },
            status: Some(DeploymentStatus {
                observed_generation: Some(3),
                ready_replicas: Some(1),
                updated_replicas: Some(2),
                replicas: Some(2),
                conditions: Some(vec![DeploymentCondition {
                    type_: Some("ReplicaFailure".into()),
                    status: Some("True".into()),
                    message: Some("exceeded quota".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        };
        let report: DeploymentReport = reported(&whole);
        assert_eq!(report.metadata.managed_fields, None, "ownership not kept");
        assert_eq!(
            report.meta().owner_references,
            whole.metadata.owner_references
        );
        assert_eq!(report.change_mark(), whole.change_mark());
        assert_eq!(report.workload(), whole.workload());
        let observed = report.workload().expect("a workload");
        assert_eq!(observed.refused.as_deref(), Some("exceeded quota"));
        assert_eq!((observed.desired, observed.ready), (2, 1));

        // Not reported on yet.
        whole.status = None;
        let report: DeploymentReport = reported(&whole);
        assert_eq!(report.workload(), whole.workload());
        assert!(!report.workload().expect("a workload").observed);
    }

    #[test]
    fn a_stateful_set_report_marks_and_reports_as_the_whole_stateful_set() {
        let whole = StatefulSet {
            metadata: served_metadata("db"),
            spec: StatefulSetSpec {
                replicas: Some(1),
                template: template(),
                ..Default::default()
            },
            status: Some(StatefulSetStatus {
                observed_generation: Some(2),
                ready_replicas: Some(1),
                replicas: 1,
                ..Default::default()
            }),
        };
        let report: StatefulSetReport = reported(&whole);
        assert_eq!(report.change_mark(), whole.change_mark());
        assert_eq!(report.workload(), whole.workload());
        assert!(
            !report.workload().expect("a workload").observed,
            "generation 3 unseen"
        );
        // A change of labels moves both marks alike.
        let mut relabelled = whole.clone();
        relabelled.metadata.labels = None;
        let report: StatefulSetReport = reported(&relabelled);
        assert_eq!(report.change_mark(), relabelled.change_mark());
        assert_ne!(report.change_mark(), whole.change_mark());
    }

    #[test]
    fn a_report_is_addressed_as_its_kind() {
        assert_eq!(DeploymentReport::kind(&()), "Deployment");
        assert_eq!(
            DeploymentReport::url_path(&(), None),
            Deployment::url_path(&(), None)
        );
        assert_eq!(
            StatefulSetReport::url_path(&(), Some("supaplane-p1")),
            StatefulSet::url_path(&(), Some("supaplane-p1"))
        );
    }
}
