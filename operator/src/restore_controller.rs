//! The Restore controller: restores a project's database from one of its
//! Backups, in place. It refuses a restore of a paused project, of a backup
//! that is not complete, or while another restore of the project runs; then
//! marks the Project restoring (its services stop, its status is
//! `RESTORING`), runs the restore Job (the project's own Postgres image;
//! roles, then the database in one transaction, so a failure changes
//! nothing), and clears the mark: the services come back, or the Project
//! says `RESTORE_FAILED` with the reason.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use supaplane_crds::constants::{FIELD_MANAGER_OPERATOR, project_namespace};
use supaplane_crds::restore::{ANNOTATION_RESTORE_FAILED, ANNOTATION_RESTORING};
use supaplane_crds::{Backup, BackupPhase, Project, Restore, RestorePhase, RestoreStatus};
use tracing::{info, warn};

use crate::apply::apply_if_changed;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::project_jobs::{JobOutcome, project_named, termination_message};
use crate::render::backup::{LABEL_RESTORE, restore_job};

pub struct Context {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    /// The Projects this operator looks after (a label selector); all when None.
    pub selector: Option<String>,
}

pub async fn run(context: Arc<Context>) {
    let restores: Api<Restore> = Api::all(context.client.clone());
    let jobs: Api<Job> = Api::all(context.client.clone());
    Controller::new(restores, watcher::Config::default())
        .owns(jobs, watcher::Config::default().labels(LABEL_RESTORE))
        .trigger_backoff(supaplane_crds::watching::controller_backoff())
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result
                && !matches!(error, kube::runtime::controller::Error::ObjectNotFound(_))
            {
                warn!(%error, "restore reconcile failed");
            }
        })
        .await;
}

fn error_policy(_restore: Arc<Restore>, error: &Error, context: Arc<Context>) -> Action {
    context.metrics.reconcile_failed("restore");
    warn!(%error, "requeueing the restore");
    Action::requeue(Duration::from_secs(10))
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

/// Sets (or with `None` removes) the Project's restore annotations.
async fn mark_project(
    context: &Context,
    project: &str,
    restoring: Option<&str>,
    failed: Option<&str>,
) -> Result<()> {
    let projects: Api<Project> = Api::all(context.client.clone());
    let annotations = json!({
        ANNOTATION_RESTORING: restoring.map_or(Value::Null, |v| json!(v)),
        ANNOTATION_RESTORE_FAILED: failed.map_or(Value::Null, |v| json!(v)),
    });
    projects
        .patch(
            project,
            &PatchParams {
                field_manager: Some(FIELD_MANAGER_OPERATOR.to_string()),
                ..Default::default()
            },
            &Patch::Merge(json!({"metadata": {"annotations": annotations}})),
        )
        .await
        .map_err(|source| Error::Apply {
            kind: "Project".into(),
            name: project.to_string(),
            source,
        })?;
    Ok(())
}

async fn write_status(restore: &Restore, context: &Context, status: RestoreStatus) -> Result<()> {
    if restore.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let restores: Api<Restore> = Api::namespaced(
        context.client.clone(),
        &restore.namespace().unwrap_or_default(),
    );
    let patch = json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Restore",
        "metadata": {"name": restore.name_any()}, "status": status,
    });
    restores
        .patch_status(
            &restore.name_any(),
            &PatchParams::apply(FIELD_MANAGER_OPERATOR).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|source| Error::Status {
            name: restore.name_any(),
            source,
        })?;
    Ok(())
}

/// Refuses the restore, saying why; the project is left as it is.
async fn refuse(restore: &Restore, context: &Context, reason: String) -> Result<Action> {
    let status = RestoreStatus {
        phase: RestorePhase::Failed,
        reason: Some(reason),
        completed_at: Some(now()),
        ..restore.status.clone().unwrap_or_default()
    };
    write_status(restore, context, status).await?;
    Ok(Action::await_change())
}

#[tracing::instrument(skip_all, fields(restore = %restore.name_any()))]
pub async fn reconcile(restore: Arc<Restore>, context: Arc<Context>) -> Result<Action> {
    let _timer = context.metrics.reconcile_started("restore");
    let status = restore.status.clone().unwrap_or_default();
    if matches!(status.phase, RestorePhase::Completed | RestorePhase::Failed) {
        return Ok(Action::await_change());
    }
    let Some(project) = project_named(
        &context.client,
        &restore.spec.project,
        context.selector.as_deref(),
    )
    .await?
    else {
        if context.selector.is_some() {
            return Ok(Action::await_change());
        }
        let reason = format!("there is no project {}", restore.spec.project);
        return refuse(&restore, &context, reason).await;
    };
    let namespace = project_namespace(&restore.spec.project);
    if restore.namespace().as_deref() != Some(namespace.as_str()) {
        let reason = format!(
            "a Restore of project {} belongs in namespace {namespace}",
            restore.spec.project
        );
        return refuse(&restore, &context, reason).await;
    }
    let name = restore.name_any();
    let running_here = project.annotations().get(ANNOTATION_RESTORING);
    if status.phase == RestorePhase::Pending {
        if project.spec.paused {
            let reason = "the project is paused: resume it, then restore".to_string();
            return refuse(&restore, &context, reason).await;
        }
        if let Some(other) = running_here.filter(|other| **other != name) {
            let reason = format!("restore {other} of this project is still running");
            return refuse(&restore, &context, reason).await;
        }
        let backups: Api<Backup> = Api::namespaced(context.client.clone(), &namespace);
        let backup = backups
            .get_opt(&restore.spec.backup)
            .await
            .map_err(|source| Error::Read {
                kind: "Backup".into(),
                name: restore.spec.backup.clone(),
                source,
            })?;
        let Some(backup) = backup.filter(|b| {
            b.status
                .as_ref()
                .is_some_and(|s| s.phase == BackupPhase::Completed)
        }) else {
            let reason = format!(
                "backup {} is not a completed backup of this project",
                restore.spec.backup
            );
            return refuse(&restore, &context, reason).await;
        };
        // The mark first: the services stop and the status says RESTORING
        // before the database changes.
        mark_project(&context, &restore.spec.project, Some(&name), None).await?;
        let jobs: Api<Job> = Api::namespaced(context.client.clone(), &namespace);
        apply_if_changed(&jobs, restore_job(&project, &restore, &backup)).await?;
        info!(backup = %backup.name_any(), "restoring");
        let started = RestoreStatus {
            phase: RestorePhase::Running,
            reason: None,
            started_at: Some(now()),
            completed_at: None,
        };
        write_status(&restore, &context, started).await?;
        return Ok(Action::requeue(Duration::from_secs(15)));
    }

    // Running: follow the Job.
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &namespace);
    let job = jobs
        .get_opt(&format!("restore-{name}"))
        .await
        .map_err(|source| Error::Read {
            kind: "Job".into(),
            name: format!("restore-{name}"),
            source,
        })?;
    match JobOutcome::of(job.and_then(|j| j.status).as_ref()) {
        JobOutcome::Succeeded => {
            mark_project(&context, &restore.spec.project, None, None).await?;
            let done = RestoreStatus {
                phase: RestorePhase::Completed,
                completed_at: Some(now()),
                ..status
            };
            write_status(&restore, &context, done).await?;
            info!("restored");
            Ok(Action::await_change())
        }
        JobOutcome::Failed(_) => {
            let output =
                termination_message(&context.client, &namespace, LABEL_RESTORE, &name).await?;
            let reason = format!(
                "restoring backup {} failed; the database is as it was: {}",
                restore.spec.backup,
                output
                    .unwrap_or_else(|| "the restore Job failed".into())
                    .trim()
            );
            let reason: String = reason.chars().take(1000).collect();
            mark_project(&context, &restore.spec.project, None, Some(&reason)).await?;
            let done = RestoreStatus {
                phase: RestorePhase::Failed,
                reason: Some(reason),
                completed_at: Some(now()),
                ..status
            };
            write_status(&restore, &context, done).await?;
            Ok(Action::await_change())
        }
        JobOutcome::Active | JobOutcome::Waiting => Ok(Action::requeue(Duration::from_secs(15))),
    }
}
