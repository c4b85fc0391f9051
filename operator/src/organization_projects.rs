//! Which organization each Project belongs to, kept from the Projects'
//! watch. An organization's project count is then a lookup instead of a
//! LIST of every Project in the cluster, and only a Project that joins,
//! leaves or moves wakes its organizations: not each of its status updates.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use kube::ResourceExt;
use kube::runtime::watcher::Event;
use supaplane_crds::Project;

#[derive(Debug, Default)]
struct Memberships {
    /// Project name → organization name.
    organization_of: HashMap<Box<str>, Box<str>>,
    /// What a relist has delivered so far; swapped in when it completes.
    relisting: Option<HashMap<Box<str>, Box<str>>>,
    /// Whether a list has completed since the watch started.
    listed: bool,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub struct OrganizationProjects {
    memberships: Mutex<Memberships>,
}

impl OrganizationProjects {
    /// Takes in one watch event; answers the organizations whose project
    /// count it may have changed.
    pub fn observe(&self, event: &Event<Project>) -> Vec<String> {
        let mut memberships = self.memberships.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Init => {
                memberships.relisting = Some(HashMap::new());
                Vec::new()
            }
            Event::InitApply(project) => {
                if let Some(relisting) = memberships.relisting.as_mut() {
                    relisting.insert(project.name_any().into(), membership(project));
                }
                Vec::new()
            }
            Event::InitDone => {
                let fresh = memberships.relisting.take().unwrap_or_default();
                let old = std::mem::replace(&mut memberships.organization_of, fresh);
                memberships.listed = true;
                // Every organization either list names: a relist can hide
                // any number of changes.
                let touched: BTreeSet<&str> = old
                    .values()
                    .chain(memberships.organization_of.values())
                    .map(|organization| &**organization)
                    .collect();
                touched.into_iter().map(str::to_string).collect()
            }
            Event::Apply(project) => {
                let organization = membership(project);
                let previous = memberships
                    .organization_of
                    .insert(project.name_any().into(), organization.clone());
                match previous {
                    Some(previous) if previous == organization => Vec::new(),
                    Some(previous) => vec![previous.into(), organization.into()],
                    None => vec![organization.into()],
                }
            }
            Event::Delete(project) => memberships
                .organization_of
                .remove(project.name_any().as_str())
                .map(|organization| vec![organization.into()])
                .unwrap_or_default(),
        }
    }

    /// How many Projects name `organization`; None until the watch has
    /// listed them all once.
    pub fn count(&self, organization: &str) -> Option<u32> {
        let memberships = self.memberships.lock().unwrap_or_else(|e| e.into_inner());
        if !memberships.listed {
            return None;
        }
        let count = memberships
            .organization_of
            .values()
            .filter(|of| ***of == *organization)
            .count();
        Some(u32::try_from(count).unwrap_or(u32::MAX))
    }
}

fn membership(project: &Project) -> Box<str> {
    project.spec.organization.as_str().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_known_once_listed_and_follow_joins_moves_and_leaves() {
        let index = OrganizationProjects::default();
        assert_eq!(index.count("acme"), None);
        index.observe(&Event::Init);
        index.observe(&Event::InitApply(Project::test("a")));
        index.observe(&Event::InitApply(Project::test("b")));
        index.observe(&Event::InitApply(
            Project::test("c").in_organization("globex"),
        ));
        assert_eq!(index.count("acme"), None, "not before the list completes");
        let mut woken = index.observe(&Event::InitDone);
        woken.sort();
        assert_eq!(woken, ["acme", "globex"]);
        assert_eq!(index.count("acme"), Some(2));
        assert_eq!(index.count("initech"), Some(0));

        // A status update changes no count and wakes nobody.
        assert!(index.observe(&Event::Apply(Project::test("a"))).is_empty());
        assert_eq!(
            index.observe(&Event::Apply(Project::test("a").in_organization("globex"))),
            ["acme", "globex"]
        );
        assert_eq!(index.count("acme"), Some(1));
        assert_eq!(index.count("globex"), Some(2));
        assert_eq!(
            index.observe(&Event::Apply(Project::test("d").in_organization("initech"))),
            ["initech"]
        );
        assert_eq!(
            index.observe(&Event::Delete(Project::test("c").in_organization("globex"))),
            ["globex"]
        );
        assert_eq!(index.count("globex"), Some(1));

        // A relist replaces what was known: one deleted meanwhile is gone.
        index.observe(&Event::Init);
        index.observe(&Event::InitApply(
            Project::test("a").in_organization("globex"),
        ));
        let mut woken = index.observe(&Event::InitDone);
        woken.sort();
        assert_eq!(woken, ["acme", "globex", "initech"]);
        assert_eq!(index.count("initech"), Some(0));
        assert_eq!(index.count("globex"), Some(1));
    }
}
