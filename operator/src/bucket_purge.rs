//! Backups in a bucket of a project deleted with `deletionPolicy: Delete`
//! are removed once its namespace is gone, as the policy promises for the
//! ones on its volume. The bucket's keys go with the namespace, so before
//! deleting it the operator writes a purge order in its own namespace: a
//! Secret with the keys, the bucket and the names of the project's backups
//! there. This controller waits for the namespace to be gone, then runs a
//! Job (curl's image) deleting those backups' objects, and removes the
//! order (and with it the Job) when it succeeded. A failed Job is left for
//! a look; deleting it runs a new one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvFromSource, Namespace, PodSecurityContext, PodSpec, PodTemplateSpec, Secret,
    SecretEnvSource,
};
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use supaplane_crds::constants::{LABEL_MANAGED_BY, MANAGED_BY_VALUE, project_namespace};
use supaplane_crds::images::PINNED;
use supaplane_crds::{Backup, Project};
use tracing::{info, warn};

use crate::apply::apply_if_changed;
use crate::error::{Error, Result};
use crate::project_jobs::{JobOutcome, delete_if_present};
use crate::render::backup_bucket::purge_script;
use crate::render::resources::WAIT_FOR_DATABASE;

/// The label naming the project a purge order is for.
pub const LABEL_PURGE: &str = "supaplane.io/purge-backups";

fn order_name(project_ref: &str) -> String {
    format!("purge-backups-{project_ref}")
}

/// Writes the purge order of `project` (deleted with `Delete`) into
/// `namespace`, if it keeps backups in a bucket and has some there. Called
/// before its namespace is deleted; a project whose keys cannot be read
/// leaves its bucket as it is, and says why in the log.
pub async fn order(client: &Client, project: &Project, namespace: &str) -> Result<()> {
    let Some(bucket) = &project.spec.backups.s3 else {
        return Ok(());
    };
    let project_ref = project.name_any();
    let project_namespace = project_namespace(&project_ref);
    let backups: Api<Backup> = Api::namespaced(client.clone(), &project_namespace);
    let names: Vec<String> = backups
        .list(&Default::default())
        .await
        .map_err(Error::reading("Backup", project_namespace.clone()))?
        .items
        .iter()
        .filter(|b| b.is_in(bucket))
        .map(ResourceExt::name_any)
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &project_namespace);
    let credentials = secrets
        .get_opt(&bucket.bucket.credentials_secret_name)
        .await
        .map_err(Error::reading(
            "Secret",
            bucket.bucket.credentials_secret_name.clone(),
        ))?
        .and_then(|s| s.data)
        .unwrap_or_default();
    let (Some(key), Some(secret)) = (
        credentials.get("accessKeyId"),
        credentials.get("secretAccessKey"),
    ) else {
        warn!(project = %project_ref, "the backup bucket's keys are not readable: its backups stay in the bucket");
        return Ok(());
    };
    let text = |value: String| ByteString(value.into_bytes());
    let order = Secret {
        metadata: ObjectMeta {
            name: Some(order_name(&project_ref)),
            namespace: Some(namespace.to_string()),
            labels: Some(BTreeMap::from([
                (LABEL_MANAGED_BY.to_string(), MANAGED_BY_VALUE.to_string()),
                (LABEL_PURGE.to_string(), project_ref.clone()),
            ])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_string(), key.clone()),
            ("AWS_SECRET_ACCESS_KEY".to_string(), secret.clone()),
            ("AWS_REGION".to_string(), text(bucket.bucket.region.clone())),
            ("S3_BUCKET_URL".to_string(), text(bucket.bucket_url())),
            ("S3_PREFIX".to_string(), text(bucket.key_prefix())),
            ("BACKUP_NAMES".to_string(), text(names.join(" "))),
        ])),
        ..Default::default()
    };
    let orders: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match orders.create(&PostParams::default(), &order).await {
        Ok(_) => {
            info!(project = %project_ref, backups = names.len(), "ordered the purge of its bucket backups")
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(source) => {
            return Err(Error::applying("Secret", order_name(&project_ref))(source));
        }
    }
    Ok(())
}

/// The Job carrying out `order` (named as it, owned by it).
pub fn purge_job(order: &Secret) -> Job {
    let labels = order.labels().clone();
    Job {
        metadata: ObjectMeta {
            name: order.metadata.name.clone(),
            namespace: order.metadata.namespace.clone(),
            labels: Some(labels.clone()),
            owner_references: order.controller_owner_ref(&()).map(|r| vec![r]),
            ..Default::default()
        },
        spec: Some(JobSpec {
            backoff_limit: Some(3),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    restart_policy: Some("Never".into()),
                    security_context: Some(PodSecurityContext {
                        run_as_user: Some(65532),
                        run_as_group: Some(65532),
                        run_as_non_root: Some(true),
                        ..Default::default()
                    }),
                    containers: vec![Container {
                        name: "purge".into(),
                        image: Some(PINNED.s3_client.into()),
                        command: Some(vec!["sh".into(), "-c".into(), purge_script()]),
                        env_from: Some(vec![EnvFromSource {
                            secret_ref: Some(SecretEnvSource {
                                name: order.name_any(),
                                optional: Some(false),
                            }),
                            ..Default::default()
                        }]),
                        resources: Some(WAIT_FOR_DATABASE.requirements()),
                        termination_message_policy: Some("FallbackToLogsOnError".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub struct Context {
    pub client: Client,
    /// The operator's own namespace, where purge orders are kept.
    pub namespace: String,
}

pub async fn run(context: Arc<Context>) {
    let orders: Api<Secret> = Api::namespaced(context.client.clone(), &context.namespace);
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &context.namespace);
    Controller::new(orders, watcher::Config::default().labels(LABEL_PURGE))
        .owns(jobs, watcher::Config::default().labels(LABEL_PURGE))
        .trigger_backoff(supaplane_crds::watching::controller_backoff())
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result
                && !matches!(error, kube::runtime::controller::Error::ObjectNotFound(_))
            {
                warn!(%error, "purge reconcile failed");
            }
        })
        .await;
}

fn error_policy(_order: Arc<Secret>, error: &Error, _context: Arc<Context>) -> Action {
    warn!(%error, "requeueing the purge");
    Action::requeue(Duration::from_secs(30))
}

async fn reconcile(order: Arc<Secret>, context: Arc<Context>) -> Result<Action> {
    let Some(project_ref) = order.labels().get(LABEL_PURGE).cloned() else {
        return Ok(Action::await_change());
    };
    let namespace = project_namespace(&project_ref);
    let namespaces: Api<Namespace> = Api::all(context.client.clone());
    let still_there = namespaces
        .get_opt(&namespace)
        .await
        .map_err(Error::reading("Namespace", namespace.clone()))?
        .is_some();
    if still_there {
        return Ok(Action::requeue(Duration::from_secs(30)));
    }
    let jobs: Api<Job> = Api::namespaced(context.client.clone(), &context.namespace);
    let job = apply_if_changed(&jobs, purge_job(&order)).await?;
    match JobOutcome::of(job.status.as_ref()) {
        JobOutcome::Succeeded => {
            let orders: Api<Secret> = Api::namespaced(context.client.clone(), &context.namespace);
            delete_if_present(&orders, &order.name_any()).await?;
            info!(project = %project_ref, "purged its bucket backups");
            Ok(Action::await_change())
        }
        JobOutcome::Failed(reason) => {
            warn!(project = %project_ref, reason = ?reason, "purging its bucket backups failed; delete the Job to try again");
            Ok(Action::await_change())
        }
        JobOutcome::Active | JobOutcome::Waiting => Ok(Action::requeue(Duration::from_secs(30))),
    }
}
