//! The Organization controller: checks members, counts projects, and keeps
//! an organization that still has projects from being deleted.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{ListParams, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::{self, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::constants::{FIELD_MANAGER_OPERATOR, FINALIZER_ORGANIZATION_PROTECTION};
use supaplane_crds::{Organization, OrganizationRole, OrganizationStatus, Project, conditions};
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::organization_projects::OrganizationProjects;

/// What every reconcile needs.
pub struct Context {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    /// A label selector: only matching Organizations (and their Projects)
    /// are looked after; all when None.
    pub selector: Option<String>,
    /// Which organization each Project names, from the Projects' watch.
    pub projects: Arc<OrganizationProjects>,
}

/// Runs the Organization controller until the stream ends.
pub async fn run(context: Arc<Context>) {
    let organizations: Api<Organization> = Api::all(context.client.clone());
    let projects: Api<Project> = Api::all(context.client.clone());
    let mut scope = watcher::Config::default().page_size(crate::project_controller::LIST_PAGE);
    if let Some(selector) = &context.selector {
        scope = scope.labels(selector);
    }
    // A project appearing, going or moving changes its organizations'
    // counts; its status updates change nothing here.
    let index = context.projects.clone();
    let memberships = watcher(projects, scope.clone())
        .backoff(supaplane_crds::watching::backoff())
        .flat_map(move |event| {
            let woken = match event {
                Ok(event) => index.observe(&event),
                Err(error) => {
                    warn!(%error, "the organizations' Project watch failed");
                    Vec::new()
                }
            };
            futures::stream::iter(woken.into_iter().map(|name| ObjectRef::new(&name)))
        });
    Controller::new(organizations, scope)
        .reconcile_on(memberships)
        .trigger_backoff(supaplane_crds::watching::controller_backoff())
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                // A project names an organization this operator does not
                // hold (not created yet, or outside its selector).
                Err(kube::runtime::controller::Error::ObjectNotFound(object)) => {
                    debug!(%object, "no such organization here");
                }
                Err(error) => warn!(%error, "organization reconcile failed"),
                Ok(_) => {}
            }
        })
        .await;
}

#[tracing::instrument(skip_all, fields(organization = %organization.name_any()))]
pub async fn reconcile(organization: Arc<Organization>, context: Arc<Context>) -> Result<Action> {
    let _timer = context.metrics.reconcile_started("organization");
    let organizations: Api<Organization> = Api::all(context.client.clone());
    finalizer(
        &organizations,
        FINALIZER_ORGANIZATION_PROTECTION,
        organization,
        |event| async {
            match event {
                FinalizerEvent::Apply(organization) => {
                    let count = project_count(&organization, &context).await?;
                    write_status(&organization, &context, count, false).await?;
                    Ok(Action::requeue(Duration::from_secs(300)))
                }
                FinalizerEvent::Cleanup(organization) => {
                    let count = project_count(&organization, &context).await?;
                    write_status(&organization, &context, count, count > 0).await?;
                    if count > 0 {
                        return Err(Error::DeletionBlocked { projects: count });
                    }
                    Ok(Action::await_change())
                }
            }
        },
    )
    .await
    .or_else(crate::error::finalizer_outcome)
}

pub fn error_policy(
    _organization: Arc<Organization>,
    error: &Error,
    context: Arc<Context>,
) -> Action {
    context.metrics.reconcile_failed("organization");
    warn!(%error, "requeueing the organization");
    Action::requeue(Duration::from_secs(5))
}

async fn project_count(organization: &Organization, context: &Context) -> Result<u32> {
    let name = organization.name_any();
    if let Some(count) = context.projects.count(&name) {
        return Ok(count);
    }
    // Before the Projects' watch has listed once.
    let projects: Api<Project> = Api::all(context.client.clone());
    let list = projects
        .list(&ListParams::default())
        .await
        .map_err(Error::reading("Project", "*"))?;
    let count = list
        .items
        .iter()
        .filter(|p| p.spec.organization == name)
        .count();
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// Whether the members include an Owner, and the condition saying so.
pub fn members_condition(
    organization: &Organization,
    now: Time,
) -> supaplane_crds::conditions::Condition {
    let owners = organization
        .spec
        .members
        .iter()
        .filter(|m| m.role == OrganizationRole::Owner)
        .count();
    let (valid, reason, message) = if owners > 0 {
        (true, "HasOwner", format!("{owners} owner(s)"))
    } else {
        (
            false,
            "NoOwner",
            "an organization needs at least one member with role Owner: add one to spec.members"
                .to_string(),
        )
    };
    conditions::condition(
        conditions::MEMBERS_VALID,
        valid.into(),
        reason,
        message,
        organization.metadata.generation,
        now,
    )
}

async fn write_status(
    organization: &Organization,
    context: &Context,
    projects: u32,
    deletion_blocked: bool,
) -> Result<()> {
    let name = organization.name_any();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut status = organization.status.clone().unwrap_or_default();
    conditions::set_condition(
        &mut status.conditions,
        members_condition(organization, now.clone()),
    );
    let (reason, message) = if deletion_blocked {
        (
            "HasProjects",
            format!(
                "the organization still has {projects} project(s): delete them before the organization"
            ),
        )
    } else {
        ("NoDeletionPending", String::new())
    };
    conditions::set_condition(
        &mut status.conditions,
        conditions::condition(
            conditions::DELETION_BLOCKED,
            deletion_blocked.into(),
            reason,
            message,
            organization.metadata.generation,
            now,
        ),
    );
    let desired = OrganizationStatus {
        project_count: projects,
        observed_generation: organization.metadata.generation,
        ..status
    };
    if organization.status.as_ref() == Some(&desired) {
        return Ok(());
    }
    let organizations: Api<Organization> = Api::all(context.client.clone());
    let patch = json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization", "metadata": {"name": name}, "status": desired,
    });
    organizations
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER_OPERATOR).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|source| Error::Status {
            name: name.clone(),
            source,
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn organization(role: &str) -> Organization {
        serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization",
            "metadata": {"name": "acme", "generation": 3},
            "spec": {"displayName": "Acme", "members": [{"userId": "u", "email": "u@example.com", "role": role}]},
        }))
        .expect("organization")
    }

    #[test]
    fn members_need_an_owner() {
        let now = Time(Timestamp::UNIX_EPOCH);
        let valid = members_condition(&organization("Owner"), now.clone());
        assert_eq!(
            (valid.status.as_str(), valid.observed_generation),
            ("True", Some(3))
        );
        let invalid = members_condition(&organization("Developer"), now);
        assert_eq!(
            (invalid.status.as_str(), invalid.reason.as_str()),
            ("False", "NoOwner")
        );
        assert!(invalid.message.contains("spec.members"));
    }
}
