//! The Restore controller: restores a project's database from one of its
//! Backups, in place, or from a Backup of another project of the same
//! organization (a project made from a backup). It refuses a restore of a
//! paused project, of a backup that is not complete, or while another
//! restore of the project runs; then marks the Project restoring (its
//! services stop, its status is `RESTORING`), runs the restore Job (the
//! project's own Postgres image; roles, then the database in one
//! transaction, so a failure changes nothing), and clears the mark: the
//! services come back, or the Project says `RESTORE_FAILED` with the reason.
//!
//! From another project, the Job runs where the backup volume is (the
//! source's namespace) and reaches the target's database over the network:
//! for as long as the restore runs, a NetworkPolicy admits that Job alone
//! to the target's database port, and a Secret beside the Job holds the
//! target's password. Both go when the restore ends.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use supaplane_crds::constants::{
    FIELD_MANAGER_OPERATOR, KEYS_SECRET_NAME, keys_secret, project_namespace,
};
use supaplane_crds::restore::{
    ANNOTATION_RESTORE_FAILED, ANNOTATION_RESTORING, INITIAL_RESTORE_NAME,
};
use supaplane_crds::{Backup, BackupPhase, Project, Restore, RestorePhase, RestoreStatus};
use tracing::{info, warn};

use crate::apply::apply_if_changed;
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::project_jobs::{JobOutcome, delete_if_present, project_named, termination_message};
use crate::render::backup::{
    LABEL_RESTORE, LABEL_RESTORE_INTO, Store, restore_job, restore_job_name, target_password,
};
use crate::render::network_policy::{restore_admission, restore_admission_name};

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
        .watches(
            jobs,
            watcher::Config::default().labels(LABEL_RESTORE),
            restore_of_job,
        )
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

/// The Restore a restore Job runs for: named by its label, in the
/// namespace of the project restored into (the Job may run in another's).
fn restore_of_job(job: Job) -> Option<ObjectRef<Restore>> {
    let labels = job.labels();
    let name = labels.get(LABEL_RESTORE)?;
    let namespace = match labels.get(LABEL_RESTORE_INTO) {
        Some(project) => project_namespace(project),
        None => job.namespace()?,
    };
    Some(ObjectRef::new(name).within(&namespace))
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
        .map_err(Error::applying("Project", project.to_string()))?;
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

/// Whether `restore` is the one the operator asked for to make `project`
/// from a backup (`spec.restoreFrom`).
fn is_initial_restore(project: &Project, restore: &Restore) -> bool {
    restore.name_any() == INITIAL_RESTORE_NAME
        && project.spec.restore_from.as_ref().is_some_and(|from| {
            from.project == restore.spec.source() && from.backup == restore.spec.backup
        })
}

/// Refuses the restore, saying why; the project is left as it is, but for
/// one made from a backup, which says `RESTORE_FAILED` (it has no data).
async fn refuse(
    restore: &Restore,
    project: Option<&Project>,
    context: &Context,
    reason: String,
) -> Result<Action> {
    let initial = project.is_some_and(|p| is_initial_restore(p, restore));
    if initial {
        mark_project(context, &restore.spec.project, None, Some(&reason)).await?;
    }
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
        return refuse(&restore, None, &context, reason).await;
    };
    let namespace = project_namespace(&restore.spec.project);
    if restore.namespace().as_deref() != Some(namespace.as_str()) {
        let reason = format!(
            "a Restore of project {} belongs in namespace {namespace}",
            restore.spec.project
        );
        return refuse(&restore, Some(&project), &context, reason).await;
    }
    if status.phase == RestorePhase::Pending {
        return start(&restore, &project, &context).await;
    }
    follow(&restore, status, &context).await
}

/// A pending restore: refused, or started.
async fn start(restore: &Restore, project: &Project, context: &Context) -> Result<Action> {
    let name = restore.name_any();
    let refused = |reason: String| refuse(restore, Some(project), context, reason);
    if project.spec.paused {
        return refused("the project is paused: resume it, then restore".into()).await;
    }
    if let Some(other) = project
        .annotations()
        .get(ANNOTATION_RESTORING)
        .filter(|other| **other != name)
    {
        return refused(format!("restore {other} of this project is still running")).await;
    }
    let source = if restore.spec.is_from_another_project() {
        let source_ref = restore.spec.source();
        let Some(source) = project_named(&context.client, source_ref, None).await? else {
            return refused(format!("there is no project {source_ref} to restore from")).await;
        };
        if source.spec.organization != project.spec.organization {
            return refused(format!(
                "project {source_ref} is in another organization: a backup restores only into projects of its own"
            ))
            .await;
        }
        let major = |project: &Project| -> u32 {
            project.spec.postgres_version.major().parse().unwrap_or(0)
        };
        if major(&source) > major(project) {
            return refused(format!(
                "backup of Postgres {} cannot restore into Postgres {}: make the project with {} or newer",
                source.spec.postgres_version.major(),
                project.spec.postgres_version.major(),
                source.spec.postgres_version.major()
            ))
            .await;
        }
        source
    } else {
        project.clone()
    };
    let source_namespace = project_namespace(restore.spec.source());
    let backups: Api<Backup> = Api::namespaced(context.client.clone(), &source_namespace);
    let backup = backups
        .get_opt(&restore.spec.backup)
        .await
        .map_err(Error::reading("Backup", restore.spec.backup.clone()))?;
    let Some(backup) = backup.filter(|b| {
        b.spec.project == restore.spec.source()
            && b.status
                .as_ref()
                .is_some_and(|s| s.phase == BackupPhase::Completed)
    }) else {
        return refused(format!(
            "backup {} is not a completed backup of project {}",
            restore.spec.backup,
            restore.spec.source()
        ))
        .await;
    };
    let store = match Store::of_backup(&source, &backup) {
        Ok(store) => store,
        Err(reason) => return refused(reason).await,
    };
    // The mark first: the services stop and the status says RESTORING
    // before the database changes.
    mark_project(context, &restore.spec.project, Some(&name), None).await?;
    if restore.spec.is_from_another_project() {
        let policies: Api<NetworkPolicy> = Api::namespaced(
            context.client.clone(),
            &project_namespace(&restore.spec.project),
        );
        apply_if_changed(&policies, restore_admission(project, restore)).await?;
    }
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &source_namespace);
    let job = apply_if_changed(
        &jobs,
        restore_job(&source, project, restore, &backup, store),
    )
    .await?;
    if restore.spec.is_from_another_project() {
        let password = target_password_of(context, &restore.spec.project).await?;
        let secrets: Api<Secret> = Api::namespaced(context.client.clone(), &source_namespace);
        // Created, not applied: apply would keep a hash of the password on it.
        match secrets
            .create(&PostParams::default(), &target_password(&job, &password))
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(source) => {
                return Err(Error::applying("Secret", job.name_any())(source));
            }
        }
    }
    info!(backup = %backup.name_any(), from = %restore.spec.source(), "restoring");
    let started = RestoreStatus {
        phase: RestorePhase::Running,
        reason: None,
        started_at: Some(now()),
        completed_at: None,
    };
    write_status(restore, context, started).await?;
    Ok(Action::requeue(Duration::from_secs(15)))
}

/// supabase_admin's password of `project`, from its keys Secret.
async fn target_password_of(context: &Context, project: &str) -> Result<Vec<u8>> {
    let secrets: Api<Secret> = Api::namespaced(context.client.clone(), &project_namespace(project));
    let keys = secrets
        .get(KEYS_SECRET_NAME)
        .await
        .map_err(Error::reading("Secret", KEYS_SECRET_NAME))?;
    keys.data
        .and_then(|mut data| data.remove(keys_secret::POSTGRES_PASSWORD))
        .map(|password| password.0)
        .ok_or(Error::MissingField(
            "database password in the target's keys",
        ))
}

/// A running restore: its Job followed to the end, then what was made for
/// it removed and the project told.
async fn follow(restore: &Restore, status: RestoreStatus, context: &Context) -> Result<Action> {
    let name = restore.name_any();
    let source_namespace = project_namespace(restore.spec.source());
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &source_namespace);
    let job_name = restore_job_name(restore);
    let job = jobs
        .get_opt(&job_name)
        .await
        .map_err(Error::reading("Job", job_name.clone()))?;
    let outcome = JobOutcome::of(job.and_then(|j| j.status).as_ref());
    let reason = match outcome {
        JobOutcome::Active | JobOutcome::Waiting => {
            return Ok(Action::requeue(Duration::from_secs(15)));
        }
        JobOutcome::Succeeded => None,
        JobOutcome::Failed(_) => {
            let output =
                termination_message(&context.client, &source_namespace, LABEL_RESTORE, &name)
                    .await?;
            let reason = format!(
                "restoring backup {} failed; the database is as it was: {}",
                restore.spec.backup,
                output
                    .unwrap_or_else(|| "the restore Job failed".into())
                    .trim()
            );
            Some(reason.chars().take(1000).collect::<String>())
        }
    };
    if restore.spec.is_from_another_project() {
        remove_cross_project_access(restore, context, &job_name).await?;
    }
    mark_project(context, &restore.spec.project, None, reason.as_deref()).await?;
    let failed = reason.is_some();
    let done = RestoreStatus {
        phase: if failed {
            RestorePhase::Failed
        } else {
            RestorePhase::Completed
        },
        reason,
        completed_at: Some(now()),
        ..status
    };
    write_status(restore, context, done).await?;
    info!(failed, "restore ended");
    Ok(Action::await_change())
}

/// Takes back what let a Job reach another project's database: the copy of
/// its password and the NetworkPolicy admitting it.
async fn remove_cross_project_access(
    restore: &Restore,
    context: &Context,
    job_name: &str,
) -> Result<()> {
    let secrets: Api<Secret> = Api::namespaced(
        context.client.clone(),
        &project_namespace(restore.spec.source()),
    );
    delete_if_present(&secrets, job_name).await?;
    let policies: Api<NetworkPolicy> = Api::namespaced(
        context.client.clone(),
        &project_namespace(&restore.spec.project),
    );
    delete_if_present(&policies, &restore_admission_name(restore)).await
}
