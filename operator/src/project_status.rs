//! A Project's status, computed only from what its children report. Pure:
//! observations and the previous status in, the next status out.

use k8s_openapi::api::apps::v1::{DeploymentStatus, StatefulSetStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use supaplane_crds::conditions::{self, Condition, ConditionStatus};
use supaplane_crds::{Project, ProjectEndpoints, ProjectStatus, SupabaseStatus};

use crate::render::stack::{STATELESS_COMPONENTS, condition_of};

/// What one workload reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkloadObservation {
    /// The condition this workload sets, e.g. `AuthReady`.
    pub condition_type: &'static str,
    /// The workload's name, for messages.
    pub name: &'static str,
    /// Whether the workload exists yet.
    pub exists: bool,
    /// The replicas it should run.
    pub desired: i32,
    /// Its controller has seen its latest spec.
    pub observed: bool,
    pub ready: i32,
    pub updated: i32,
    /// Pods that exist at all, ready or not.
    pub running: i32,
    /// Why the cluster refuses to create its pods (a quota, an admission
    /// webhook), as its controller reports it.
    pub refused: Option<String>,
}

impl WorkloadObservation {
    pub fn missing(condition_type: &'static str, name: &'static str) -> Self {
        WorkloadObservation {
            condition_type,
            name,
            exists: false,
            desired: 0,
            observed: false,
            ready: 0,
            updated: 0,
            running: 0,
            refused: None,
        }
    }

    /// What a Deployment reports: its generation, its spec's replicas and
    /// its status (from the full object or from its watch's report).
    pub fn of_deployment(
        condition_type: &'static str,
        name: &'static str,
        generation: Option<i64>,
        replicas: Option<i32>,
        status: Option<&DeploymentStatus>,
    ) -> Self {
        let unreported = DeploymentStatus::default();
        let status = status.unwrap_or(&unreported);
        WorkloadObservation {
            condition_type,
            name,
            exists: true,
            desired: replicas.unwrap_or(1),
            observed: status.observed_generation >= generation,
            ready: status.ready_replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            running: status.replicas.unwrap_or(0),
            // The deployment controller sets ReplicaFailure when its
            // ReplicaSet's pods are refused (FailedCreate).
            refused: status
                .conditions
                .iter()
                .flatten()
                .find(|c| {
                    c.type_.as_deref() == Some("ReplicaFailure")
                        && c.status.as_deref() == Some("True")
                })
                .map(|c| {
                    c.message
                        .clone()
                        .or_else(|| c.reason.clone())
                        .unwrap_or_default()
                }),
        }
    }

    /// What a StatefulSet reports, as [`Self::of_deployment`].
    pub fn of_stateful_set(
        condition_type: &'static str,
        name: &'static str,
        generation: Option<i64>,
        replicas: Option<i32>,
        status: Option<&StatefulSetStatus>,
    ) -> Self {
        let unreported = StatefulSetStatus::default();
        let status = status.unwrap_or(&unreported);
        WorkloadObservation {
            condition_type,
            name,
            exists: true,
            desired: replicas.unwrap_or(1),
            observed: status.observed_generation >= generation,
            ready: status.ready_replicas.unwrap_or(0),
            updated: status.updated_replicas.unwrap_or(0),
            running: status.replicas,
            refused: None,
        }
    }

    /// What the stack's workload `workload_name` reports, under the
    /// condition its component sets.
    pub fn of_stack_workload(
        workload_name: &str,
        of: impl FnOnce(&'static str, &'static str) -> Self,
    ) -> Self {
        let stable_name = STATELESS_COMPONENTS
            .iter()
            .chain([crate::render::database::NAME].iter())
            .find(|component| **component == workload_name)
            .copied()
            .unwrap_or("workload");
        of(
            condition_of(stable_name).unwrap_or("WorkloadReady"),
            stable_name,
        )
    }

    /// Rolled out: every replica of the latest spec is ready.
    pub fn is_ready(&self) -> bool {
        self.exists
            && self.observed
            && self.desired > 0
            && self.ready >= self.desired
            && self.updated >= self.desired
    }

    /// Still answering, perhaps mid-rollout.
    pub fn is_serving(&self) -> bool {
        self.exists && self.desired > 0 && self.ready >= self.desired
    }

    /// Scaled to zero with no pod left.
    pub fn is_stopped(&self) -> bool {
        !self.exists || (self.desired == 0 && self.observed && self.running == 0)
    }

    fn describe(&self) -> String {
        if let Some(why) = &self.refused {
            format!("{} cannot create its pods: {why}", self.name)
        } else if !self.exists {
            format!("{} is not created yet", self.name)
        } else {
            format!("{} has {}/{} ready", self.name, self.ready, self.desired)
        }
    }
}

/// Everything the next status is computed from.
pub struct Observations<'a> {
    pub project: &'a Project,
    /// The keys Secret exists; or why not.
    pub secrets: Result<(), String>,
    /// The spec cannot be realised, and why.
    pub failure: Option<String>,
    /// Volumes whose change the API server refused, and what to do.
    pub refused_volumes: Vec<String>,
    pub workloads: Vec<WorkloadObservation>,
    /// Workloads (by name) with a restart asked lately (see
    /// `render::restart`): the project is restarting until they rolled out.
    pub restarts: Vec<String>,
    pub endpoints: ProjectEndpoints,
    pub anon_key: Option<String>,
    pub namespace: String,
    pub now: Time,
}

/// The next status of the project.
pub fn next_status(observed: Observations<'_>) -> ProjectStatus {
    let project = observed.project;
    let generation = project.metadata.generation;
    let previous = project.status.clone().unwrap_or_default();
    let previous_status = previous.status;
    let mut conditions_list: Vec<Condition> = previous.conditions.clone();
    let now = observed.now.clone();
    let set =
        |list: &mut Vec<Condition>, type_: &str, status: bool, reason: &str, message: String| {
            conditions::set_condition(
                list,
                conditions::condition(
                    type_,
                    ConditionStatus::from(status),
                    reason,
                    message,
                    generation,
                    now.clone(),
                ),
            );
        };

    match &observed.secrets {
        Ok(()) => set(
            &mut conditions_list,
            conditions::SECRETS_READY,
            true,
            "KeysAvailable",
            "the project's keys Secret exists".into(),
        ),
        Err(why) => set(
            &mut conditions_list,
            conditions::SECRETS_READY,
            false,
            "KeysUnavailable",
            why.clone(),
        ),
    }
    for workload in &observed.workloads {
        let (ready, reason) = if project.spec.paused {
            (false, "Paused")
        } else if workload.is_ready() {
            (true, "RolledOut")
        } else if workload.refused.is_some() {
            (false, "PodsRefused")
        } else {
            (false, "NotReady")
        };
        let message = if project.spec.paused {
            format!("{} is paused", workload.name)
        } else {
            workload.describe()
        };
        set(
            &mut conditions_list,
            workload.condition_type,
            ready,
            reason,
            message,
        );
    }
    if observed.failure.is_none() {
        if observed.refused_volumes.is_empty() {
            set(
                &mut conditions_list,
                conditions::VOLUMES_READY,
                true,
                "AsSpecified",
                "every volume is as the spec asks".into(),
            );
        } else {
            set(
                &mut conditions_list,
                conditions::VOLUMES_READY,
                false,
                "VolumeChangeRefused",
                observed.refused_volumes.join("; "),
            );
        }
    }
    // Conditions of components that are no longer rendered go away.
    let mut known: Vec<&str> = vec![
        conditions::SECRETS_READY,
        conditions::READY,
        conditions::VOLUMES_READY,
    ];
    known.extend(observed.workloads.iter().map(|w| w.condition_type));
    conditions_list.retain(|c| known.contains(&c.type_.as_str()));

    let secrets_ok = observed.secrets.is_ok();
    let all_ready = secrets_ok && observed.workloads.iter().all(|w| w.is_ready());
    let all_serving = secrets_ok && observed.workloads.iter().all(|w| w.is_serving());
    let all_stopped = observed.workloads.iter().all(|w| w.is_stopped());
    let was_active = matches!(
        previous_status,
        Some(
            SupabaseStatus::ActiveHealthy
                | SupabaseStatus::ActiveUnhealthy
                | SupabaseStatus::Restarting
        )
    );
    let restarting = observed
        .workloads
        .iter()
        .any(|w| observed.restarts.iter().any(|r| r == w.name) && !w.is_ready());
    let waiting_for = || {
        let mut reasons: Vec<String> = observed
            .workloads
            .iter()
            .filter(|w| !w.is_ready())
            .map(WorkloadObservation::describe)
            .collect();
        if let Err(why) = &observed.secrets {
            reasons.insert(0, why.clone());
        }
        reasons.join("; ")
    };

    let annotation = |key: &str| {
        project
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(key))
            .cloned()
    };
    let (status, message) = if let Some(failure) = &observed.failure {
        (SupabaseStatus::InitFailed, Some(failure.clone()))
    } else if project.spec.paused {
        if all_stopped {
            (SupabaseStatus::Inactive, None)
        } else {
            (
                SupabaseStatus::Pausing,
                Some("scaling every service to zero".to_string()),
            )
        }
    } else if let Some(restore) = annotation(supaplane_crds::restore::ANNOTATION_RESTORING) {
        (
            SupabaseStatus::Restoring,
            Some(format!(
                "restoring the database (Restore {restore}); the services wait"
            )),
        )
    } else if let Some(reason) = annotation(supaplane_crds::restore::ANNOTATION_RESTORE_FAILED) {
        (SupabaseStatus::RestoreFailed, Some(reason))
    } else if was_active && restarting {
        (
            SupabaseStatus::Restarting,
            Some(format!("restarting: {}", waiting_for())),
        )
    } else if all_ready || (was_active && all_serving) {
        (SupabaseStatus::ActiveHealthy, None)
    } else if was_active {
        (SupabaseStatus::ActiveUnhealthy, Some(waiting_for()))
    } else if matches!(
        previous_status,
        Some(SupabaseStatus::Inactive | SupabaseStatus::Pausing)
    ) {
        (SupabaseStatus::Restoring, Some(waiting_for()))
    } else {
        (SupabaseStatus::ComingUp, Some(waiting_for()))
    };

    let ready = status == SupabaseStatus::ActiveHealthy;
    let ready_reason = match status {
        SupabaseStatus::ActiveHealthy => "AllServicesReady",
        SupabaseStatus::InitFailed => "InitFailed",
        SupabaseStatus::Inactive | SupabaseStatus::Pausing => "Paused",
        SupabaseStatus::Restoring => "Restoring",
        SupabaseStatus::RestoreFailed => "RestoreFailed",
        _ => "ServicesNotReady",
    };
    let ready_message = message.clone().unwrap_or_else(|| match status {
        SupabaseStatus::ActiveHealthy => "every service is ready".to_string(),
        _ => "the project is paused".to_string(),
    });
    set(
        &mut conditions_list,
        conditions::READY,
        ready,
        ready_reason,
        ready_message,
    );
    conditions_list.sort_by(|a, b| a.type_.cmp(&b.type_));

    ProjectStatus {
        status: Some(status),
        message,
        conditions: conditions_list,
        observed_generation: generation,
        endpoints: Some(observed.endpoints),
        anon_key: observed.anon_key,
        namespace: Some(observed.namespace),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;
    use supaplane_crds::Project;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("timestamp"))
    }

    fn workload(name: &'static str, desired: i32, ready: i32) -> WorkloadObservation {
        WorkloadObservation {
            condition_type: name,
            name,
            exists: true,
            desired,
            observed: true,
            ready,
            updated: ready,
            running: ready,
            refused: None,
        }
    }

    #[test]
    fn pods_the_cluster_refuses_are_told_with_the_reason() {
        let project = Project::test("abc");
        let mut auth = workload("AuthReady", 1, 0);
        auth.name = "auth";
        auth.refused = Some("pods \"auth-1\" is forbidden: exceeded quota".into());
        let status = observe(&project, vec![auth, workload("MetaReady", 1, 1)]);
        let condition = status
            .conditions
            .iter()
            .find(|c| c.type_ == "AuthReady")
            .expect("condition");
        assert_eq!(condition.reason, "PodsRefused");
        assert!(
            condition.message.contains("exceeded quota"),
            "{}",
            condition.message
        );
        assert!(
            status
                .message
                .unwrap_or_default()
                .contains("auth cannot create its pods"),
            "the project's message says why it waits"
        );
    }

    fn observe(project: &Project, workloads: Vec<WorkloadObservation>) -> ProjectStatus {
        next_status(Observations {
            project,
            secrets: Ok(()),
            failure: None,
            refused_volumes: Vec::new(),
            workloads,
            restarts: Vec::new(),
            endpoints: ProjectEndpoints::default(),
            anon_key: Some("anon".into()),
            namespace: "project-abc".into(),
            now: at(100),
        })
    }

    fn with_status(mut project: Project, status: ProjectStatus) -> Project {
        project.status = Some(status);
        project
    }

    #[test]
    fn coming_up_until_every_workload_is_ready_then_healthy() {
        let project = Project::test("abc");
        let status = observe(
            &project,
            vec![workload("DatabaseReady", 1, 1), workload("AuthReady", 1, 0)],
        );
        assert_eq!(status.status, Some(SupabaseStatus::ComingUp));
        assert!(
            status
                .message
                .as_deref()
                .unwrap_or("")
                .contains("AuthReady has 0/1")
        );
        assert!(!conditions::is_true(&status.conditions, conditions::READY));
        assert!(conditions::is_true(&status.conditions, "DatabaseReady"));

        let project = with_status(project, status);
        let status = observe(
            &project,
            vec![workload("DatabaseReady", 1, 1), workload("AuthReady", 1, 1)],
        );
        assert_eq!(status.status, Some(SupabaseStatus::ActiveHealthy));
        assert!(conditions::is_true(&status.conditions, conditions::READY));
        assert_eq!(status.message, None);
    }

    #[test]
    fn a_ready_component_that_stops_being_ready_makes_the_project_unhealthy() {
        let project = Project::test("abc");
        let healthy = observe(&project, vec![workload("AuthReady", 1, 1)]);
        let project = with_status(project, healthy);
        let status = observe(&project, vec![workload("AuthReady", 1, 0)]);
        assert_eq!(status.status, Some(SupabaseStatus::ActiveUnhealthy));
        let project = with_status(project, status);
        let status = observe(&project, vec![workload("AuthReady", 1, 1)]);
        assert_eq!(status.status, Some(SupabaseStatus::ActiveHealthy));
    }

    #[test]
    fn a_rollout_of_a_serving_project_keeps_it_healthy() {
        let project = Project::test("abc");
        let healthy = observe(&project, vec![workload("AuthReady", 1, 1)]);
        let project = with_status(project, healthy);
        let mut rolling = workload("AuthReady", 1, 1);
        rolling.updated = 0;
        let status = observe(&project, vec![rolling]);
        assert_eq!(status.status, Some(SupabaseStatus::ActiveHealthy));
        assert!(!conditions::is_true(&status.conditions, "AuthReady"));
    }

    #[test]
    fn pause_goes_through_pausing_to_inactive_and_restore_through_restoring() {
        let mut project = Project::test("abc");
        let healthy = observe(&project, vec![workload("AuthReady", 1, 1)]);
        project = with_status(project, healthy);
        project.spec.paused = true;
        let status = observe(&project, vec![workload("AuthReady", 0, 1)]);
        assert_eq!(status.status, Some(SupabaseStatus::Pausing));
        project = with_status(project, status);
        let status = observe(&project, vec![workload("AuthReady", 0, 0)]);
        assert_eq!(status.status, Some(SupabaseStatus::Inactive));
        assert!(!conditions::is_true(&status.conditions, conditions::READY));

        project = with_status(project, status);
        project.spec.paused = false;
        let status = observe(&project, vec![workload("AuthReady", 1, 0)]);
        assert_eq!(status.status, Some(SupabaseStatus::Restoring));
        project = with_status(project, status);
        let status = observe(&project, vec![workload("AuthReady", 1, 0)]);
        assert_eq!(status.status, Some(SupabaseStatus::ComingUp));
        project = with_status(project, status);
        let status = observe(&project, vec![workload("AuthReady", 1, 1)]);
        assert_eq!(status.status, Some(SupabaseStatus::ActiveHealthy));
    }

    #[test]
    fn a_failure_is_init_failed_with_its_message() {
        let project = Project::test("abc");
        let status = next_status(Observations {
            project: &project,
            secrets: Ok(()),
            failure: Some("the database image is invalid".into()),
            refused_volumes: Vec::new(),
            workloads: vec![],
            restarts: Vec::new(),
            endpoints: ProjectEndpoints::default(),
            anon_key: None,
            namespace: "project-abc".into(),
            now: at(1),
        });
        assert_eq!(status.status, Some(SupabaseStatus::InitFailed));
        assert_eq!(
            status.message.as_deref(),
            Some("the database image is invalid")
        );
    }

    #[test]
    fn an_unchanged_observation_changes_nothing_and_disabled_conditions_go() {
        let project = Project::test("abc");
        let first = observe(
            &project,
            vec![workload("AuthReady", 1, 1), workload("MetaReady", 1, 1)],
        );
        let project = with_status(project, first.clone());
        let again = next_status(Observations {
            project: &project,
            secrets: Ok(()),
            failure: None,
            refused_volumes: Vec::new(),
            workloads: vec![workload("AuthReady", 1, 1), workload("MetaReady", 1, 1)],
            restarts: Vec::new(),
            endpoints: ProjectEndpoints::default(),
            anon_key: Some("anon".into()),
            namespace: "project-abc".into(),
            now: at(5000),
        });
        assert_eq!(again, first, "no transition, no new timestamps");
        let without_meta = observe(&project, vec![workload("AuthReady", 1, 1)]);
        assert!(
            without_meta
                .conditions
                .iter()
                .all(|c| c.type_ != "MetaReady")
        );
    }

    #[test]
    fn a_restart_shows_as_restarting_until_its_workloads_rolled_out() {
        let project = Project::test("abc");
        let healthy = observe(&project, vec![workload("AuthReady", 1, 1)]);
        let project = with_status(project, healthy);
        let mut rolling = workload("AuthReady", 1, 1);
        rolling.observed = false;
        let restarting = |workloads: Vec<WorkloadObservation>, restarts: Vec<String>| {
            next_status(Observations {
                project: &project,
                secrets: Ok(()),
                failure: None,
                refused_volumes: Vec::new(),
                workloads,
                restarts,
                endpoints: ProjectEndpoints::default(),
                anon_key: Some("anon".into()),
                namespace: "project-abc".into(),
                now: at(200),
            })
        };
        let name = rolling.name.to_string();
        let during = restarting(vec![rolling.clone()], vec![name.clone()]);
        assert_eq!(during.status, Some(SupabaseStatus::Restarting));
        assert!(
            during
                .message
                .as_deref()
                .unwrap_or_default()
                .starts_with("restarting")
        );
        // Rolled out: healthy again.
        let after = restarting(vec![workload("AuthReady", 1, 1)], vec![name]);
        assert_eq!(after.status, Some(SupabaseStatus::ActiveHealthy));
        // A rollout nobody asked a restart for keeps a serving project healthy.
        let other = restarting(vec![rolling], Vec::new());
        assert_eq!(other.status, Some(SupabaseStatus::ActiveHealthy));
    }
}
