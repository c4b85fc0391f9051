//! The Project controller: turns each Project into its namespace, keys and
//! full Supabase stack, reports status from what the children report, and
//! tears them down per its deletion policy.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, PersistentVolumeClaim, ResourceQuota, Secret, Service,
};
use k8s_openapi::api::networking::v1::{Ingress, NetworkPolicy};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Action, Controller, Error as ControllerError};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;
use supaplane_crds::constants::{
    FIELD_MANAGER_OPERATOR, FINALIZER_PROJECT_TEARDOWN, KEYS_SECRET_NAME, LABEL_MANAGED_BY,
    LABEL_PROJECT, LABEL_RETAINED, MANAGED_BY_VALUE, project_namespace,
};
use supaplane_crds::gone::{delete_if_present, gone_is_done};
use supaplane_crds::{DeletionPolicy, Project, ProjectEndpoints, SupabaseStatus};
use tracing::{debug, info, warn};

use crate::apply::{prune, prune_named, remove_label};
use crate::child_memo::{Applied, ChildMemo, Memoized};
use crate::error::{Error, Result};
use crate::events;
use crate::keys::ProjectKeys;
use crate::metrics::Metrics;
use crate::project_keys::ensure_keys;
use crate::project_status::{Observations, WorkloadObservation, next_status};
use crate::render;
use crate::render::stack::{Stack, StackSettings};
use crate::workload_report::{DeploymentReport, StatefulSetReport};

/// What every reconcile needs.
pub struct Context {
    pub client: Client,
    pub metrics: Arc<Metrics>,
    /// Ingress, TLS and isolation settings every project shares.
    pub settings: StackSettings,
    /// A label selector: only matching Projects are reconciled (one shard of
    /// a fleet several operators split); every Project when None.
    pub selector: Option<String>,
    /// What the children's watches last reported, so unchanged children
    /// are neither read nor written.
    pub children: Arc<ChildMemo>,
}

/// Projects reconciled at once.
const RECONCILE_CONCURRENCY: u16 = 16;
/// How often a settled project is looked at again even when nothing changed.
const RESYNC: Duration = Duration::from_secs(300);
/// Triggers arriving this close together make one reconcile: a new stack's
/// children report themselves one after another.
const DEBOUNCE: Duration = Duration::from_millis(500);
/// How soon a project waiting for its password Secret (which is not ours,
/// so not watched) is looked at again.
const WAITING_FOR_PASSWORD: Duration = Duration::from_secs(15);

fn managed_children() -> watcher::Config {
    watcher::Config::default()
        .labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY_VALUE}"))
        // A (re)list holds one page at a time: smaller pages keep the
        // operator's peak memory low at the cost of a few more requests.
        .page_size(LIST_PAGE)
}

/// Objects per page when a watch lists (children and Projects alike): a
/// page is held whole while it is read, field-ownership records and all,
/// and a restarted operator reads a page of every watch at once.
pub const LIST_PAGE: u32 = 100;

/// The Project a namespaced child belongs to. `Controller::owns` would map
/// children to a namespaced reference, which a cluster-scoped Project never
/// matches, so owner references are mapped by hand.
fn owning_project<K: Resource>(child: K) -> Vec<ObjectRef<Project>> {
    child
        .owner_references()
        .iter()
        .filter(|owner| owner.kind == "Project")
        .map(|owner| ObjectRef::new(&owner.name))
        .collect()
}

/// Watches every `K` the operator manages: each change wakes the owning
/// Project and is noted in the memo.
///
/// The wake-ups go in as plain Project references (`reconcile_on`), not as
/// `watches_stream`'s related-object triggers: those carry the child's whole
/// reference (name, namespace, kind, group, version, apiVersion, plural:
/// seven strings) as the reason, and kube's scheduler keeps two copies of each
/// queued request. A restarted operator queues every Project at once, and
/// the reconcile never reads the reason.
fn watch_children<K>(
    controller: Controller<Project>,
    client: &Client,
    config: watcher::Config,
    memo: &Arc<ChildMemo>,
) -> Controller<Project>
where
    K: Memoized + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let memo = memo.clone();
    let wake_ups = watcher(Api::<K>::all(client.clone()), config)
        .backoff(supaplane_crds::watching::backoff())
        .inspect_ok(move |event| memo.observe(event))
        .touched_objects()
        .flat_map(|child| {
            let owners = match child {
                Ok(child) => owning_project(child),
                Err(error) => {
                    // The watcher retries with backoff; the error is only logged.
                    warn!(%error, kind = %K::kind(&()), "a child watch failed");
                    Vec::new()
                }
            };
            futures::stream::iter(owners)
        });
    controller.reconcile_on(wake_ups)
}

/// A hash of what a reconcile reads of a Project: its spec (through the
/// generation), labels, annotations (a restart, an initial restore),
/// finalizers and deletion. Not its status, which the reconcile writes.
fn reconcile_inputs(project: &Project) -> Option<u64> {
    use std::hash::{Hash, Hasher};
    let meta = &project.metadata;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut hasher);
    meta.labels.hash(&mut hasher);
    meta.annotations.hash(&mut hasher);
    meta.finalizers.hash(&mut hasher);
    meta.deletion_timestamp
        .as_ref()
        .map(|t| t.0.as_second())
        .hash(&mut hasher);
    Some(hasher.finish())
}

/// Runs the Project controller until the stream ends.
pub async fn run(context: Arc<Context>) {
    let client = context.client.clone();
    let mut projects = watcher::Config::default().page_size(LIST_PAGE);
    if let Some(selector) = &context.selector {
        projects = projects.labels(selector);
    }
    // The Projects' cache keeps only what a reconcile reads.
    let (store, writer) = reflector::store();
    let projects = watcher(Api::<Project>::all(client.clone()), projects)
        .backoff(supaplane_crds::watching::backoff())
        .modify(supaplane_crds::watching::trim)
        .reflect(writer)
        .applied_objects()
        // The operator's own status writes are events too; they change
        // nothing a reconcile reads, so they wake none.
        .predicate_filter(reconcile_inputs, Default::default());
    let controller = Controller::for_stream(projects, store);
    context.metrics.observe_projects(controller.store());
    let memo = &context.children;
    // Workloads are watched for what they report of their pods, their pod
    // templates and field-ownership records skipped as they are read.
    let mut controller =
        watch_children::<StatefulSetReport>(controller, &client, managed_children(), memo);
    controller = watch_children::<DeploymentReport>(controller, &client, managed_children(), memo);
    // Every other kind by its metadata alone, all the memo needs: their
    // bodies (a Secret's data, a ConfigMap's files) never reach the
    // operator through a watch.
    type Meta<K> = PartialObjectMeta<K>;
    let config = managed_children;
    controller = watch_children::<Meta<Namespace>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<Secret>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<ConfigMap>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<PersistentVolumeClaim>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<Service>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<Ingress>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<NetworkPolicy>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<ResourceQuota>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<LimitRange>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<Role>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<RoleBinding>>(controller, &client, config(), memo);
    controller = watch_children::<Meta<Job>>(controller, &client, config(), memo);
    controller
        .trigger_backoff(supaplane_crds::watching::controller_backoff())
        // Bounded, so a fleet of new Projects is worked through at a steady
        // pace and memory stays flat instead of every reconcile at once.
        .with_config(
            kube::runtime::controller::Config::default()
                .concurrency(RECONCILE_CONCURRENCY)
                .debounce(DEBOUNCE),
        )
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                // A child of a Project this operator does not hold (deleted,
                // or outside its selector) changed: nothing to do.
                Err(ControllerError::ObjectNotFound(object)) => {
                    debug!(%object, "no such project here");
                }
                Err(error) => warn!(%error, "reconcile failed"),
                Ok(_) => {}
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
    .or_else(crate::error::finalizer_outcome)
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
    let memo = &context.children;
    let namespace = memo
        .apply(
            &namespaces,
            &namespace_name,
            render::namespace::namespace(project),
            not_retained,
        )
        .await?;
    // Adopting a namespace a deleted Project of the same ref retained.
    if let Applied::Live(namespace) = &namespace {
        remove_label(&namespaces, namespace, LABEL_RETAINED).await?;
    }

    let keys = match ensure_keys(project, &context.client).await? {
        Ok(keys) => keys,
        Err(unavailable) => {
            write_status(project, context, Err(unavailable), Observed::default()).await?;
            return Ok(Action::requeue(WAITING_FOR_PASSWORD));
        }
    };
    let stack = render::stack::render(project, &keys, &context.settings);
    let (applied, failure) = match apply_stack(context, &namespace_name, &stack).await {
        Ok(applied) => (applied, None),
        Err(error) => match unrealisable(&error) {
            Some(message) => (AppliedStack::default(), Some(message)),
            None => return Err(error),
        },
    };
    if failure.is_none() {
        prune_stack(context, &project_ref, &stack).await?;
    }
    let observed = Observed {
        keys: Some(&keys),
        workloads: applied.workloads,
        failure,
        refused_volumes: applied.refused_volumes,
    };
    write_status(project, context, Ok(()), observed).await?;
    let next_backup =
        crate::backup_schedule::run(&context.client, project, &context.children).await?;
    crate::initial_restore::ask_once(&context.client, project).await?;
    // Whatever the status, what moves it on is a child's change, which the
    // watches deliver: no project is polled while it settles.
    // Back when the schedule fires next, if sooner than the resync.
    Ok(Action::requeue(
        next_backup.map_or(RESYNC, |wait| wait.min(RESYNC)),
    ))
}

/// The API server refusing what the spec asks for (an invalid value, say)
/// is a spec that cannot be realised, not an error to retry quickly.
fn unrealisable(error: &Error) -> Option<String> {
    match error {
        Error::Apply {
            kind,
            name,
            source: kube::Error::Api(status),
        } if matches!(status.code, 400 | 422) => Some(format!(
            "the API server refused {kind} {name}: {}",
            status.message
        )),
        _ => None,
    }
}

/// What applying a stack found.
#[derive(Default)]
struct AppliedStack {
    workloads: Vec<WorkloadObservation>,
    /// Volumes whose change the API server refused, and why.
    refused_volumes: Vec<String>,
}

/// What the next status is computed from, besides the Project.
#[derive(Default)]
struct Observed<'a> {
    keys: Option<&'a ProjectKeys>,
    workloads: Vec<WorkloadObservation>,
    failure: Option<String>,
    refused_volumes: Vec<String>,
}

/// A change to an existing volume the API server refuses (its class, a size
/// its StorageClass cannot grow to, any change to an unbound claim), told in
/// words that say what to do. The volume keeps serving as it is, so the
/// rest of the stack goes on being reconciled.
fn refused_volume_change(live: &PersistentVolumeClaim, error: &Error) -> Option<String> {
    let Error::Apply {
        source: kube::Error::Api(status),
        ..
    } = error
    else {
        return None;
    };
    if !matches!(status.code, 403 | 422) {
        return None;
    }
    let spec = live.spec.as_ref();
    let class = spec
        .and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or("the cluster default");
    let size = spec
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map_or("its size", |q| q.0.as_str());
    Some(format!(
        "volume {} cannot change as the spec asks ({}); it keeps {size} on storage class {class}: \
         set the spec back to that, or use a StorageClass that allows volume expansion to grow it",
        live.name_any(),
        status.message
    ))
}

/// Whether the API server refused an apply because it would change a
/// Service's cluster IP, which it never changes once set.
fn changes_service_address(error: &Error) -> bool {
    matches!(
        error,
        Error::Apply {
            source: kube::Error::Api(status),
            ..
        } if status.code == 422 && status.message.contains("spec.clusterIP")
    )
}

/// Applies every child of the stack in dependency order and returns what the
/// workloads report. Children the memo knows to be right are skipped.
async fn apply_stack(context: &Context, namespace: &str, stack: &Stack) -> Result<AppliedStack> {
    let client = &context.client;
    let memo = &context.children;
    let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), namespace);
    memo.apply(&policies, namespace, stack.network_policy.clone(), settled)
        .await?;
    let roles: Api<Role> = Api::namespaced(client.clone(), namespace);
    for role in &stack.roles {
        memo.apply(&roles, namespace, role.clone(), settled).await?;
    }
    let bindings: Api<RoleBinding> = Api::namespaced(client.clone(), namespace);
    for binding in &stack.role_bindings {
        memo.apply(&bindings, namespace, binding.clone(), settled)
            .await?;
    }
    let quotas: Api<ResourceQuota> = Api::namespaced(client.clone(), namespace);
    memo.apply(&quotas, namespace, stack.resource_quota.clone(), settled)
        .await?;
    let limit_ranges: Api<LimitRange> = Api::namespaced(client.clone(), namespace);
    memo.apply(&limit_ranges, namespace, stack.limit_range.clone(), settled)
        .await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    for config_map in &stack.config_maps {
        memo.apply(&config_maps, namespace, config_map.clone(), settled)
            .await?;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    for secret in &stack.secrets {
        memo.apply(&secrets, namespace, secret.clone(), settled)
            .await?;
    }
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let mut refused_volumes = Vec::new();
    for claim in &stack.claims {
        let live = match memo
            .apply(&claims, namespace, claim.clone(), not_retained)
            .await
        {
            Ok(Applied::Unchanged(_)) => continue,
            Ok(Applied::Live(live)) => live,
            Err(error) => {
                let existing = claims
                    .get_opt(&claim.name_any())
                    .await
                    .map_err(Error::reading("PersistentVolumeClaim", claim.name_any()))?;
                match existing.and_then(|live| Some((refused_volume_change(&live, &error)?, live)))
                {
                    Some((why, live)) => {
                        refused_volumes.push(why);
                        live
                    }
                    None => return Err(error),
                }
            }
        };
        remove_label(&claims, &live, LABEL_RETAINED).await?;
    }
    let mut workloads = Vec::new();
    let stateful_sets: Api<StatefulSet> = Api::namespaced(client.clone(), namespace);
    for stateful_set in &stack.stateful_sets {
        let applied = memo
            .apply(&stateful_sets, namespace, stateful_set.clone(), settled)
            .await?;
        workloads.extend(applied.workload());
    }
    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    for service in &stack.services {
        let Err(error) = memo
            .apply(&services, namespace, service.clone(), settled)
            .await
        else {
            continue;
        };
        if !changes_service_address(&error) {
            return Err(error);
        }
        // A Service's address is fixed once allocated: one made by an
        // earlier release with a virtual IP (or none) is replaced. The pods
        // stay, so only new connections resolve anew.
        let name = service.name_any();
        info!(service = %name, "replacing a service whose addressing changed");
        delete_if_present(&services, &name, &Default::default())
            .await
            .map_err(Error::applying("Service", name))?;
        memo.apply(&services, namespace, service.clone(), settled)
            .await?;
    }
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    for deployment in &stack.deployments {
        let applied = memo
            .apply(&deployments, namespace, deployment.clone(), settled)
            .await?;
        workloads.extend(applied.workload());
    }
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), namespace);
    for ingress in &stack.ingresses {
        memo.apply(&ingresses, namespace, ingress.clone(), settled)
            .await?;
    }
    Ok(AppliedStack {
        workloads,
        refused_volumes,
    })
}

/// Any child found holding its render is settled.
fn settled<K>(_: &K) -> bool {
    true
}

/// A namespace or volume still marked as retained by a deleted Project is
/// not settled until the mark is removed.
fn not_retained<K: Resource>(live: &K) -> bool {
    !live.labels().contains_key(LABEL_RETAINED)
}

/// Removes what the project no longer renders: the workloads, Services,
/// Ingress and gateway config of components it disabled. Volumes are never
/// pruned; they go with the project, per its deletion policy. What exists is
/// taken from the memo once the watches have listed everything, and listed
/// from the API server before that.
async fn prune_stack(context: &Context, project_ref: &str, stack: &Stack) -> Result<()> {
    let client = &context.client;
    let namespace = project_namespace(project_ref);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    prune_kind(
        context,
        &deployments,
        project_ref,
        &names_of(&stack.deployments),
        |_| true,
    )
    .await?;
    let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
    prune_kind(
        context,
        &services,
        project_ref,
        &names_of(&stack.services),
        |_| true,
    )
    .await?;
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), &namespace);
    prune_kind(
        context,
        &ingresses,
        project_ref,
        &names_of(&stack.ingresses),
        |_| true,
    )
    .await?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    prune_kind(
        context,
        &secrets,
        project_ref,
        &names_of(&stack.secrets),
        |name| name == render::gateway::CONFIG_SECRET,
    )
    .await?;
    Ok(())
}

async fn prune_kind<K>(
    context: &Context,
    api: &Api<K>,
    project_ref: &str,
    keep: &[String],
    prunable: impl Fn(&str) -> bool,
) -> Result<()>
where
    K: Memoized + Clone + std::fmt::Debug + DeserializeOwned,
{
    let namespace = project_namespace(project_ref);
    match context.children.names(K::KIND, &namespace) {
        Some(existing) => prune_named(api, existing, keep, prunable).await?,
        None => {
            let selector =
                format!("{LABEL_MANAGED_BY}={MANAGED_BY_VALUE},{LABEL_PROJECT}={project_ref}");
            prune(api, &selector, keep, prunable).await?
        }
    };
    Ok(())
}

fn names_of<K: ResourceExt>(objects: &[K]) -> Vec<String> {
    objects.iter().map(ResourceExt::name_any).collect()
}

/// Writes the status computed from the children, when it differs from what
/// the Project has; returns the Supabase status.
async fn write_status(
    project: &Project,
    context: &Context,
    secrets: std::result::Result<(), String>,
    observed: Observed<'_>,
) -> Result<SupabaseStatus> {
    let project_ref = project.name_any();
    let keys = observed.keys;
    let desired = next_status(Observations {
        project,
        secrets,
        failure: observed.failure,
        refused_volumes: observed.refused_volumes,
        workloads: observed.workloads,
        restarts: render::restart::recent(project, k8s_openapi::jiff::Timestamp::now()),
        endpoints: ProjectEndpoints {
            api_url: Some(context.settings.ingress.api_url(&project_ref)),
            database_host: Some(render::database::database_host(project)),
            database_port: Some(render::database::database_port()),
        },
        anon_key: keys.map(|keys| keys.anon_key.clone()),
        namespace: project_namespace(&project_ref),
        now: k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            k8s_openapi::jiff::Timestamp::now(),
        ),
    });
    let now_status = desired.status.unwrap_or(SupabaseStatus::Unknown);
    if project.status.as_ref() == Some(&desired) {
        return Ok(now_status);
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
    if previous != Some(now_status) {
        let mut note = format!("status is now {}", status_name(now_status));
        if let Some(message) = &desired.message {
            note = format!("{note}: {message}");
        }
        events::publish(&context.client, project, "StatusChanged", "Reconcile", note).await;
    }
    Ok(now_status)
}

fn status_name(status: SupabaseStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Honours the deletion policy before the Project goes.
async fn cleanup(project: &Project, context: &Context) -> Result<Action> {
    let namespace_name = project_namespace(&project.name_any());
    let namespaces: Api<Namespace> = Api::all(context.client.clone());
    let projects: Api<Project> = Api::all(context.client.clone());
    // Keep what the status said (conditions, endpoints) and say where the
    // project is going: an apply of less would drop the fields we own.
    let mut status = project.status.clone().unwrap_or_default();
    status.status = Some(SupabaseStatus::GoingDown);
    status.message = Some(match project.spec.deletion_policy {
        DeletionPolicy::Delete => "deleting the project and its data".to_string(),
        DeletionPolicy::Retain => "deleting the project's services; its data is kept".to_string(),
    });
    let going_down = json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": project.name_any()}, "status": status,
    });
    if project.status.as_ref().and_then(|s| s.status) != Some(SupabaseStatus::GoingDown) {
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
        events::publish(
            &context.client,
            project,
            "StatusChanged",
            "Delete",
            "status is now GOING_DOWN".into(),
        )
        .await;
    }
    match project.spec.deletion_policy {
        DeletionPolicy::Delete => {
            if let Some(purge_namespace) = &context.settings.purge_namespace {
                crate::bucket_purge::order(&context.client, project, purge_namespace).await?;
            }
            delete_if_present(&namespaces, &namespace_name, &Default::default())
                .await
                .map_err(Error::applying("Namespace", namespace_name.clone()))?;
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
            // Dropping the owner references keeps the namespace, its keys
            // and its volumes out of the cascade, which removes every
            // workload; the label marks them for adoption.
            let retain =
                json!({"metadata": {"ownerReferences": null, "labels": {LABEL_RETAINED: "true"}}});
            let mut results: Vec<(&str, &str, kube::Result<()>)> = vec![(
                "Namespace",
                namespace_name.as_str(),
                namespaces
                    .patch(&namespace_name, &update_params(), &Patch::Merge(&retain))
                    .await
                    .map(|_| ()),
            )];
            let secrets: Api<Secret> = Api::namespaced(context.client.clone(), &namespace_name);
            results.push((
                "Secret",
                KEYS_SECRET_NAME,
                secrets
                    .patch(KEYS_SECRET_NAME, &update_params(), &Patch::Merge(&retain))
                    .await
                    .map(|_| ()),
            ));
            let claims: Api<PersistentVolumeClaim> =
                Api::namespaced(context.client.clone(), &namespace_name);
            for claim in [render::database::DATA_CLAIM, render::storage::DATA_CLAIM] {
                results.push((
                    "PersistentVolumeClaim",
                    claim,
                    claims
                        .patch(claim, &update_params(), &Patch::Merge(&retain))
                        .await
                        .map(|_| ()),
                ));
            }
            for (kind, name, result) in results {
                gone_is_done(result)
                    .map_err(Error::applying(kind.to_string(), name.to_string()))?;
            }
            info!("retained the project namespace and keys");
            events::publish(&context.client, project, "DataRetained", "Delete", format!("removed the workloads, kept namespace {namespace_name} with its volumes and keys (deletionPolicy: Retain)")).await;
        }
    }
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
    use supaplane_crds::ProjectStatus;

    #[test]
    fn only_what_a_reconcile_reads_wakes_one() {
        let project = Project::test("abc");
        let before = reconcile_inputs(&project);

        let mut status_written = project.clone();
        status_written.status = Some(ProjectStatus {
            status: Some(SupabaseStatus::ActiveHealthy),
            ..Default::default()
        });
        status_written.metadata.resource_version = Some("99".into());
        assert_eq!(reconcile_inputs(&status_written), before);

        let changes: [fn(&mut Project); 5] = [
            |p| p.metadata.generation = Some(2),
            |p| {
                p.labels_mut().insert("tier".into(), "gold".into());
            },
            |p| {
                p.annotations_mut().insert("restart".into(), "now".into());
            },
            |p| p.finalizers_mut().push("teardown".into()),
            |p| {
                p.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH))
            },
        ];
        for change in changes {
            let mut changed = project.clone();
            change(&mut changed);
            assert_ne!(reconcile_inputs(&changed), before, "{:?}", changed.metadata);
        }
    }
}
