//! The Project controller: turns each Project into its namespace and keys,
//! and tears them down per its deletion policy.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{LimitRange, Namespace, ResourceQuota, Secret};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::constants::{
    FIELD_MANAGER_OPERATOR, FINALIZER_PROJECT_TEARDOWN, KEYS_SECRET_NAME, LABEL_RETAINED,
    project_namespace,
};
use supaplane_crds::{DeletionPolicy, Project, ProjectStatus, SupabaseStatus, conditions};
use tracing::{info, warn};

use crate::apply::apply_if_changed;
use crate::error::{Error, Result};
use crate::events;
use crate::keys::ProjectKeys;
use crate::metrics::Metrics;
use crate::render;

/// What every reconcile needs.
pub struct Context {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    /// Namespaces whose pods may reach every project (ingress controller,
    /// supaplane's own); all other namespaces are cut off.
    pub trusted_namespaces: Vec<String>,
}

/// Runs the Project controller until the stream ends.
pub async fn run(context: Arc<Context>) {
    let projects: Api<Project> = Api::all(context.client.clone());
    let namespaces: Api<Namespace> = Api::all(context.client.clone());
    let secrets: Api<Secret> = Api::all(context.client.clone());
    let controller = Controller::new(projects, watcher::Config::default());
    context.metrics.observe_projects(controller.store());
    controller
        .owns(namespaces, watcher::Config::default())
        // Namespaced children of a cluster-scoped Project: `owns` would map
        // them to a namespaced reference, so map owner references by hand.
        .watches(
            secrets,
            watcher::Config::default().labels("app.kubernetes.io/managed-by=supaplane"),
            |secret| {
                secret
                    .owner_references()
                    .iter()
                    .filter(|owner| owner.kind == "Project")
                    .map(|owner| ObjectRef::new(&owner.name))
                    .collect::<Vec<_>>()
            },
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(error) = result {
                warn!(%error, "reconcile failed");
            }
        })
        .await;
}

#[tracing::instrument(skip_all, fields(project = %project.name_any()))]
pub async fn reconcile(project: Arc<Project>, context: Arc<Context>) -> Result<Action> {
    let _timer = context.metrics.reconcile_started("project");
    let projects: Api<Project> = Api::all(context.client.clone());
    finalizer(
        &projects,
        FINALIZER_PROJECT_TEARDOWN,
        project,
        |event| async {
            match event {
                FinalizerEvent::Apply(project) => apply(&project, &context).await,
                FinalizerEvent::Cleanup(project) => cleanup(&project, &context).await,
            }
        },
    )
    .await
    .map_err(|error| Error::Finalizer(Box::new(error)))
}

pub fn error_policy(_project: Arc<Project>, error: &Error, context: Arc<Context>) -> Action {
    context.metrics.reconcile_failed("project");
    warn!(%error, "requeueing after an error");
    Action::requeue(Duration::from_secs(5))
}

fn apply_params() -> PatchParams {
    PatchParams::apply(FIELD_MANAGER_OPERATOR).force()
}

/// Merge patches for the few fields the operator removes rather than owns.
fn update_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER_OPERATOR.to_string()),
        ..Default::default()
    }
}

async fn apply(project: &Project, context: &Context) -> Result<Action> {
    let project_ref = project.name_any();
    let namespace_name = project_namespace(&project_ref);
    let namespaces: Api<Namespace> = Api::all(context.client.clone());
    let namespace = render::namespace::namespace(project);
    let applied = apply_if_changed(&namespaces, namespace).await?;
    if applied.labels().contains_key(LABEL_RETAINED) {
        // Adopting a namespace a deleted Project of the same ref retained.
        namespaces
            .patch(
                &namespace_name,
                &update_params(),
                &Patch::Merge(json!({"metadata": {"labels": {LABEL_RETAINED: null}}})),
            )
            .await
            .map_err(|source| Error::Apply {
                kind: "Namespace".into(),
                name: namespace_name.clone(),
                source,
            })?;
    }

    let policies: Api<NetworkPolicy> = Api::namespaced(context.client.clone(), &namespace_name);
    apply_if_changed(
        &policies,
        render::network_policy::network_policy(project, &context.trusted_namespaces),
    )
    .await?;
    let quotas: Api<ResourceQuota> = Api::namespaced(context.client.clone(), &namespace_name);
    apply_if_changed(&quotas, render::quota::resource_quota(project)).await?;
    let limit_ranges: Api<LimitRange> = Api::namespaced(context.client.clone(), &namespace_name);
    apply_if_changed(&limit_ranges, render::quota::limit_range(project)).await?;

    let keys = ensure_keys(project, context).await?;
    write_status(project, context, &keys).await?;
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// Reads the project's keys, generating them only when the Secret does not
/// exist yet. A create (never an apply) guarantees two racing reconciles
/// cannot both write keys.
async fn ensure_keys(project: &Project, context: &Context) -> Result<ProjectKeys> {
    let namespace_name = project_namespace(&project.name_any());
    let secrets: Api<Secret> = Api::namespaced(context.client.clone(), &namespace_name);
    if let Some(existing) = read_secret(&secrets, KEYS_SECRET_NAME).await? {
        adopt_retained(&secrets, &existing, project).await?;
        return keys_from(&existing);
    }
    let password = database_password(project, &secrets).await?;
    let issued_at = chrono::Utc::now().timestamp();
    let keys = ProjectKeys::generate(&mut rand::rng(), issued_at, password)?;
    let secret = render::keys_secret::keys_secret(project, &keys);
    match secrets
        .create(
            &PostParams {
                field_manager: Some(FIELD_MANAGER_OPERATOR.into()),
                ..Default::default()
            },
            &secret,
        )
        .await
    {
        Ok(_) => {
            info!("generated the project's keys");
            events::publish(
                &context.client,
                project,
                "KeysGenerated",
                "Create",
                "generated the project's JWT secret, API keys and service passwords".into(),
            )
            .await;
            Ok(keys)
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let existing = read_secret(&secrets, KEYS_SECRET_NAME)
                .await?
                .ok_or(Error::MissingField("keys Secret"))?;
            keys_from(&existing)
        }
        Err(source) => Err(Error::Apply {
            kind: "Secret".into(),
            name: KEYS_SECRET_NAME.into(),
            source,
        }),
    }
}

fn keys_from(secret: &Secret) -> Result<ProjectKeys> {
    let data = secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    Ok(ProjectKeys::from_secret_data(&data)?)
}

async fn read_secret(secrets: &Api<Secret>, name: &str) -> Result<Option<Secret>> {
    secrets.get_opt(name).await.map_err(|source| Error::Read {
        kind: "Secret".into(),
        name: name.to_string(),
        source,
    })
}

/// The password from the Secret the Project references, when it has one.
async fn database_password(project: &Project, secrets: &Api<Secret>) -> Result<Option<String>> {
    let Some(reference) = &project.spec.database.password_secret_ref else {
        return Ok(None);
    };
    let Some(secret) = read_secret(secrets, &reference.name).await? else {
        return Ok(None);
    };
    Ok(secret
        .data
        .unwrap_or_default()
        .get(&reference.key)
        .and_then(|value| String::from_utf8(value.0.clone()).ok()))
}

/// A keys Secret kept from a deleted Project (Retain) is taken back by the
/// new Project of the same ref.
async fn adopt_retained(secrets: &Api<Secret>, existing: &Secret, project: &Project) -> Result<()> {
    let owned = existing
        .owner_references()
        .iter()
        .any(|r| Some(&r.uid) == project.metadata.uid.as_ref());
    if owned {
        return Ok(());
    }
    let patch = json!({
        "metadata": {
            "ownerReferences": render::owner_reference(project).map(|r| vec![r]),
            "labels": {LABEL_RETAINED: null},
        }
    });
    secrets
        .patch(KEYS_SECRET_NAME, &update_params(), &Patch::Merge(&patch))
        .await
        .map_err(|source| Error::Apply {
            kind: "Secret".into(),
            name: KEYS_SECRET_NAME.into(),
            source,
        })?;
    Ok(())
}

async fn write_status(project: &Project, context: &Context, keys: &ProjectKeys) -> Result<()> {
    let project_ref = project.name_any();
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    let mut status = project.status.clone().unwrap_or_default();
    let generation = project.metadata.generation;
    conditions::set_condition(
        &mut status.conditions,
        conditions::condition(
            conditions::SECRETS_READY,
            true.into(),
            "KeysGenerated",
            "the project's keys Secret exists",
            generation,
            now.clone(),
        ),
    );
    conditions::set_condition(
        &mut status.conditions,
        conditions::condition(
            conditions::READY,
            false.into(),
            "ComingUp",
            "the project's services are not deployed yet",
            generation,
            now,
        ),
    );
    let desired = ProjectStatus {
        status: Some(SupabaseStatus::ComingUp),
        observed_generation: generation,
        anon_key: Some(keys.anon_key.clone()),
        namespace: Some(project_namespace(&project_ref)),
        ..status
    };
    if project.status.as_ref() == Some(&desired) {
        return Ok(());
    }
    let previous = project.status.as_ref().and_then(|s| s.status);
    let projects: Api<Project> = Api::all(context.client.clone());
    let patch = json!({"apiVersion": "supaplane.io/v1alpha1", "kind": "Project", "metadata": {"name": project_ref}, "status": desired});
    projects
        .patch_status(&project_ref, &apply_params(), &Patch::Apply(&patch))
        .await
        .map_err(|source| Error::Status {
            name: project_ref.clone(),
            source,
        })?;
    if previous != desired.status
        && let Some(now) = desired.status
    {
        let note = format!(
            "status is now {}",
            serde_json::to_value(now)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        );
        events::publish(&context.client, project, "StatusChanged", "Reconcile", note).await;
    }
    Ok(())
}

/// Honours the deletion policy before the Project goes.
async fn cleanup(project: &Project, context: &Context) -> Result<Action> {
    let namespace_name = project_namespace(&project.name_any());
    let namespaces: Api<Namespace> = Api::all(context.client.clone());
    let projects: Api<Project> = Api::all(context.client.clone());
    let going_down = json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": project.name_any()}, "status": {"status": SupabaseStatus::GoingDown},
    });
    projects
        .patch_status(
            &project.name_any(),
            &apply_params(),
            &Patch::Apply(&going_down),
        )
        .await
        .map_err(|source| Error::Status {
            name: project.name_any(),
            source,
        })?;
    match project.spec.deletion_policy {
        DeletionPolicy::Delete => {
            match namespaces
                .delete(&namespace_name, &Default::default())
                .await
            {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(source) => {
                    return Err(Error::Apply {
                        kind: "Namespace".into(),
                        name: namespace_name,
                        source,
                    });
                }
            }
            info!("deleted the project namespace");
            events::publish(
                &context.client,
                project,
                "NamespaceDeleted",
                "Delete",
                format!("deleted namespace {namespace_name} and its data (deletionPolicy: Delete)"),
            )
            .await;
        }
        DeletionPolicy::Retain => {
            // Dropping the owner references keeps the namespace and its keys
            // out of the cascade; the label marks them for adoption.
            let retain =
                json!({"metadata": {"ownerReferences": null, "labels": {LABEL_RETAINED: "true"}}});
            for (kind, result) in [
                (
                    "Namespace",
                    namespaces
                        .patch(&namespace_name, &update_params(), &Patch::Merge(&retain))
                        .await
                        .map(|_| ()),
                ),
                (
                    "Secret",
                    Api::<Secret>::namespaced(context.client.clone(), &namespace_name)
                        .patch(KEYS_SECRET_NAME, &update_params(), &Patch::Merge(&retain))
                        .await
                        .map(|_| ()),
                ),
            ] {
                match result {
                    Ok(()) => {}
                    Err(kube::Error::Api(status)) if status.code == 404 => {}
                    Err(source) => {
                        return Err(Error::Apply {
                            kind: kind.to_string(),
                            name: namespace_name.clone(),
                            source,
                        });
                    }
                }
            }
            info!("retained the project namespace and keys");
            events::publish(&context.client, project, "DataRetained", "Delete", format!("kept namespace {namespace_name} with its volumes and keys (deletionPolicy: Retain)")).await;
        }
    }
    Ok(Action::await_change())
}
