//! The projects of each organization, kept from the Projects watch as the
//! cache is: listing an organization's projects touches that organization's
//! projects only, not every project in the cluster.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use supaplane_crds::Project;

#[derive(Clone, Default)]
pub struct ProjectIndex(Arc<RwLock<Index>>);

/// Each organization's projects, by ref, as cache keys ready to look up.
type ByOrganization = HashMap<String, BTreeMap<String, ObjectRef<Project>>>;

#[derive(Default)]
struct Index {
    by_organization: ByOrganization,
    /// While a (re)list runs: the index it is building.
    relisting: Option<ByOrganization>,
}

fn insert(into: &mut ByOrganization, project: &Project) {
    let project_ref = project.name_any();
    into.entry(project.spec.organization.clone())
        .or_default()
        .insert(project_ref.clone(), ObjectRef::new(&project_ref));
}

fn remove(from: &mut ByOrganization, project: &Project) {
    if let Some(refs) = from.get_mut(&project.spec.organization) {
        refs.remove(&project.name_any());
        if refs.is_empty() {
            from.remove(&project.spec.organization);
        }
    }
}

impl ProjectIndex {
    /// Follows one event of the Projects watch (after the cache has).
    pub fn apply(&self, event: &Event<Project>) {
        let mut index = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match event {
            Event::Apply(project) => insert(&mut index.by_organization, project),
            Event::Delete(project) => remove(&mut index.by_organization, project),
            Event::Init => index.relisting = Some(HashMap::new()),
            Event::InitApply(project) => {
                if let Some(relisting) = index.relisting.as_mut() {
                    insert(relisting, project);
                }
            }
            Event::InitDone => {
                if let Some(relisted) = index.relisting.take() {
                    index.by_organization = relisted;
                }
            }
        }
    }

    /// The refs of `organization`'s projects, in ref order.
    pub fn refs_in(&self, organization: &str) -> Vec<String> {
        self.map_in(organization, |reference| Some(reference.name.clone()))
    }

    /// What `each` makes of each of `organization`'s projects' cache keys,
    /// in ref order (none where it makes none).
    pub fn map_in<T>(
        &self,
        organization: &str,
        each: impl Fn(&ObjectRef<Project>) -> Option<T>,
    ) -> Vec<T> {
        let index = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        index
            .by_organization
            .get(organization)
            .map(|refs| refs.values().filter_map(each).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, organization: &str) -> Project {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
            "metadata": {"name": name},
            "spec": {"organization": organization, "displayName": name},
        }))
        .expect("project")
    }

    #[test]
    fn an_organization_lists_its_own_projects_through_lists_and_changes() {
        let index = ProjectIndex::default();
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(project("a1", "acme")));
        index.apply(&Event::InitApply(project("g1", "globex")));
        assert!(
            index.refs_in("acme").is_empty(),
            "not before the list is whole"
        );
        index.apply(&Event::InitDone);
        index.apply(&Event::Apply(project("a2", "acme")));
        assert_eq!(index.refs_in("acme"), ["a1", "a2"]);
        index.apply(&Event::Delete(project("a1", "acme")));
        assert_eq!(index.refs_in("acme"), ["a2"]);
        // A relist replaces what was there: a project deleted meanwhile goes.
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(project("g1", "globex")));
        index.apply(&Event::InitDone);
        assert!(index.refs_in("acme").is_empty());
        assert_eq!(index.refs_in("globex"), ["g1"]);
    }
}
