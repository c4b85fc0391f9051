//! The Backup controller: runs each Backup's Job (with the project's own
//! Postgres image, onto the project's backup volume) and reports it in the
//! Backup's status: Pending, Running, Completed with its size and location,
//! or Failed with the reason. A Backup is taken once: a failed one stays
//! failed, and the next (scheduled or asked for) is a new Backup.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::constants::{FIELD_MANAGER_OPERATOR, project_namespace};
use supaplane_crds::{Backup, BackupPhase, BackupStatus};
use tracing::warn;

use crate::apply::apply_if_changed;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::project_jobs::{JobOutcome, project_named, termination_message};
use crate::render::backup::{LABEL_BACKUP, Store, backup_job, claim};

pub struct Context {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    /// The Projects this operator looks after (a label selector); all when None.
    pub selector: Option<String>,
}

pub async fn run(context: Arc<Context>) {
    let backups: Api<Backup> = Api::all(context.client.clone());
    let jobs: Api<Job> = Api::all(context.client.clone());
    Controller::new(backups, watcher::Config::default())
        .owns(jobs, watcher::Config::default().labels(LABEL_BACKUP))
        .trigger_backoff(supaplane_crds::watching::controller_backoff())
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result
                && !matches!(error, kube::runtime::controller::Error::ObjectNotFound(_))
            {
                warn!(%error, "backup reconcile failed");
            }
        })
        .await;
}

fn error_policy(_backup: Arc<Backup>, error: &Error, context: Arc<Context>) -> Action {
    context.metrics.reconcile_failed("backup");
    warn!(%error, "requeueing the backup");
    Action::requeue(Duration::from_secs(10))
}

fn now() -> Time {
    Time(k8s_openapi::jiff::Timestamp::now())
}

#[tracing::instrument(skip_all, fields(backup = %backup.name_any()))]
pub async fn reconcile(backup: Arc<Backup>, context: Arc<Context>) -> Result<Action> {
    let _timer = context.metrics.reconcile_started("backup");
    let status = backup.status.clone().unwrap_or_default();
    if matches!(status.phase, BackupPhase::Completed | BackupPhase::Failed) {
        return Ok(Action::await_change());
    }
    let namespace = backup.namespace().unwrap_or_default();
    let Some(project) = project_named(
        &context.client,
        &backup.spec.project,
        context.selector.as_deref(),
    )
    .await?
    else {
        if context.selector.is_some() {
            // Another operator's project, or none: not ours to judge.
            return Ok(Action::await_change());
        }
        let message = format!("there is no project {}", backup.spec.project);
        return write_status(&backup, &context, failed(&status, message)).await;
    };
    if namespace != project_namespace(&backup.spec.project) {
        let message = format!(
            "a Backup of project {} belongs in namespace {}",
            backup.spec.project,
            project_namespace(&backup.spec.project)
        );
        return write_status(&backup, &context, failed(&status, message)).await;
    }
    if project.spec.paused {
        let waiting = BackupStatus {
            phase: BackupPhase::Pending,
            reason: Some(
                "the project is paused: its database is backed up once it is resumed".into(),
            ),
            ..status
        };
        write_status(&backup, &context, waiting).await?;
        return Ok(Action::requeue(Duration::from_secs(60)));
    }
    let store = Store::of(&project);
    if matches!(store, Store::Volume) {
        let claims: Api<PersistentVolumeClaim> =
            Api::namespaced(context.client.clone(), &namespace);
        apply_if_changed(&claims, claim(&project)).await?;
    }
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &namespace);
    let job = apply_if_changed(&jobs, backup_job(&project, &backup)).await?;
    let job_status = job.status.clone().unwrap_or_default();
    let started_at = job_status.start_time.clone().or(status.started_at.clone());
    let backup_name = backup.name_any();
    let output = || termination_message(&context.client, &namespace, LABEL_BACKUP, &backup_name);
    let next = match JobOutcome::of(job.status.as_ref()) {
        JobOutcome::Succeeded => {
            let kib = output().await?.and_then(|m| m.trim().parse::<i64>().ok());
            BackupStatus {
                phase: BackupPhase::Completed,
                reason: None,
                started_at,
                completed_at: job_status.completion_time.clone().or_else(|| Some(now())),
                size_bytes: kib.map(|k| k * 1024),
                location: Some(store.location(&backup_name)),
            }
        }
        JobOutcome::Failed(condition) => {
            let reason = [condition, output().await?]
                .into_iter()
                .flatten()
                .map(|text| text.trim().to_string())
                .filter(|text| !text.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            BackupStatus {
                started_at,
                completed_at: Some(now()),
                ..failed(
                    &status,
                    if reason.is_empty() {
                        "the backup Job failed".into()
                    } else {
                        reason
                    },
                )
            }
        }
        outcome => BackupStatus {
            phase: if outcome == JobOutcome::Active {
                BackupPhase::Running
            } else {
                BackupPhase::Pending
            },
            reason: None,
            started_at,
            ..status
        },
    };
    let done = matches!(next.phase, BackupPhase::Completed | BackupPhase::Failed);
    write_status(&backup, &context, next).await?;
    Ok(if done {
        Action::await_change()
    } else {
        Action::requeue(Duration::from_secs(15))
    })
}

fn failed(status: &BackupStatus, reason: String) -> BackupStatus {
    BackupStatus {
        phase: BackupPhase::Failed,
        reason: Some(reason),
        ..status.clone()
    }
}

async fn write_status(backup: &Backup, context: &Context, status: BackupStatus) -> Result<Action> {
    if backup.status.as_ref() == Some(&status) {
        return Ok(Action::await_change());
    }
    let backups: Api<Backup> = Api::namespaced(
        context.client.clone(),
        &backup.namespace().unwrap_or_default(),
    );
    let patch = json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
        "metadata": {"name": backup.name_any()}, "status": status,
    });
    backups
        .patch_status(
            &backup.name_any(),
            &PatchParams::apply(FIELD_MANAGER_OPERATOR).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(|source| Error::Status {
            name: backup.name_any(),
            source,
        })?;
    Ok(Action::await_change())
}
