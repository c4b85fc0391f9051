//! What the facade knows of the cluster, fed by watch events: the
//! Organizations and Projects, each organization's projects in Studio's
//! order, each user's organizations, and the pages answered from them.

pub mod cache;
pub mod member_index;
pub mod page_cache;
pub mod project_index;

use std::sync::Arc;

use kube::runtime::watcher;
use kube::{Api, Client};
use supaplane_crds::{Organization, Project};
use tokio::task::JoinHandle;

use cache::Cache;
use member_index::MemberIndex;
use page_cache::PageCache;
use project_index::ProjectIndex;

/// The Organizations and Projects, and the indexes kept beside them.
pub struct Directory {
    pub organizations: Cache<Organization>,
    pub projects: Cache<Project>,
    /// The projects of each organization.
    pub project_index: ProjectIndex,
    /// The organizations of each user.
    pub member_index: MemberIndex,
    /// Organization pages, as answered.
    pub page_cache: PageCache,
}

impl Directory {
    /// Starts the watches; the caches fill in the background.
    pub fn start(client: &Client) -> (Directory, Vec<JoinHandle<()>>) {
        let member_index = MemberIndex::default();
        let indexing_members = member_index.clone();
        let (organizations, organizations_task) = Cache::start(
            Api::<Organization>::all(client.clone()),
            watcher::Config::default(),
            move |event| indexing_members.apply(event),
        );
        let project_index = ProjectIndex::default();
        let indexing = project_index.clone();
        let (projects, projects_task) = Cache::start(
            Api::<Project>::all(client.clone()),
            watcher::Config::default(),
            move |event| indexing.apply(event),
        );
        let directory = Directory {
            organizations,
            projects,
            project_index,
            member_index,
            page_cache: Default::default(),
        };
        (directory, vec![organizations_task, projects_task])
    }

    /// `organization`'s projects, from the cache by its index.
    pub fn projects_in(&self, organization: &str) -> Vec<Arc<Project>> {
        self.project_index.map_in(organization, |reference| {
            self.projects
                .get(reference)
                .filter(|project| project.spec.organization == organization)
        })
    }

    /// Waits until both caches hold a full list.
    pub async fn ready(&self) -> anyhow::Result<()> {
        self.organizations.wait_until_ready().await?;
        self.projects.wait_until_ready().await?;
        Ok(())
    }
}
