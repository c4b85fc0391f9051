//! What the Backup and Restore controllers share about the Jobs they run
//! for a project: the project they are for (if this operator looks after
//! it), what a Job came to, what its container said as it ended, and a
//! delete that does not mind the object being gone already.

use k8s_openapi::api::batch::v1::JobStatus;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client};
use supaplane_crds::Project;

use crate::error::{Error, Result};

/// The project named `name`, when this operator looks after it (matches
/// `selector`): read by a list narrowed to the name, since the operator
/// reads Projects by list and watch only.
pub async fn project_named(
    client: &Client,
    name: &str,
    selector: Option<&str>,
) -> Result<Option<Project>> {
    let projects: Api<Project> = Api::all(client.clone());
    let mut params = ListParams::default().fields(&format!("metadata.name={name}"));
    if let Some(selector) = selector {
        params = params.labels(selector);
    }
    let listed = projects
        .list(&params)
        .await
        .map_err(Error::reading("Project", name.to_string()))?;
    Ok(listed.items.into_iter().next())
}

/// Where a Job stands, as its status says.
#[derive(Debug, Clone, PartialEq)]
pub enum JobOutcome {
    Succeeded,
    /// With the message of its `Failed` condition, if any.
    Failed(Option<String>),
    /// A pod of it runs.
    Active,
    /// Not started yet (or no Job yet).
    Waiting,
}

impl JobOutcome {
    pub fn of(status: Option<&JobStatus>) -> JobOutcome {
        let Some(status) = status else {
            return JobOutcome::Waiting;
        };
        let failed_condition = status
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == "Failed" && c.status == "True");
        if status.succeeded.unwrap_or(0) > 0 {
            JobOutcome::Succeeded
        } else if status.failed.unwrap_or(0) > 0 || failed_condition.is_some() {
            JobOutcome::Failed(failed_condition.and_then(|c| c.message.clone()))
        } else if status.active.unwrap_or(0) > 0 {
            JobOutcome::Active
        } else {
            JobOutcome::Waiting
        }
    }
}

/// What the container of the Job's pod (labelled `label=value`) said as it
/// ended: the backup's size on success, the end of its output on failure.
pub async fn termination_message(
    client: &Client,
    namespace: &str,
    label: &str,
    value: &str,
) -> Result<Option<String>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let listed = pods
        .list(&ListParams::default().labels(&format!("{label}={value}")))
        .await
        .map_err(Error::reading("Pod", format!("{label}={value}")))?;
    Ok(listed
        .items
        .iter()
        .filter_map(|pod| pod.status.as_ref())
        // A bucket Job's first step is an init container: its failure ends
        // the pod before the second starts.
        .flat_map(|status| {
            let init = status.init_container_statuses.iter().flatten();
            init.chain(status.container_statuses.iter().flatten())
        })
        .filter_map(|container| {
            container
                .state
                .as_ref()?
                .terminated
                .as_ref()?
                .message
                .clone()
        })
        .next_back())
}

/// Deletes `name`; one already gone is not an error.
pub async fn delete_if_present<K>(api: &Api<K>, name: &str) -> Result<()>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    supaplane_crds::gone::delete_if_present(api, name, &DeleteParams::default())
        .await
        .map(|_| ())
        .map_err(Error::applying(crate::apply::kind_of::<K>(), name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::batch::v1::JobCondition;

    #[test]
    fn a_jobs_status_reads_as_its_outcome() {
        assert_eq!(JobOutcome::of(None), JobOutcome::Waiting);
        let status = |succeeded, failed, active, condition: Option<&str>| JobStatus {
            succeeded,
            failed,
            active,
            conditions: condition.map(|message| {
                vec![JobCondition {
                    type_: "Failed".into(),
                    status: "True".into(),
                    message: Some(message.into()),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        };
        assert_eq!(
            JobOutcome::of(Some(&status(Some(1), None, None, None))),
            JobOutcome::Succeeded
        );
        assert_eq!(
            JobOutcome::of(Some(&status(None, None, None, Some("deadline exceeded")))),
            JobOutcome::Failed(Some("deadline exceeded".into()))
        );
        assert_eq!(
            JobOutcome::of(Some(&status(None, Some(1), None, None))),
            JobOutcome::Failed(None)
        );
        assert_eq!(
            JobOutcome::of(Some(&status(None, None, Some(1), None))),
            JobOutcome::Active
        );
        assert_eq!(
            JobOutcome::of(Some(&status(None, None, None, None))),
            JobOutcome::Waiting
        );
    }
}
