//! The projects of each organization, kept from the Projects watch as the
//! cache is, in the order Studio lists them (by name) and with each
//! project's piece of the organization page already serialized: a page
//! costs what it holds, however many projects the cluster has.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use supaplane_crds::{Project, SupabaseStatus};

use crate::common::shapes::{OrganizationProject, status_of};

#[derive(Clone, Default)]
pub struct ProjectIndex(Arc<RwLock<Index>>);

/// One project as the organization page needs it.
#[derive(Debug, Clone)]
pub struct IndexedProject {
    pub project_ref: String,
    /// The display name lowercased character by character: the name order.
    name_key: String,
    /// The display name as search compares it.
    search_text: String,
    created: Option<Time>,
    pub status: SupabaseStatus,
    /// Its `OrganizationProject`, serialized.
    pub piece: Bytes,
}

impl IndexedProject {
    fn of(project: &Project) -> Self {
        let display_name = &project.spec.display_name;
        IndexedProject {
            project_ref: project.name_any(),
            name_key: display_name.chars().flat_map(char::to_lowercase).collect(),
            search_text: display_name.to_lowercase(),
            created: project.metadata.creation_timestamp.clone(),
            status: status_of(project),
            piece: Bytes::from(
                serde_json::to_vec(&OrganizationProject::new(project)).unwrap_or_default(),
            ),
        }
    }

    /// Whether `search` (lowercased) is in its name or ref.
    pub fn matches(&self, search: &str) -> bool {
        self.search_text.contains(search) || self.project_ref.contains(search)
    }

    fn name_order(&self, other: &Self) -> std::cmp::Ordering {
        self.name_key
            .cmp(&other.name_key)
            .then_with(|| self.project_ref.cmp(&other.project_ref))
    }

    fn creation_order(&self, other: &Self) -> std::cmp::Ordering {
        self.created
            .cmp(&other.created)
            .then_with(|| self.project_ref.cmp(&other.project_ref))
    }
}

/// The orders Studio asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Order {
    NameAscending,
    NameDescending,
    CreatedAscending,
    CreatedDescending,
}

/// Each organization's projects, in name order; and each project's
/// organization, to move or drop it.
#[derive(Default)]
struct Projects {
    by_organization: HashMap<String, Vec<IndexedProject>>,
    organization_of: HashMap<String, String>,
    /// Each organization's generation: changed whenever its list changes,
    /// never to a value it had before (so a page kept with it is current
    /// exactly while the generation still matches).
    generations: HashMap<String, u64>,
}

/// Generations are drawn from one counter, so they never repeat, even
/// across a relist that rebuilds the index.
static NEXT_GENERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Projects {
    fn touch(&mut self, organization: &str) {
        let next = NEXT_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.generations.insert(organization.to_string(), next);
    }

    fn generation(&self, organization: &str) -> u64 {
        self.generations.get(organization).copied().unwrap_or(0)
    }

    fn insert(&mut self, project: &Project) {
        let entry = IndexedProject::of(project);
        self.remove(&entry.project_ref);
        let organization = project.spec.organization.clone();
        self.touch(&organization);
        self.organization_of
            .insert(entry.project_ref.clone(), organization.clone());
        let projects = self.by_organization.entry(organization).or_default();
        let at = projects
            .binary_search_by(|p| p.name_order(&entry))
            .unwrap_or_else(|at| at);
        projects.insert(at, entry);
    }

    fn remove(&mut self, project_ref: &str) {
        let Some(organization) = self.organization_of.remove(project_ref) else {
            return;
        };
        self.touch(&organization);
        if let Some(projects) = self.by_organization.get_mut(&organization) {
            projects.retain(|p| p.project_ref != project_ref);
            if projects.is_empty() {
                self.by_organization.remove(&organization);
            }
        }
    }
}

#[derive(Default)]
struct Index {
    current: Projects,
    /// While a (re)list runs: the index it is building.
    relisting: Option<Projects>,
}

/// One page of an organization's projects.
pub struct Page {
    /// Projects that passed the filter, before paging.
    pub count: usize,
    /// The page's `OrganizationProject`s, serialized, in order.
    pub pieces: Vec<Bytes>,
    /// The organization's generation the page was read at.
    pub generation: u64,
}

impl ProjectIndex {
    pub fn apply(&self, event: &Event<Project>) {
        let mut index = self
            .0
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match event {
            Event::Apply(project) => index.current.insert(project),
            Event::Delete(project) => index.current.remove(&project.name_any()),
            Event::Init => index.relisting = Some(Projects::default()),
            Event::InitApply(project) => {
                if let Some(relisting) = index.relisting.as_mut() {
                    relisting.insert(project);
                }
            }
            Event::InitDone => {
                if let Some(relisted) = index.relisting.take() {
                    index.current = relisted;
                }
            }
        }
    }

    /// The page of `organization`'s projects that `keep` accepts, in
    /// `order`, from `offset`, at most `limit`.
    pub fn page(
        &self,
        organization: &str,
        keep: impl Fn(&IndexedProject) -> bool,
        order: Order,
        offset: usize,
        limit: usize,
    ) -> Page {
        let index = self
            .0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let all: &[IndexedProject] = index
            .current
            .by_organization
            .get(organization)
            .map_or(&[], Vec::as_slice);
        let generation = index.current.generation(organization);
        // Kept in name order, each project judged once.
        let mut kept: Vec<&IndexedProject> = all.iter().filter(|p| keep(p)).collect();
        let count = kept.len();
        match order {
            Order::NameAscending => {}
            Order::NameDescending => kept.reverse(),
            Order::CreatedAscending => kept.sort_by(|a, b| a.creation_order(b)),
            Order::CreatedDescending => {
                kept.sort_by(|a, b| a.creation_order(b));
                kept.reverse();
            }
        }
        let pieces = kept
            .into_iter()
            .skip(offset)
            .take(limit)
            .map(|p| p.piece.clone())
            .collect();
        Page {
            count,
            pieces,
            generation,
        }
    }

    /// `organization`'s generation now (0 for one without projects).
    pub fn generation(&self, organization: &str) -> u64 {
        self.0
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .current
            .generation(organization)
    }

    /// The refs of `organization`'s projects, in name order.
    pub fn refs_in(&self, organization: &str) -> Vec<String> {
        self.map_in(organization, |reference| Some(reference.name.clone()))
    }

    /// `each` of `organization`'s projects, as cache keys, in name order.
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
            .current
            .by_organization
            .get(organization)
            .map(|projects| {
                projects
                    .iter()
                    .filter_map(|p| each(&ObjectRef::new(&p.project_ref)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A JSON array of serialized pieces.
pub fn json_array(pieces: &[Bytes]) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(pieces.iter().map(Bytes::len).sum::<usize>() + pieces.len() + 2);
    out.push(b'[');
    for (index, piece) in pieces.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend_from_slice(piece);
    }
    out.push(b']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, organization: &str) -> Project {
        named(name, organization, name, 0)
    }

    fn named(name: &str, organization: &str, display: &str, second: u32) -> Project {
        Project::test(name)
            .in_organization(organization)
            .displayed_as(display)
            .created_at(&format!("2026-12-01T00:00:{second:02}Z"))
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
        // Moved to another organization: listed there only.
        index.apply(&Event::Apply(project("a2", "globex")));
        assert!(index.refs_in("acme").is_empty());
        assert_eq!(index.refs_in("globex"), ["a2", "g1"]);
        // A relist replaces what was there: a project deleted meanwhile goes.
        index.apply(&Event::Init);
        index.apply(&Event::InitApply(project("g1", "globex")));
        index.apply(&Event::InitDone);
        assert!(index.refs_in("acme").is_empty());
        assert_eq!(index.refs_in("globex"), ["g1"]);
    }

    #[test]
    fn pages_follow_the_order_filter_and_window_asked_and_carry_each_piece() {
        let index = ProjectIndex::default();
        for (name, display, second) in [
            ("p3", "beta", 30),
            ("p1", "Alpha", 20),
            ("p2", "gamma", 10),
            ("p4", "alpha", 40),
        ] {
            index.apply(&Event::Apply(named(name, "acme", display, second)));
        }
        let refs = |page: Page| -> Vec<String> {
            page.pieces
                .iter()
                .map(|piece| {
                    let value: serde_json::Value = serde_json::from_slice(piece).expect("json");
                    value["ref"].as_str().expect("ref").to_string()
                })
                .collect()
        };
        let all = |_: &IndexedProject| true;
        // Case-blind by name, then by ref.
        assert_eq!(
            refs(index.page("acme", all, Order::NameAscending, 0, 10)),
            ["p1", "p4", "p3", "p2"]
        );
        assert_eq!(
            refs(index.page("acme", all, Order::NameDescending, 0, 10)),
            ["p2", "p3", "p4", "p1"]
        );
        let window = index.page("acme", all, Order::NameAscending, 1, 2);
        assert_eq!(window.count, 4);
        assert_eq!(refs(window), ["p4", "p3"]);
        let alphas = index.page("acme", |p| p.matches("alp"), Order::NameAscending, 0, 10);
        assert_eq!(alphas.count, 2);
        assert_eq!(
            refs(index.page("acme", all, Order::CreatedAscending, 0, 10)),
            ["p2", "p1", "p3", "p4"]
        );
        assert_eq!(
            refs(index.page("acme", all, Order::CreatedDescending, 0, 10)),
            ["p4", "p3", "p1", "p2"]
        );
        assert_eq!(
            index.page("nobody", all, Order::NameAscending, 0, 10).count,
            0
        );
        assert_eq!(json_array(&[]), b"[]");
        // Any change to an organization's list gives it a new generation.
        let before = index.generation("acme");
        let read = index.page("acme", all, Order::NameAscending, 0, 1);
        assert_eq!(read.generation, before);
        index.apply(&Event::Apply(named("p1", "acme", "Alpha", 20)));
        let after = index.generation("acme");
        assert_ne!(after, before);
        index.apply(&Event::Delete(named("p1", "acme", "Alpha", 20)));
        assert_ne!(index.generation("acme"), after);
    }
}
