//! What the operator knows of the children it applied, kept up to date from
//! their watch events, so that a reconcile which would change nothing reads
//! nothing: a child is skipped when what the reconcile renders hashes as it
//! did when the child was last found right, and the watch has seen no change
//! to the child since (the same resourceVersion). Any change (a hand edit, a
//! status update, a deletion, a watch restart) sends that child back to a
//! read and a comparison.
//!
//! Only a few bytes per child are kept, never the objects themselves, so the
//! memory per project stays flat however large the rendered stack is.

use std::collections::HashMap;
use std::fmt::Debug;
use std::num::NonZeroU64;
use std::sync::Mutex;

use compact_str::CompactString;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, PersistentVolumeClaim, ResourceQuota, Secret, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::PartialObjectMeta;
use kube::runtime::watcher::Event;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::apply::{Existence, apply_digested, spec_digest};
use crate::error::Result;
use crate::project_status::WorkloadObservation;
use crate::workload_report::{DeploymentReport, StatefulSetReport};

/// The kinds of child the memo tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildKind {
    Namespace,
    Secret,
    ConfigMap,
    PersistentVolumeClaim,
    StatefulSet,
    Deployment,
    Service,
    Ingress,
    NetworkPolicy,
    ResourceQuota,
    LimitRange,
    Role,
    RoleBinding,
    Job,
}

/// A child kind the memo follows, and what it reports of a workload.
pub trait Memoized: Resource<DynamicType = ()> {
    const KIND: ChildKind;

    /// What a workload reports about its pods; None for other kinds.
    fn workload(&self) -> Option<WorkloadObservation> {
        None
    }

    /// What changes whenever the object changes in a way that needs a
    /// look: its resourceVersion, unless the kind says better.
    fn change_mark(&self) -> Option<String> {
        self.meta().resource_version.clone()
    }
}

/// A child watched for its metadata alone is followed as the kind itself.
impl<K: Memoized> Memoized for PartialObjectMeta<K> {
    const KIND: ChildKind = K::KIND;
}

/// A workload's change mark: its generation (which any spec change moves)
/// and a digest of its labels, annotations and owners. Status updates,
/// which come with every pod that gets ready, do not move it: they are
/// taken in as reports, not as reasons to read the workload again.
fn workload_mark(meta: &ObjectMeta) -> Option<String> {
    let digest = spec_digest(&(
        meta.generation,
        &meta.labels,
        &meta.annotations,
        &meta.owner_references,
    ));
    Some(format!("{:016x}", render_digest(&digest)))
}

/// The digest a child's rendered form is remembered by (the first 64 bits
/// of its SHA-256: two renders of one child colliding in 64 bits is not a
/// concern, and every byte here is paid ~25 times per project).
pub type RenderDigest = u64;

/// A change mark as kept: a hash of it, since marks are only ever compared
/// for equality, and two marks of one child colliding in 64 bits is not a
/// concern. Never zero, so that an absent one costs no room.
type MarkKey = NonZeroU64;

fn mark_key(mark: &str) -> MarkKey {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    mark.hash(&mut hasher);
    NonZeroU64::new(hasher.finish()).unwrap_or(NonZeroU64::MIN)
}

/// One child, in 64 bytes: a name of up to 24 bytes is held inline.
#[derive(Debug)]
struct Child {
    kind: ChildKind,
    name: CompactString,
    /// The change mark (see [`Memoized::change_mark`]) the watch last
    /// reported, while the watch is known to be current for this kind.
    seen: Option<MarkKey>,
    /// What this child reported when the watch last saw it (workloads only,
    /// boxed so that the other kinds do not carry its room).
    workload: Option<Box<WorkloadObservation>>,
    /// The render last found in place, and at which change mark.
    confirmed: Option<(RenderDigest, MarkKey)>,
}

#[derive(Debug, Default)]
struct Children {
    /// Per namespace (so per project), the few children it holds.
    by_namespace: HashMap<Box<str>, Vec<Child>>,
    /// Kinds whose watch has listed everything since it (re)started.
    listed: Vec<ChildKind>,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct ChildMemo {
    children: Mutex<Children>,
}

/// Where a child lives: the key the memo is read with.
pub struct ChildName<'a> {
    pub kind: ChildKind,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// What the memo knows of one child.
enum Known {
    /// It holds the render, as the watch last saw it.
    Unchanged(Option<WorkloadObservation>),
    /// The watch, current for its kind, has not seen it.
    Absent,
    Nothing,
}

/// What applying a child through the memo found.
pub enum Applied<K> {
    /// Known to hold the render already: not read, not written. Carries
    /// what the workload last reported, for a workload.
    Unchanged(Option<WorkloadObservation>),
    /// Read (and written, if it differed): the live object.
    Live(K),
}

impl<K: Memoized> Applied<K> {
    /// What the workload reports, for a workload.
    pub fn workload(&self) -> Option<WorkloadObservation> {
        match self {
            Applied::Unchanged(workload) => workload.clone(),
            Applied::Live(live) => live.workload(),
        }
    }
}

impl ChildMemo {
    /// Applies `desired` in `namespace` as
    /// [`apply_if_changed`](crate::apply::apply_if_changed) does, unless the
    /// memo knows the child holds it already. A child is remembered as right
    /// only when `settled` accepts the live object (a label still to remove
    /// means one more look next time).
    pub async fn apply<K>(
        &self,
        api: &Api<K>,
        namespace: &str,
        desired: K,
        settled: impl Fn(&K) -> bool,
    ) -> Result<Applied<K>>
    where
        K: Memoized + Clone + Debug + Serialize + DeserializeOwned,
    {
        let digest = spec_digest(&desired);
        let remembered = render_digest(&digest);
        let name = desired.name_any();
        let child = ChildName {
            kind: K::KIND,
            namespace,
            name: &name,
        };
        let existence = match self.known(&child, remembered) {
            Known::Unchanged(workload) => return Ok(Applied::Unchanged(workload)),
            Known::Absent => Existence::NotSeen,
            Known::Nothing => Existence::Unknown,
        };
        let live = apply_digested(api, desired, &digest, existence).await?;
        if settled(&live)
            && let Some(mark) = live.change_mark()
        {
            self.confirm(&child, remembered, &mark);
        }
        Ok(Applied::Live(live))
    }

    /// Takes in one event of a watch of `K`.
    pub fn observe<K: Memoized>(&self, event: &Event<K>) {
        let mut children = self.lock();
        match event {
            Event::Init => {
                // Until the relist is done, nothing of this kind is trusted:
                // an object deleted while the watch was down is not in it.
                children.listed.retain(|kind| *kind != K::KIND);
                for child in children.by_namespace.values_mut().flatten() {
                    if child.kind == K::KIND {
                        child.seen = None;
                    }
                }
            }
            Event::InitDone => children.listed.push(K::KIND),
            Event::Apply(object) | Event::InitApply(object) => {
                let meta = object.meta();
                let (Some(namespace), Some(name)) = (
                    meta.namespace.as_deref().or(meta.name.as_deref()),
                    meta.name.as_deref(),
                ) else {
                    return;
                };
                let child = children.entry(K::KIND, namespace, name);
                child.seen = object.change_mark().as_deref().map(mark_key);
                child.workload = object.workload().map(Box::new);
            }
            Event::Delete(object) => {
                let meta = object.meta();
                let namespace = meta.namespace.as_deref().or(meta.name.as_deref());
                if let (Some(namespace), Some(name)) = (namespace, meta.name.as_deref()) {
                    children.remove(K::KIND, namespace, name);
                }
            }
        }
    }

    /// When `child` is known to hold the render `digest` unchanged, what it
    /// reports (`Some(None)` for a child that is not a workload).
    #[cfg(test)]
    pub fn unchanged(
        &self,
        child: &ChildName<'_>,
        digest: RenderDigest,
    ) -> Option<Option<WorkloadObservation>> {
        match self.known(child, digest) {
            Known::Unchanged(workload) => Some(workload),
            Known::Absent | Known::Nothing => None,
        }
    }

    fn known(&self, child: &ChildName<'_>, digest: RenderDigest) -> Known {
        let children = self.lock();
        // An entry without a sighting (applied a moment ago, or not yet
        // relisted) is read, not presumed absent.
        let found = children
            .by_namespace
            .get(child.namespace)
            .and_then(|siblings| {
                siblings
                    .iter()
                    .find(|c| c.kind == child.kind && *c.name == *child.name)
            });
        let Some(found) = found else {
            return if children.listed.contains(&child.kind) {
                Known::Absent
            } else {
                Known::Nothing
            };
        };
        match &found.confirmed {
            Some((confirmed, version)) if *confirmed == digest && found.seen == Some(*version) => {
                Known::Unchanged(found.workload.as_deref().cloned())
            }
            _ => Known::Nothing,
        }
    }

    /// Records that `child` was found holding the render `digest` at
    /// `version`.
    pub fn confirm(&self, child: &ChildName<'_>, digest: RenderDigest, version: &str) {
        let mut children = self.lock();
        children
            .entry(child.kind, child.namespace, child.name)
            .confirmed = Some((digest, mark_key(version)));
    }

    /// The names of the `kind` children in `namespace`, when the watch of
    /// that kind is current (None before its first list completes).
    pub fn names(&self, kind: ChildKind, namespace: &str) -> Option<Vec<String>> {
        let children = self.lock();
        if !children.listed.contains(&kind) {
            return None;
        }
        Some(
            children
                .by_namespace
                .get(namespace)
                .into_iter()
                .flatten()
                .filter(|c| c.kind == kind && c.seen.is_some())
                .map(|c| c.name.to_string())
                .collect(),
        )
    }

    /// Children remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.lock().by_namespace.values().map(Vec::len).sum()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Children> {
        // A panic while holding the lock leaves only hints behind: carry on.
        self.children
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Children {
    fn entry(&mut self, kind: ChildKind, namespace: &str, name: &str) -> &mut Child {
        if !self.by_namespace.contains_key(namespace) {
            self.by_namespace.insert(Box::from(namespace), Vec::new());
        }
        let siblings = self
            .by_namespace
            .get_mut(namespace)
            .expect("inserted above");
        let index = match siblings
            .iter()
            .position(|c| c.kind == kind && *c.name == *name)
        {
            Some(index) => index,
            None => {
                // A project's children are added once and rarely change:
                // exact room, not doubling, keeps the spare slots out.
                siblings.reserve_exact(1);
                siblings.push(Child {
                    kind,
                    name: CompactString::from(name),
                    seen: None,
                    workload: None,
                    confirmed: None,
                });
                siblings.len() - 1
            }
        };
        &mut siblings[index]
    }

    fn remove(&mut self, kind: ChildKind, namespace: &str, name: &str) {
        if let Some(siblings) = self.by_namespace.get_mut(namespace) {
            siblings.retain(|c| !(c.kind == kind && *c.name == *name));
            if siblings.is_empty() {
                self.by_namespace.remove(namespace);
            }
        }
    }
}

fn render_digest(digest: &[u8; 32]) -> RenderDigest {
    let mut head = [0u8; 8];
    head.copy_from_slice(&digest[..8]);
    RenderDigest::from_be_bytes(head)
}

macro_rules! memoized {
    ($($kind:ident),* $(,)?) => {
        $(impl Memoized for $kind {
            const KIND: ChildKind = ChildKind::$kind;
        })*
    };
}

memoized!(
    Namespace,
    Secret,
    ConfigMap,
    PersistentVolumeClaim,
    Service,
    Ingress,
    NetworkPolicy,
    ResourceQuota,
    LimitRange,
    Role,
    RoleBinding,
    Job,
);

/// A workload kind: read whole on apply, watched as its
/// [report](crate::workload_report). Both mark and report from the same
/// parts, so the memo's decisions do not depend on which one it saw.
macro_rules! memoized_workload {
    ($type:ty, $kind:ident, $observe:ident) => {
        impl Memoized for $type {
            const KIND: ChildKind = ChildKind::$kind;

            fn change_mark(&self) -> Option<String> {
                workload_mark(&self.metadata)
            }

            fn workload(&self) -> Option<WorkloadObservation> {
                Some(WorkloadObservation::of_stack_workload(
                    self.metadata.name.as_deref().unwrap_or_default(),
                    |condition, name| {
                        WorkloadObservation::$observe(
                            condition,
                            name,
                            self.metadata.generation,
                            self.spec.replicas,
                            self.status.as_ref(),
                        )
                    },
                ))
            }
        }
    };
}

memoized_workload!(Deployment, Deployment, of_deployment);
memoized_workload!(StatefulSet, StatefulSet, of_stateful_set);
memoized_workload!(DeploymentReport, Deployment, of_deployment);
memoized_workload!(StatefulSetReport, StatefulSet, of_stateful_set);

#[cfg(test)]
mod tests {
    use super::*;

    fn config_map(version: &str) -> ConfigMap {
        let mut object = ConfigMap::default();
        object.metadata.name = Some("gateway".into());
        object.metadata.namespace = Some("supaplane-p1".into());
        object.metadata.resource_version = Some(version.into());
        object
    }

    const CHILD: ChildName<'static> = ChildName {
        kind: ChildKind::ConfigMap,
        namespace: "supaplane-p1",
        name: "gateway",
    };

    #[test]
    fn a_child_is_remembered_in_64_bytes() {
        // ~25 children per project, 10,000 projects: each byte is 250 KB.
        assert!(std::mem::size_of::<Child>() <= 64);
    }

    #[test]
    fn a_child_is_unchanged_only_at_the_version_and_render_confirmed() {
        let memo = ChildMemo::default();
        memo.observe(&Event::Apply(config_map("10")));
        assert_eq!(memo.unchanged(&CHILD, 7), None, "never confirmed");
        memo.confirm(&CHILD, 7, "10");
        assert_eq!(memo.unchanged(&CHILD, 7), Some(None));
        assert_eq!(memo.unchanged(&CHILD, 8), None, "another render");
        // Any change the watch reports (an edit, a status) means a look.
        memo.observe(&Event::Apply(config_map("11")));
        assert_eq!(memo.unchanged(&CHILD, 7), None);
        // Confirmed before the watch caught up: trusted once it does.
        memo.confirm(&CHILD, 7, "12");
        assert_eq!(memo.unchanged(&CHILD, 7), None);
        memo.observe(&Event::Apply(config_map("12")));
        assert_eq!(memo.unchanged(&CHILD, 7), Some(None));
    }

    #[test]
    fn deletions_and_watch_restarts_are_never_trusted_away() {
        let memo = ChildMemo::default();
        memo.observe::<ConfigMap>(&Event::Init);
        memo.observe(&Event::InitApply(config_map("10")));
        assert_eq!(memo.names(ChildKind::ConfigMap, "supaplane-p1"), None);
        memo.observe::<ConfigMap>(&Event::InitDone);
        assert_eq!(
            memo.names(ChildKind::ConfigMap, "supaplane-p1"),
            Some(vec!["gateway".to_string()])
        );
        assert_eq!(memo.names(ChildKind::Secret, "supaplane-p1"), None);
        memo.confirm(&CHILD, 7, "10");
        // A restarted watch: nothing of the kind is trusted until relisted.
        memo.observe::<ConfigMap>(&Event::Init);
        assert_eq!(memo.unchanged(&CHILD, 7), None);
        assert_eq!(memo.names(ChildKind::ConfigMap, "supaplane-p1"), None);
        memo.observe(&Event::InitApply(config_map("10")));
        memo.observe::<ConfigMap>(&Event::InitDone);
        assert_eq!(memo.unchanged(&CHILD, 7), Some(None));
        memo.observe(&Event::Delete(config_map("10")));
        assert_eq!(memo.unchanged(&CHILD, 7), None);
        assert_eq!(
            memo.names(ChildKind::ConfigMap, "supaplane-p1"),
            Some(Vec::new())
        );
        assert!(memo.is_empty());
    }

    #[test]
    fn a_child_never_seen_by_a_current_watch_is_known_absent() {
        let memo = ChildMemo::default();
        assert!(matches!(memo.known(&CHILD, 7), Known::Nothing));
        memo.observe::<ConfigMap>(&Event::Init);
        memo.observe::<ConfigMap>(&Event::InitDone);
        assert!(matches!(memo.known(&CHILD, 7), Known::Absent));
        // Applied a moment ago, its event not in yet: read, not presumed.
        memo.confirm(&CHILD, 7, "3");
        assert!(matches!(memo.known(&CHILD, 7), Known::Nothing));
    }

    #[test]
    fn a_workload_reports_what_its_watch_last_saw() {
        let memo = ChildMemo::default();
        let mut auth = Deployment::default();
        auth.metadata.name = Some("auth".into());
        auth.metadata.namespace = Some("supaplane-p1".into());
        auth.metadata.resource_version = Some("5".into());
        auth.spec.replicas = Some(2);
        let child = ChildName {
            kind: ChildKind::Deployment,
            namespace: "supaplane-p1",
            name: "auth",
        };
        let mark = auth.change_mark().expect("a mark");
        memo.observe(&Event::Apply(auth.clone()));
        memo.confirm(&child, 1, &mark);
        let workload = memo
            .unchanged(&child, 1)
            .flatten()
            .expect("a workload's report");
        assert_eq!((workload.name, workload.desired), ("auth", 2));
        assert_eq!(workload.condition_type, "AuthReady");
        assert_eq!(workload.ready, 0);
        // Its pods getting ready is a report, not a reason to read it again.
        auth.metadata.resource_version = Some("6".into());
        auth.status = Some(k8s_openapi::api::apps::v1::DeploymentStatus {
            ready_replicas: Some(2),
            ..Default::default()
        });
        memo.observe(&Event::Apply(auth.clone()));
        let workload = memo.unchanged(&child, 1).flatten().expect("still known");
        assert_eq!(workload.ready, 2);
        // A label set by hand, or a spec change, is.
        auth.metadata.labels = Some([("by".to_string(), "hand".to_string())].into());
        memo.observe(&Event::Apply(auth.clone()));
        assert_eq!(memo.unchanged(&child, 1), None);
        auth.metadata.labels = None;
        auth.metadata.generation = Some(2);
        memo.observe(&Event::Apply(auth));
        assert_eq!(memo.unchanged(&child, 1), None);
    }
}
