//! Connects integration tests to a Kubernetes API: the real control plane
//! of `tests/controlplane` (etcd, kube-apiserver, kube-controller-manager)
//! by default, or the cluster a kubeconfig in `SUPAPLANE_TEST_KUBECONFIG`
//! names. Tests use `kube::Client` only, so the same suite runs against both.

use std::fmt::Debug;
use std::time::Duration;

use anyhow::Context as _;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::wait::{Condition, await_condition, conditions};
use kube::{Api, Client, Resource};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::controlplane::{AuditLog, ControlPlane};

/// The environment variable that points the suite at a real cluster.
pub const KUBECONFIG_ENV: &str = "SUPAPLANE_TEST_KUBECONFIG";
/// The field manager of what the tests themselves apply.
pub const FIELD_MANAGER: &str = "supaplane-tests";

/// A Kubernetes API for one test.
pub struct TestCluster {
    client: Client,
    kubeconfig: std::path::PathBuf,
    /// Our own control plane (no workload controllers, no kubelet), or None
    /// for the cluster of `SUPAPLANE_TEST_KUBECONFIG`.
    control_plane: Option<&'static ControlPlane>,
}

async fn config_of(path: &std::path::Path) -> anyhow::Result<kube::Config> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)
        .with_context(|| format!("reading kubeconfig {}", path.display()))?;
    Ok(kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?)
}

impl TestCluster {
    /// Connects to the cluster of `SUPAPLANE_TEST_KUBECONFIG`, or to this
    /// process's control plane (started on first use), and installs
    /// supaplane's CRDs.
    pub async fn start() -> anyhow::Result<Self> {
        let cluster = Self::start_without_crds().await?;
        cluster.install_crds().await?;
        Ok(cluster)
    }

    /// Like `start`, without installing CRDs.
    pub async fn start_without_crds() -> anyhow::Result<Self> {
        let (kubeconfig, control_plane) = match std::env::var(KUBECONFIG_ENV) {
            Ok(path) if !path.is_empty() => (std::path::PathBuf::from(path), None),
            _ => {
                let control_plane = tokio::task::spawn_blocking(ControlPlane::shared).await??;
                (
                    control_plane.kubeconfig().to_path_buf(),
                    Some(control_plane),
                )
            }
        };
        let client = Client::try_from(config_of(&kubeconfig).await?)?;
        Ok(TestCluster {
            client,
            kubeconfig,
            control_plane,
        })
    }

    /// A client acting as `user` (for example a chart's service account,
    /// `system:serviceaccount:<namespace>:<name>`) by impersonation, as an
    /// administrator can: the API server then authorizes it with that
    /// user's RBAC, and audits it under that name.
    pub async fn client_impersonating(&self, user: &str) -> anyhow::Result<Client> {
        self.client_as(user, &[]).await
    }

    /// A client acting as `user` in `groups` (`system:masters` for an
    /// administrator of its own name, whose requests the audit log tells
    /// apart from every other test's).
    pub async fn client_as(&self, user: &str, groups: &[&str]) -> anyhow::Result<Client> {
        Ok(Client::try_from(self.config_as(user, groups).await?)?)
    }

    /// The configuration of `client_as`, for a product that builds its own
    /// client from it.
    pub async fn config_as(&self, user: &str, groups: &[&str]) -> anyhow::Result<kube::Config> {
        let mut config = config_of(&self.kubeconfig).await?;
        config.auth_info.impersonate = Some(user.to_string());
        if !groups.is_empty() {
            config.auth_info.impersonate_groups =
                Some(groups.iter().map(|g| g.to_string()).collect());
        }
        Ok(config)
    }

    /// The kubeconfig the suite connects with (for a binary run as its own
    /// process).
    pub fn kubeconfig(&self) -> &std::path::Path {
        &self.kubeconfig
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The API server's audit log, on our own control plane.
    pub fn audit(&self) -> Option<AuditLog> {
        self.control_plane.map(ControlPlane::audit)
    }

    /// Our own control plane (its node serves pod logs from files), when
    /// the tests run on it.
    pub fn control_plane(&self) -> Option<&'static ControlPlane> {
        self.control_plane
    }

    /// Whether the tests stand in for the workload controllers and kubelets
    /// (our control plane runs neither), writing workload status themselves.
    pub fn writes_workload_status(&self) -> bool {
        self.control_plane.is_some()
    }

    /// Applies the CRD YAML the chart ships (generated from the types) and
    /// waits until the API serves it.
    pub async fn install_crds(&self) -> anyhow::Result<()> {
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        for crd in chart_crds()? {
            let name = crd
                .metadata
                .name
                .clone()
                .context("generated CRD has no name")?;
            crds.patch(
                &name,
                &PatchParams::apply(FIELD_MANAGER).force(),
                &Patch::Apply(&crd),
            )
            .await
            .with_context(|| format!("applying CRD {name}"))?;
            wait_for(
                &crds,
                &name,
                conditions::is_crd_established(),
                Duration::from_secs(30),
            )
            .await?;
        }
        Ok(())
    }
}

/// A name unique to this test run, so tests never collide on a shared cluster.
pub fn unique_name(prefix: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &suffix[..8])
}

/// Creates a namespace of a name unique to this run, starting with
/// `prefix`, and answers its name.
pub async fn create_unique_namespace(client: &Client, prefix: &str) -> anyhow::Result<String> {
    let name = unique_name(prefix);
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await
        .with_context(|| format!("creating namespace {name}"))?;
    Ok(name)
}

/// Waits until `condition` holds for the named object.
pub async fn wait_for<K>(
    api: &Api<K>,
    name: &str,
    condition: impl Condition<K>,
    timeout: Duration,
) -> anyhow::Result<K>
where
    K: Resource + Clone + Debug + DeserializeOwned + Send + 'static,
{
    let found = tokio::time::timeout(timeout, await_condition(api.clone(), name, condition))
        .await
        .with_context(|| format!("timed out after {timeout:?} waiting for {name}"))??;
    found.with_context(|| format!("{name} was deleted while waiting"))
}

/// Waits until the named object no longer exists.
pub async fn wait_deleted<K>(api: &Api<K>, name: &str, timeout: Duration) -> anyhow::Result<()>
where
    K: Resource + Clone + Debug + DeserializeOwned + Send + 'static,
{
    tokio::time::timeout(
        timeout,
        await_condition(api.clone(), name, |object: Option<&K>| object.is_none()),
    )
    .await
    .with_context(|| format!("timed out after {timeout:?} waiting for {name} to be deleted"))??;
    Ok(())
}

impl TestCluster {
    /// Makes a Deployment report all replicas ready, as the deployment
    /// controller and kubelets would. On a full cluster it waits for that.
    pub async fn mark_deployment_ready(
        &self,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<Deployment> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
        if !self.writes_workload_status() {
            return wait_for(&api, name, is_deployment_ready, Duration::from_secs(600)).await;
        }
        let deployment = api.get(name).await?;
        Ok(api
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&ready_deployment_status(&deployment)),
            )
            .await?)
    }

    /// Makes a StatefulSet report all replicas ready, as the statefulset
    /// controller and kubelets would. On a full cluster it waits for that.
    pub async fn mark_statefulset_ready(
        &self,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<StatefulSet> {
        let api: Api<StatefulSet> = Api::namespaced(self.client.clone(), namespace);
        if !self.writes_workload_status() {
            return wait_for(&api, name, is_statefulset_ready, Duration::from_secs(600)).await;
        }
        let statefulset = api.get(name).await?;
        Ok(api
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(&ready_statefulset_status(&statefulset)),
            )
            .await?)
    }
}

/// The status the deployment controller and kubelets write once every
/// replica of the Deployment's latest spec is ready (a merge patch).
pub fn ready_deployment_status(deployment: &Deployment) -> serde_json::Value {
    let name = deployment.metadata.name.as_deref().unwrap_or_default();
    let replicas = deployment.spec.replicas.unwrap_or(1);
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    json!({"status": {
        "observedGeneration": deployment.metadata.generation,
        "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": replicas, "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
             "message": "Deployment has minimum availability.", "lastUpdateTime": now, "lastTransitionTime": now},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
             "message": format!("ReplicaSet \"{name}\" has successfully progressed."), "lastUpdateTime": now, "lastTransitionTime": now},
        ],
    }})
}

/// The status the statefulset controller and kubelets write once every
/// replica of the StatefulSet's latest spec is ready (a merge patch).
pub fn ready_statefulset_status(statefulset: &StatefulSet) -> serde_json::Value {
    let name = statefulset.metadata.name.as_deref().unwrap_or_default();
    let replicas = statefulset.spec.replicas.unwrap_or(1);
    let revision = format!("{name}-{}", statefulset.metadata.generation.unwrap_or(1));
    json!({"status": {
        "observedGeneration": statefulset.metadata.generation,
        "replicas": replicas, "readyReplicas": replicas, "currentReplicas": replicas,
        "updatedReplicas": replicas, "availableReplicas": replicas,
        "currentRevision": revision, "updateRevision": revision,
    }})
}

/// Plays the workload controllers and kubelets for every workload supaplane
/// manages in the namespaces `in_namespace` accepts, until dropped: each
/// Deployment or StatefulSet that appears, or whose spec changes, is
/// reported ready as soon as its watch shows it.
pub async fn keep_workloads_ready(client: Client, in_namespace: fn(&str) -> bool) {
    futures::join!(
        keep_ready::<Deployment>(
            client.clone(),
            in_namespace,
            |d| is_deployment_ready(Some(d)),
            ready_deployment_status
        ),
        keep_ready::<StatefulSet>(
            client,
            in_namespace,
            |s| is_statefulset_ready(Some(s)),
            ready_statefulset_status
        ),
    );
}

async fn keep_ready<K>(
    client: Client,
    in_namespace: fn(&str) -> bool,
    ready: fn(&K) -> bool,
    status: fn(&K) -> serde_json::Value,
) where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
{
    use futures::StreamExt;
    use kube::ResourceExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let config = watcher::Config::default().labels(&format!(
        "{}={}",
        supaplane_crds::constants::LABEL_MANAGED_BY,
        supaplane_crds::constants::MANAGED_BY_VALUE
    ));
    watcher(Api::<K>::all(client.clone()), config)
        .default_backoff()
        .applied_objects()
        .for_each_concurrent(8, |workload| {
            let client = client.clone();
            async move {
                let Ok(workload) = workload else { return };
                let namespace = workload.namespace().unwrap_or_default();
                if ready(&workload) || !in_namespace(&namespace) {
                    return;
                }
                let api: Api<K> = Api::namespaced(client, &namespace);
                // A workload changed meanwhile is marked on its next event.
                let _ = api
                    .patch_status(
                        &workload.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&status(&workload)),
                    )
                    .await;
            }
        })
        .await;
}

/// What the Job controller and kubelet would write for a finished Job: its
/// outcome, and a pod (labelled `label`) with its phase and termination
/// message; a finished pod no longer counts against a quota.
pub async fn finish_job(
    client: &Client,
    namespace: &str,
    job: &str,
    label: (&str, &str),
    ok: bool,
    message: &str,
) -> anyhow::Result<()> {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Pod;
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = format!("{job}-x1");
    pods.create(
        &kube::api::PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {"name": pod, "labels": {label.0: label.1}},
            "spec": {"containers": [{"name": "job", "image": "example",
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}],
                "restartPolicy": "Never"},
        }))?,
    )
    .await?;
    let (exit, phase, reason) = if ok {
        (0, "Succeeded", "Completed")
    } else {
        (1, "Failed", "Error")
    };
    pods.patch_status(
        &pod,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": phase, "containerStatuses": [{
            "name": "job", "image": "example", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": exit, "message": message, "reason": reason}}}]}})),
    )
    .await?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let status = if ok {
        json!({"status": {"startTime": now, "completionTime": now, "succeeded": 1,
            "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}})
    } else {
        let failed = |kind: &str| {
            json!({"type": kind, "status": "True", "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit"})
        };
        json!({"status": {"startTime": now, "failed": 1, "conditions": [failed("FailureTarget"), failed("Failed")]}})
    };
    jobs.patch_status(job, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    Ok(())
}

fn is_deployment_ready(object: Option<&Deployment>) -> bool {
    object.is_some_and(|d| {
        let wanted = d.spec.replicas.unwrap_or(1);
        d.status.as_ref().is_some_and(|s| {
            s.observed_generation == d.metadata.generation
                && s.ready_replicas.unwrap_or(0) >= wanted
        })
    })
}

fn is_statefulset_ready(object: Option<&StatefulSet>) -> bool {
    object.is_some_and(|s| {
        let wanted = s.spec.replicas.unwrap_or(1);
        s.status.as_ref().is_some_and(|status| {
            status.observed_generation == s.metadata.generation
                && status.ready_replicas.unwrap_or(0) >= wanted
        })
    })
}

/// The CRDs in `charts/supaplane/crds/`, as `helm install` would apply them.
pub fn chart_crds() -> anyhow::Result<Vec<CustomResourceDefinition>> {
    let directory =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/supaplane/crds");
    supaplane_crds::all_crds()
        .iter()
        .map(|crd| {
            let path = directory.join(supaplane_crds::crd_file_name(crd));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_yaml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
        })
        .collect()
}
