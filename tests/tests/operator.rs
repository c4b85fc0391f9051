//! The operator's Project controller, running in-process against the real
//! control plane (or a real cluster), driven through the resources only.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::constants::{KEYS_SECRET_NAME, LABEL_RETAINED, project_namespace};
use supaplane_crds::{Project, SupabaseStatus, conditions};
use supaplane_operator::api_client;
use supaplane_operator::project_controller::{self, Context};
use supaplane_operator::render::ingress::IngressSettings;
use supaplane_operator::render::stack::{STATELESS_COMPONENTS, StackSettings};
use supaplane_tests::controlplane::AuditEvent;
use supaplane_tests::harness::{TestCluster, unique_name, wait_deleted, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);

fn test_settings() -> StackSettings {
    StackSettings {
        ingress: IngressSettings {
            base_domain: "apps.test".into(),
            ..Default::default()
        },
        trusted_namespaces: vec!["ingress-nginx".to_string()],
        facade_access: None,
        purge_namespace: None,
    }
}

/// An operator of this test's own: it reconciles only the Projects the test
/// labels with its run id (tests share one control plane), and it acts as
/// a user of its own name, so the audit log tells its requests apart.
struct Running {
    cluster: TestCluster,
    controller: tokio::task::JoinHandle<()>,
    run_id: String,
    operator: Client,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

const TEST_RUN_LABEL: &str = "supaplane.io/test-run";

async fn start() -> anyhow::Result<Running> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let cluster = TestCluster::start().await?;
    let run_id = unique_name("run");
    // The operator's own client stack (capped read buffers), as it runs.
    let operator = api_client::from_config(
        cluster
            .config_as(&operator_user(&run_id), &["system:masters"])
            .await?,
    )?;
    let controller = tokio::spawn(project_controller::run(operator_context(
        &operator, &run_id,
    )));
    Ok(Running {
        cluster,
        controller,
        run_id,
        operator,
    })
}

/// The user a test's operator acts as, so the audit log tells its requests
/// from every other test's.
fn operator_user(run_id: &str) -> String {
    format!("operator-{run_id}")
}

/// A test operator's context: only the Projects labelled with its run id.
fn operator_context(operator: &Client, run_id: &str) -> Arc<Context> {
    Arc::new(Context {
        client: operator.clone(),
        metrics: Default::default(),
        settings: test_settings(),
        selector: Some(format!("{TEST_RUN_LABEL}={run_id}")),
        children: Default::default(),
    })
}

impl Running {
    fn context(&self) -> Arc<Context> {
        operator_context(&self.operator, &self.run_id)
    }

    /// The user the operator's requests are audited as.
    fn operator_user(&self) -> String {
        operator_user(&self.run_id)
    }

    /// A Project of `organization` for this test's operator.
    fn project(
        &self,
        name: &str,
        organization: &str,
        spec: serde_json::Value,
    ) -> anyhow::Result<Project> {
        let mut project = json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
            "metadata": {"name": name, "labels": {TEST_RUN_LABEL: self.run_id}},
            "spec": {"organization": organization, "displayName": "Shop"},
        });
        if let (Some(base), Some(extra)) = (project["spec"].as_object_mut(), spec.as_object()) {
            base.extend(extra.clone());
        }
        Ok(serde_json::from_value(project)?)
    }

    async fn create_project(&self, name: &str, deletion_policy: &str) -> anyhow::Result<Project> {
        let projects: Api<Project> = Api::all(self.cluster.client());
        let project = self.project(name, "acme", json!({"deletionPolicy": deletion_policy}))?;
        Ok(projects.create(&PostParams::default(), &project).await?)
    }
}

fn coming_up_with_secrets(project: Option<&Project>) -> bool {
    project
        .and_then(|p| p.status.as_ref())
        .is_some_and(|status| {
            status.status == Some(SupabaseStatus::ComingUp)
                && conditions::is_true(&status.conditions, conditions::SECRETS_READY)
        })
}

async fn keys_secret(client: &Client, name: &str) -> anyhow::Result<Secret> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &project_namespace(name));
    wait_for(
        &secrets,
        KEYS_SECRET_NAME,
        |s: Option<&Secret>| s.is_some(),
        TIMEOUT,
    )
    .await
}

#[tokio::test]
async fn a_project_gets_its_namespace_keys_and_status() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    let created = running.create_project(&name, "Delete").await?;

    let projects: Api<Project> = Api::all(client.clone());
    let project = wait_for(&projects, &name, coming_up_with_secrets, TIMEOUT).await?;
    assert!(
        project
            .finalizers()
            .iter()
            .any(|f| f == "supaplane.io/project-teardown")
    );
    let status = project.status.expect("status");
    assert_eq!(
        status.namespace.as_deref(),
        Some(project_namespace(&name).as_str())
    );
    assert_eq!(status.observed_generation, Some(1));

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = namespaces.get(&project_namespace(&name)).await?;
    assert_eq!(
        namespace.owner_references()[0].uid,
        created.uid().expect("uid")
    );

    let secret = keys_secret(&client, &name).await?;
    assert_eq!(
        secret.owner_references()[0].uid,
        created.uid().expect("uid")
    );
    let anon_key = String::from_utf8(secret.data.expect("data")["anon-key"].0.clone())?;
    assert_eq!(
        status.anon_key,
        Some(anon_key),
        "the public anon key is in status"
    );

    // Transitions are told as Events about the Project.
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), "default");
    let wanted = ["KeysGenerated".to_string(), "StatusChanged".to_string()];
    let mut seen = Vec::new();
    for _ in 0..100 {
        seen = events
            .list(&Default::default())
            .await?
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name.as_str()))
            .filter_map(|e| e.reason)
            .collect();
        if wanted.iter().all(|reason| seen.contains(reason)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        wanted.iter().all(|reason| seen.contains(reason)),
        "{seen:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_keys_secret_is_never_regenerated() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    let original = keys_secret(&client, &name).await?;

    let projects: Api<Project> = Api::all(client.clone());
    for round in 0..10 {
        let display = format!("Shop {round}");
        projects
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"displayName": display}})),
            )
            .await?;
        wait_for(
            &projects,
            &name,
            |p: Option<&Project>| {
                p.and_then(|p| p.status.as_ref())
                    .and_then(|s| s.observed_generation)
                    == Some(2 + round)
            },
            TIMEOUT,
        )
        .await?;
    }
    // Keys are generated once: after ten reconciles the Secret is the same
    // object with byte-identical data.
    let after = keys_secret(&client, &name).await?;
    assert_eq!(after.data, original.data);
    assert_eq!(after.metadata.uid, original.metadata.uid);
    Ok(())
}

#[tokio::test]
async fn a_keys_secret_from_an_older_operator_gets_the_new_entries_and_keeps_the_rest()
-> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    let original = keys_secret(&client, &name).await?;
    let entry = "realtime-dashboard-password";
    assert!(original.data.as_ref().expect("data").contains_key(entry));
    assert!(
        original
            .data
            .as_ref()
            .expect("data")
            .contains_key("pgsodium-root-key")
    );

    // As an older operator wrote it: without the entry.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &project_namespace(&name));
    secrets
        .patch(
            KEYS_SECRET_NAME,
            &PatchParams::default(),
            &Patch::<()>::Json(serde_json::from_value(json!([
                {"op": "remove", "path": format!("/data/{entry}")}
            ]))?),
        )
        .await?;
    let projects: Api<Project> = Api::all(client.clone());
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "Nudged"}})),
        )
        .await?;
    let restored = wait_for(
        &secrets,
        KEYS_SECRET_NAME,
        |s: Option<&Secret>| {
            s.and_then(|s| s.data.as_ref())
                .is_some_and(|d| d.contains_key(entry))
        },
        TIMEOUT,
    )
    .await?;
    let (before, after) = (original.data.expect("data"), restored.data.expect("data"));
    for (key, value) in &before {
        if key != entry {
            assert_eq!(after.get(key), Some(value), "{key} was kept");
        }
    }
    Ok(())
}

#[tokio::test]
async fn pods_the_cluster_refuses_show_on_the_project_with_the_reason() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    wait_for_children(&client, &name).await?;
    anyhow::ensure!(
        running.cluster.writes_workload_status(),
        "stands in for the deployment controller"
    );
    // What the deployment controller reports when the quota refuses the
    // ReplicaSet's pods.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &project_namespace(&name));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let refusal = "pods \"auth-5d9c7-x\" is forbidden: exceeded quota: supaplane-instance-size, requested: limits.memory=256Mi";
    deployments
        .patch_status(
            "auth",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "observedGeneration": 1, "replicas": 0,
                "conditions": [{"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
                    "message": refusal, "lastUpdateTime": now, "lastTransitionTime": now}],
            }})),
        )
        .await?;
    let projects: Api<Project> = Api::all(client.clone());
    let (status, condition) =
        condition_with_reason(&projects, &name, conditions::AUTH_READY, "PodsRefused").await?;
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
        "the project says why it waits"
    );
    Ok(())
}

#[tokio::test]
async fn delete_policy_removes_the_namespace() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    keys_secret(&client, &name).await?;
    wait_for_children(&client, &name).await?;
    // The volumes carry the PVC-protection finalizer, which the namespace's
    // deletion waits on until kube-controller-manager releases it.
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(client.clone(), &project_namespace(&name));
    for claim in claims.list(&Default::default()).await?.items {
        assert!(
            claim
                .finalizers()
                .iter()
                .any(|f| f == "kubernetes.io/pvc-protection"),
            "{:?}",
            claim.metadata
        );
    }

    let projects: Api<Project> = Api::all(client.clone());
    projects.delete(&name, &DeleteParams::default()).await?;
    wait_deleted(&projects, &name, TIMEOUT).await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    wait_deleted(&namespaces, &project_namespace(&name), TIMEOUT).await?;
    Ok(())
}

#[tokio::test]
async fn retain_policy_keeps_keys_for_the_next_project_of_the_same_ref() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Retain").await?;
    let original = keys_secret(&client, &name).await?;

    let projects: Api<Project> = Api::all(client.clone());
    projects.delete(&name, &DeleteParams::default()).await?;
    wait_deleted(&projects, &name, TIMEOUT).await?;

    // Give the garbage collector time to act: nothing may cascade.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = namespaces.get(&project_namespace(&name)).await?;
    assert_eq!(
        namespace.labels().get(LABEL_RETAINED).map(String::as_str),
        Some("true")
    );
    assert!(namespace.owner_references().is_empty());

    let recreated = running.create_project(&name, "Retain").await?;
    wait_for(&projects, &name, coming_up_with_secrets, TIMEOUT).await?;
    let adopted = keys_secret(&client, &name).await?;
    assert_eq!(
        adopted.data, original.data,
        "the new Project has the same keys"
    );
    let adopted = wait_for(
        &Api::<Secret>::namespaced(client.clone(), &project_namespace(&name)),
        KEYS_SECRET_NAME,
        |s: Option<&Secret>| {
            s.is_some_and(|s| {
                s.owner_references()
                    .iter()
                    .any(|r| Some(&r.uid) == recreated.metadata.uid.as_ref())
            })
        },
        TIMEOUT,
    )
    .await?;
    assert!(!adopted.labels().contains_key(LABEL_RETAINED));
    let namespace = namespaces.get(&project_namespace(&name)).await?;
    assert!(!namespace.labels().contains_key(LABEL_RETAINED));
    Ok(())
}

#[tokio::test]
async fn a_resync_of_an_unchanged_project_writes_nothing() -> anyhow::Result<()> {
    let mut running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    let projects: Api<Project> = Api::all(client.clone());
    wait_for_children(&client, &name).await?;
    mark_all_ready(&running.cluster, &name).await?;
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ActiveHealthy),
        TIMEOUT,
    )
    .await?;
    let audit = running
        .cluster
        .audit()
        .context("writes are read from our control plane's audit log")?;
    let mark = audit.mark_when_settled().await;

    // A restarted controller lists and reconciles every Project again.
    running.controller.abort();
    running.controller = tokio::spawn(project_controller::run(running.context()));
    let user = running.operator_user();
    let operator_requests = |verb: &'static str| {
        let audit = audit.clone();
        let user = user.clone();
        move || -> anyhow::Result<Vec<AuditEvent>> {
            Ok(audit
                .since(mark)?
                .into_iter()
                .filter(|e| e.acting_user() == user && (verb.is_empty() || e.verb == verb))
                .collect())
        }
    };
    let reads = operator_requests("get");
    tokio::time::timeout(TIMEOUT, async {
        // One read per child at least: the whole stack was looked at.
        while reads()?.len() < 2 * WORKLOADS {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::Ok(())
    })
    .await??;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let writes: Vec<String> = operator_requests("")()?
        .iter()
        .filter(|e| e.is_write())
        .map(|e| format!("{} {} {}", e.verb, e.resource(), e.object().name))
        .collect();
    assert!(writes.is_empty(), "the resync wrote: {writes:?}");
    Ok(())
}

/// Woken again with nothing changed, a running operator neither reads nor
/// writes the children it found right: their watches would have told it of
/// any change.
#[tokio::test]
async fn a_project_woken_again_reads_none_of_its_settled_children() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    let projects: Api<Project> = Api::all(client.clone());
    wait_for_children(&client, &name).await?;
    mark_all_ready(&running.cluster, &name).await?;
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ActiveHealthy),
        TIMEOUT,
    )
    .await?;
    let audit = running
        .cluster
        .audit()
        .context("requests are read from our control plane's audit log")?;
    let user = running.operator_user();
    let namespace = project_namespace(&name);
    let project_path = format!("/apis/supaplane.io/v1alpha1/projects/{name}");
    // Once settled, a wake (any change to the Project) is a whole reconcile:
    // it ends by looking at the project's Backups for retention.
    for wake in 0..2 {
        let mark = audit.mark_when_settled().await;
        projects
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"metadata": {"annotations": {"example.com/wake": wake.to_string()}}}),
                ),
            )
            .await?;
        let requests = || -> anyhow::Result<Vec<AuditEvent>> {
            Ok(audit
                .since(mark)?
                .into_iter()
                .filter(|e| e.acting_user() == user)
                .collect())
        };
        tokio::time::timeout(TIMEOUT, async {
            while !requests()?
                .iter()
                .any(|e| e.verb == "list" && e.resource() == "backups")
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            anyhow::Ok(())
        })
        .await??;
        let children_read: Vec<String> = requests()?
            .iter()
            .filter(|e| {
                let object = e.object();
                let keys = object.resource == "secrets" && object.name == KEYS_SECRET_NAME;
                (object.namespace == namespace || e.request_uri.contains(&namespace))
                    && !keys
                    && !object.resource.starts_with("backups")
                    && !e.request_uri.starts_with(&project_path)
            })
            .map(|e| format!("{} {} {}", e.verb, e.resource(), e.object().name))
            .collect();
        assert!(
            children_read.is_empty(),
            "wake {wake} touched settled children: {children_read:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_field_added_by_hand_to_a_child_is_removed_once() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    wait_for_children(&client, &name).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &project_namespace(&name));
    let env_names = |deployment: &Deployment| -> Vec<String> {
        deployment
            .spec
            .template
            .spec
            .as_ref()
            .map(|pod| pod.containers[0].env.clone().unwrap_or_default())
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.name)
            .collect()
    };
    let rendered = env_names(&deployments.get("auth").await?);

    // `kubectl set env` adds an entry its own field manager owns, which a
    // forced apply of ours would leave in place.
    deployments
        .patch(
            "auth",
            &PatchParams {
                field_manager: Some("kubectl-set".into()),
                ..Default::default()
            },
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
                {"name": "auth", "env": [{"name": "ADDED_BY_HAND", "value": "1"}]}]}}}})),
        )
        .await?;
    let restored = wait_for(
        &deployments,
        "auth",
        |d: Option<&Deployment>| {
            d.is_some_and(|d| !env_names(d).iter().any(|n| n == "ADDED_BY_HAND"))
        },
        TIMEOUT,
    )
    .await?;
    assert_eq!(env_names(&restored), rendered);

    // And then it stays put: no patch on every reconcile.
    let audit = running.cluster.audit().context("audit log")?;
    let mark = audit.mark_when_settled().await;
    let projects: Api<Project> = Api::all(client.clone());
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"nudge": "1"}}})),
        )
        .await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let user = running.operator_user();
    let writes: Vec<String> = audit
        .since(mark)?
        .iter()
        .filter(|e| e.acting_user() == user && e.is_write() && e.resource() == "deployments")
        .map(|e| format!("{} {}", e.verb, e.request_uri))
        .collect();
    assert!(writes.is_empty(), "{writes:?}");
    Ok(())
}

#[tokio::test]
async fn a_refused_volume_change_is_a_condition_and_the_rest_still_reconciles() -> anyhow::Result<()>
{
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    let projects: Api<Project> = Api::all(client.clone());
    let project = running.project(
        &name,
        "acme",
        json!({"database": {"storageClassName": "standard"}}),
    )?;
    projects.create(&PostParams::default(), &project).await?;
    wait_for_children(&client, &name).await?;
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(client.clone(), &project_namespace(&name));
    let before = claims.get("db-data").await?;

    // The class of a volume cannot change once set (the API server answers
    // 422); in the same change a component is disabled.
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {
                "database": {"storageClassName": "fast-ssd"},
                "components": {"realtime": {"enabled": false}},
            }})),
        )
        .await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &project_namespace(&name));
    wait_deleted(&deployments, "realtime", TIMEOUT).await?;
    let (status, condition) = condition_with_reason(
        &projects,
        &name,
        conditions::VOLUMES_READY,
        "VolumeChangeRefused",
    )
    .await?;
    assert_eq!(condition.status, "False");
    assert!(
        condition.message.contains("db-data") && condition.message.contains("set the spec back"),
        "{}",
        condition.message
    );
    assert_ne!(status.status, Some(SupabaseStatus::InitFailed));
    let after = claims.get("db-data").await?;
    assert_eq!(after.spec, before.spec, "the volume is unchanged");

    // Setting it back clears the condition.
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"database": {"storageClassName": "standard"}}})),
        )
        .await?;
    wait_for(
        &projects,
        &name,
        |p: Option<&Project>| {
            p.and_then(|p| p.status.as_ref())
                .is_some_and(|s| conditions::is_true(&s.conditions, conditions::VOLUMES_READY))
        },
        TIMEOUT,
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn a_hand_edited_child_is_restored() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    let projects: Api<Project> = Api::all(client.clone());
    wait_for(&projects, &name, coming_up_with_secrets, TIMEOUT).await?;

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let label = "supaplane.io/organization";
    namespaces
        .patch(
            &project_namespace(&name),
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {label: "someone-else"}}})),
        )
        .await?;
    wait_for(
        &namespaces,
        &project_namespace(&name),
        |ns: Option<&Namespace>| {
            ns.is_some_and(|ns| ns.labels().get(label).map(String::as_str) == Some("acme"))
        },
        TIMEOUT,
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn projects_of_two_organizations_are_isolated_and_sized() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let running = start().await?;
    let client = running.cluster.client();
    let projects: Api<Project> = Api::all(client.clone());
    let (first, second) = (unique_name("p"), unique_name("p"));
    running.create_project(&first, "Delete").await?;
    let other = running.project(
        &second,
        "globex",
        json!({"displayName": "Other", "instanceSize": "large"}),
    )?;
    projects.create(&PostParams::default(), &other).await?;
    for name in [&first, &second] {
        wait_for(&projects, name, coming_up_with_secrets, TIMEOUT).await?;
    }

    for (name, other_name) in [(&first, &second), (&second, &first)] {
        let namespace = project_namespace(name);
        let policy = Api::<NetworkPolicy>::namespaced(client.clone(), &namespace)
            .get("supaplane-isolation")
            .await?;
        let spec = policy.spec.expect("spec");
        let peers = spec.ingress.expect("ingress rules")[0]
            .from
            .clone()
            .expect("peers");
        let allowed_namespaces: Vec<String> = peers
            .iter()
            .filter_map(|peer| peer.namespace_selector.as_ref())
            .flat_map(|selector| selector.match_expressions.clone().unwrap_or_default())
            .flat_map(|requirement| requirement.values.unwrap_or_default())
            .collect();
        assert!(
            !allowed_namespaces.contains(&project_namespace(other_name)),
            "{allowed_namespaces:?}"
        );
        assert!(
            peers
                .iter()
                .any(|p| p.namespace_selector.is_none() && p.pod_selector.is_some()),
            "own namespace allowed"
        );
        Api::<LimitRange>::namespaced(client.clone(), &namespace)
            .get("supaplane-instance-size")
            .await?;
    }
    let large = Api::<ResourceQuota>::namespaced(client.clone(), &project_namespace(&second))
        .get("supaplane-instance-size")
        .await?;
    let hard = large.spec.expect("spec").hard.expect("hard");
    let db = Api::<StatefulSet>::namespaced(client.clone(), &project_namespace(&second))
        .get("db")
        .await?;
    let limits = db.spec.template.spec.expect("pod").containers[0]
        .resources
        .clone()
        .and_then(|r| r.limits)
        .expect("limits");
    assert_eq!(
        limits["memory"].0, "8Gi",
        "Postgres sized from instanceSize: large"
    );
    let gib = |q: &str| {
        q.strip_suffix("Mi")
            .and_then(|n| n.parse::<f64>().ok())
            .map(|mi| mi / 1024.0)
            .or_else(|| q.strip_suffix("Gi").and_then(|n| n.parse().ok()))
    };
    let quota_memory = gib(&hard["limits.memory"].0).expect("memory");
    assert!(
        quota_memory > 8.0 && quota_memory < 16.0,
        "the quota holds the database and the services: {quota_memory} GiB"
    );
    Ok(())
}

/// Waits until the project's condition `type_` has `reason`; answers the
/// status and that condition.
async fn condition_with_reason(
    projects: &Api<Project>,
    name: &str,
    type_: &'static str,
    reason: &'static str,
) -> anyhow::Result<(
    supaplane_crds::ProjectStatus,
    supaplane_crds::conditions::Condition,
)> {
    let project = wait_for(
        projects,
        name,
        |p: Option<&Project>| {
            p.and_then(|p| p.status.as_ref()).is_some_and(|s| {
                s.conditions
                    .iter()
                    .any(|c| c.type_ == type_ && c.reason == reason)
            })
        },
        TIMEOUT,
    )
    .await?;
    let status = project.status.context("status")?;
    let condition = status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .cloned()
        .context("condition")?;
    Ok((status, condition))
}

/// Every workload of a default project: the database and the stateless
/// components.
const WORKLOADS: usize = STATELESS_COMPONENTS.len() + 1;

fn has_status(wanted: SupabaseStatus) -> impl Fn(Option<&Project>) -> bool {
    move |project| {
        project
            .and_then(|p| p.status.as_ref())
            .and_then(|s| s.status)
            == Some(wanted)
    }
}

/// Marks every workload of the project ready, as kubelets and the workload
/// controllers would (on a real cluster, waits for them).
async fn mark_all_ready(cluster: &TestCluster, name: &str) -> anyhow::Result<()> {
    let namespace = project_namespace(name);
    let client = cluster.client();
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    for deployment in deployments.list(&Default::default()).await?.items {
        cluster
            .mark_deployment_ready(&namespace, &deployment.name_any())
            .await?;
    }
    cluster.mark_statefulset_ready(&namespace, "db").await?;
    Ok(())
}

async fn wait_for_children(client: &Client, name: &str) -> anyhow::Result<Vec<Deployment>> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &project_namespace(name));
    for _ in 0..300 {
        let listed = deployments.list(&Default::default()).await?.items;
        if listed.len() == STATELESS_COMPONENTS.len() {
            return Ok(listed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the project's Deployments never all appeared")
}

#[tokio::test]
async fn a_project_becomes_a_full_stack_that_pauses_and_restores() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    let created = running.create_project(&name, "Delete").await?;
    let uid = created.uid().expect("uid");
    let namespace = project_namespace(&name);

    // Every child exists, owned by the Project.
    let deployments = wait_for_children(&client, &name).await?;
    let mut names: Vec<String> = deployments.iter().map(|d| d.name_any()).collect();
    names.sort();
    let mut expected: Vec<String> = STATELESS_COMPONENTS.iter().map(|c| c.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected);
    let db: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &namespace);
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &namespace);
    let ingresses: Api<Ingress> = Api::namespaced(client.clone(), &namespace);
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let statefulset = wait_for(&db, "db", |s: Option<&StatefulSet>| s.is_some(), TIMEOUT).await?;
    let owned_by_project =
        |owners: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference]| {
            owners
                .iter()
                .any(|o| o.uid == uid && o.controller == Some(true))
        };
    assert!(owned_by_project(statefulset.owner_references()));
    for deployment in &deployments {
        assert!(
            owned_by_project(deployment.owner_references()),
            "{}",
            deployment.name_any()
        );
    }
    let listed_services = services.list(&Default::default()).await?.items;
    assert_eq!(listed_services.len(), WORKLOADS);
    assert!(
        listed_services
            .iter()
            .all(|s| owned_by_project(s.owner_references()))
    );
    for claim in ["db-data", "storage-data"] {
        let claim = claims.get(claim).await?;
        assert!(owned_by_project(claim.owner_references()));
    }
    assert!(owned_by_project(
        config_maps.get("db-init").await?.owner_references()
    ));
    assert!(owned_by_project(
        secrets.get("gateway-config").await?.owner_references()
    ));
    let ingress = ingresses.get("gateway").await?;
    assert_eq!(
        ingress.spec.and_then(|s| s.rules).expect("rules")[0]
            .host
            .as_deref(),
        Some(format!("{name}.apps.test").as_str())
    );

    // Ready children make a healthy project, with a condition per component.
    let projects: Api<Project> = Api::all(client.clone());
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ComingUp),
        TIMEOUT,
    )
    .await?;
    mark_all_ready(&running.cluster, &name).await?;
    let project = wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ActiveHealthy),
        TIMEOUT,
    )
    .await?;
    let status = project.status.expect("status");
    for condition in [
        conditions::READY,
        conditions::SECRETS_READY,
        conditions::DATABASE_READY,
        conditions::AUTH_READY,
        conditions::REST_READY,
        conditions::REALTIME_READY,
        conditions::STORAGE_READY,
        conditions::META_READY,
        conditions::GATEWAY_READY,
    ] {
        assert!(
            conditions::is_true(&status.conditions, condition),
            "{condition}"
        );
    }
    let endpoints = status.endpoints.expect("endpoints");
    assert_eq!(endpoints.api_url, Some(format!("http://{name}.apps.test")));
    assert_eq!(endpoints.database_host, Some(format!("db.{namespace}.svc")));

    // Pause: every workload at zero, the volumes kept, INACTIVE.
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await?;
    let deployments_api: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    wait_for(
        &db,
        "db",
        |s: Option<&StatefulSet>| s.is_some_and(|s| s.spec.replicas == Some(0)),
        TIMEOUT,
    )
    .await?;
    for component in STATELESS_COMPONENTS {
        wait_for(
            &deployments_api,
            component,
            |d: Option<&Deployment>| d.is_some_and(|d| d.spec.replicas == Some(0)),
            TIMEOUT,
        )
        .await?;
    }
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::Pausing),
        TIMEOUT,
    )
    .await?;
    mark_all_ready(&running.cluster, &name).await?;
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::Inactive),
        TIMEOUT,
    )
    .await?;
    assert_eq!(
        claims.list(&Default::default()).await?.items.len(),
        2,
        "volumes kept"
    );

    // Restore: back to one replica each, then healthy again.
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": false}})),
        )
        .await?;
    wait_for(
        &projects,
        &name,
        |p: Option<&Project>| {
            matches!(
                p.and_then(|p| p.status.as_ref()).and_then(|s| s.status),
                Some(SupabaseStatus::Restoring | SupabaseStatus::ComingUp)
            )
        },
        TIMEOUT,
    )
    .await?;
    for component in STATELESS_COMPONENTS {
        wait_for(
            &deployments_api,
            component,
            |d: Option<&Deployment>| d.is_some_and(|d| d.spec.replicas == Some(1)),
            TIMEOUT,
        )
        .await?;
    }
    mark_all_ready(&running.cluster, &name).await?;
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ActiveHealthy),
        TIMEOUT,
    )
    .await?;

    // A ready component that stops being ready makes the project unhealthy.
    let auth = deployments_api.get("auth").await?;
    deployments_api
        .patch_status(
            "auth",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
            "observedGeneration": auth.metadata.generation, "replicas": 1, "readyReplicas": 0,
            "updatedReplicas": 1, "availableReplicas": 0}})),
        )
        .await?;
    let project = wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ActiveUnhealthy),
        TIMEOUT,
    )
    .await?;
    let status = project.status.expect("status");
    assert!(!conditions::is_true(
        &status.conditions,
        conditions::AUTH_READY
    ));
    assert!(status.message.unwrap_or_default().contains("auth"));
    Ok(())
}

#[tokio::test]
async fn backends_are_headless_and_a_virtual_ip_from_an_older_release_is_replaced()
-> anyhow::Result<()> {
    let mut running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    wait_for_children(&client, &name).await?;
    let services: Api<Service> = Api::namespaced(client.clone(), &project_namespace(&name));
    let cluster_ip = |service: &Service| {
        service
            .spec
            .as_ref()
            .and_then(|s| s.cluster_ip.clone())
            .unwrap_or_default()
    };
    // Only the gateway, the project's front door, has a virtual IP.
    for service in services.list(&Default::default()).await?.items {
        let virtual_ip = cluster_ip(&service) != "None";
        assert_eq!(
            virtual_ip,
            service.name_any() == "gateway",
            "{}",
            service.name_any()
        );
    }

    // An earlier release gave auth a virtual IP, and a cluster IP never
    // changes once set: the operator replaces the Service.
    running.controller.abort();
    let older = services.get("auth").await?;
    services.delete("auth", &DeleteParams::default()).await?;
    wait_deleted(&services, "auth", TIMEOUT).await?;
    let mut with_virtual_ip = older.clone();
    with_virtual_ip.metadata = kube::api::ObjectMeta {
        name: older.metadata.name.clone(),
        labels: older.metadata.labels.clone(),
        owner_references: older.metadata.owner_references.clone(),
        ..Default::default()
    };
    if let Some(spec) = with_virtual_ip.spec.as_mut() {
        spec.cluster_ip = None;
        spec.cluster_ips = None;
    }
    let created = services
        .create(&PostParams::default(), &with_virtual_ip)
        .await?;
    assert_ne!(cluster_ip(&created), "None");
    running.controller = tokio::spawn(project_controller::run(running.context()));
    let replaced = wait_for(
        &services,
        "auth",
        |s: Option<&Service>| s.is_some_and(|s| cluster_ip(s) == "None"),
        TIMEOUT,
    )
    .await?;
    assert_ne!(replaced.uid(), created.uid());
    Ok(())
}

#[tokio::test]
async fn a_deleted_child_is_recreated_and_a_disabled_component_removed() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    wait_for_children(&client, &name).await?;
    let namespace = project_namespace(&name);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let services: Api<Service> = Api::namespaced(client.clone(), &namespace);

    let original = deployments.get("rest").await?;
    deployments.delete("rest", &DeleteParams::default()).await?;
    wait_for(
        &deployments,
        "rest",
        |d: Option<&Deployment>| d.is_some_and(|d| d.metadata.uid != original.metadata.uid),
        TIMEOUT,
    )
    .await?;

    let projects: Api<Project> = Api::all(client.clone());
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"components": {"realtime": {"enabled": false}}}})),
        )
        .await?;
    wait_deleted(&deployments, "realtime", TIMEOUT).await?;
    wait_deleted(&services, "realtime", TIMEOUT).await?;
    let project = wait_for(
        &projects,
        &name,
        |p: Option<&Project>| {
            p.and_then(|p| p.status.as_ref())
                .is_some_and(|s| s.observed_generation == Some(2))
        },
        TIMEOUT,
    )
    .await?;
    assert!(
        project
            .status
            .expect("status")
            .conditions
            .iter()
            .all(|c| c.type_ != conditions::REALTIME_READY),
        "a disabled component has no condition"
    );
    deployments.get("auth").await?;
    Ok(())
}

#[tokio::test]
async fn retain_removes_the_workloads_and_keeps_volumes_and_keys() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Retain").await?;
    wait_for_children(&client, &name).await?;
    let namespace = project_namespace(&name);
    let original = keys_secret(&client, &name).await?;

    // Watch the Project on its way out: GOING_DOWN comes before it goes.
    let projects: Api<Project> = Api::all(client.clone());
    let seen_going_down = {
        use futures::TryStreamExt;
        use kube::runtime::{WatchStreamExt, watcher};
        let stream = watcher(
            projects.clone(),
            watcher::Config::default().fields(&format!("metadata.name={name}")),
        )
        .applied_objects();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Ok(Some(project)) = stream.try_next().await {
                if project.status.and_then(|s| s.status) == Some(SupabaseStatus::GoingDown) {
                    return true;
                }
            }
            false
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    projects.delete(&name, &DeleteParams::default()).await?;
    wait_deleted(&projects, &name, TIMEOUT).await?;
    assert!(
        tokio::time::timeout(TIMEOUT, seen_going_down).await??,
        "GOING_DOWN was written"
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let statefulsets: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    for component in STATELESS_COMPONENTS {
        wait_deleted(&deployments, component, TIMEOUT).await?;
    }
    wait_deleted(&statefulsets, "db", TIMEOUT).await?;
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), &namespace);
    for claim in ["db-data", "storage-data"] {
        let claim = claims.get(claim).await?;
        assert!(claim.owner_references().is_empty());
        assert_eq!(
            claim.labels().get(LABEL_RETAINED).map(String::as_str),
            Some("true")
        );
    }

    // A new Project of the same ref adopts the volumes and the keys.
    let recreated = running.create_project(&name, "Retain").await?;
    wait_for_children(&client, &name).await?;
    for claim in ["db-data", "storage-data"] {
        let claim = wait_for(
            &claims,
            claim,
            |c: Option<&PersistentVolumeClaim>| {
                c.is_some_and(|c| {
                    c.owner_references()
                        .iter()
                        .any(|o| Some(&o.uid) == recreated.metadata.uid.as_ref())
                })
            },
            TIMEOUT,
        )
        .await?;
        assert!(!claim.labels().contains_key(LABEL_RETAINED));
    }
    assert_eq!(keys_secret(&client, &name).await?.data, original.data);
    Ok(())
}

/// A namespace as the facade makes one mid-create: labelled with its
/// project and, while unfinished, `supaplane.io/creating`.
async fn facade_namespace(
    client: &Client,
    project_ref: &str,
    run: &str,
    creating: bool,
) -> anyhow::Result<Namespace> {
    let mut labels = json!({
        supaplane_crds::constants::LABEL_PROJECT: project_ref,
        "supaplane.io/test-run": run,
    });
    if creating {
        labels[supaplane_crds::constants::LABEL_CREATING] = json!("true");
    }
    let namespace: Namespace = serde_json::from_value(json!({
        "metadata": {"name": project_namespace(project_ref), "labels": labels},
    }))?;
    Ok(Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &namespace)
        .await?)
}

#[tokio::test]
async fn the_sweep_collects_only_namespaces_of_creates_that_never_finished() -> anyhow::Result<()> {
    use supaplane_crds::constants::LABEL_CREATING;
    use supaplane_operator::orphans::{Swept, sweep};
    let cluster = TestCluster::start().await?;
    let client = cluster.client();
    let run = unique_name("sweep");
    let selector = format!("supaplane.io/test-run={run}");
    let namespaces: Api<Namespace> = Api::all(client.clone());

    // A crash after the namespace and before the Project...
    let abandoned = unique_name("abandoned");
    facade_namespace(&client, &abandoned, &run, true).await?;
    // ...a crash after the Project, before the label came off...
    let finished = unique_name("finished");
    facade_namespace(&client, &finished, &run, true).await?;
    let project = Project::test(&finished).unsaved().displayed_as("Finished");
    Api::<Project>::all(client.clone())
        .create(&PostParams::default(), &project)
        .await?;
    // ...and a namespace the Retain policy kept, with no Project.
    let retained = unique_name("retained");
    facade_namespace(&client, &retained, &run, false).await?;

    // Within the grace period nothing is deleted.
    let early = sweep(&client, Duration::from_secs(600), Some(&selector)).await?;
    assert_eq!(
        early,
        Swept {
            deleted: 0,
            completed: 1
        }
    );
    let label_of = |namespace: &Namespace| namespace.labels().get(LABEL_CREATING).cloned();
    assert_eq!(
        label_of(&namespaces.get(&project_namespace(&finished)).await?),
        None
    );

    let late = sweep(&client, Duration::ZERO, Some(&selector)).await?;
    assert_eq!(
        late,
        Swept {
            deleted: 1,
            completed: 0
        }
    );
    let gone = namespaces.get_opt(&project_namespace(&abandoned)).await?;
    assert!(
        gone.is_none_or(|n| n.metadata.deletion_timestamp.is_some()),
        "the abandoned namespace is being deleted"
    );
    for kept in [&finished, &retained] {
        let namespace = namespaces.get(&project_namespace(kept)).await?;
        assert!(
            namespace.metadata.deletion_timestamp.is_none(),
            "{kept} is kept"
        );
    }
    Ok(())
}

/// Every stateless Deployment of `name` exists and runs `replicas`, and the
/// database StatefulSet too.
async fn scaled_to(client: &Client, name: &str, replicas: i32) -> anyhow::Result<bool> {
    let namespace = project_namespace(name);
    let deployments = Api::<Deployment>::namespaced(client.clone(), &namespace)
        .list(&Default::default())
        .await?
        .items;
    let database = Api::<StatefulSet>::namespaced(client.clone(), &namespace)
        .get_opt("db")
        .await?;
    Ok(deployments.len() == STATELESS_COMPONENTS.len()
        && deployments
            .iter()
            .all(|d| d.spec.replicas == Some(replicas))
        && database.is_some_and(|db| db.spec.replicas == Some(replicas)))
}

#[tokio::test]
async fn an_operator_killed_mid_work_and_started_again_loses_and_duplicates_nothing()
-> anyhow::Result<()> {
    let mut running = start().await?;
    let client = running.cluster.client();
    let names: Vec<String> = (0..4).map(|_| unique_name("p")).collect();
    // Killed while creating four projects...
    for name in &names {
        running.create_project(name, "Delete").await?;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    running.controller.abort();
    running.controller = tokio::spawn(project_controller::run(running.context()));
    let mut keys = Vec::new();
    for name in &names {
        wait_for_children(&client, name).await?;
        keys.push(keys_secret(&client, name).await?.uid());
    }

    // ...and while pausing two and deleting one.
    let projects: Api<Project> = Api::all(client.clone());
    for name in &names[..2] {
        projects
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"paused": true}})),
            )
            .await?;
    }
    projects.delete(&names[3], &DeleteParams::default()).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    running.controller.abort();
    running.controller = tokio::spawn(project_controller::run(running.context()));

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let paused =
            scaled_to(&client, &names[0], 0).await? && scaled_to(&client, &names[1], 0).await?;
        let running_one = scaled_to(&client, &names[2], 1).await?;
        let deleted = projects.get_opt(&names[3]).await?.is_none();
        if paused && running_one && deleted {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never converged: paused {paused}, running {running_one}, deleted {deleted}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_deleted(
        &Api::<Namespace>::all(client.clone()),
        &project_namespace(&names[3]),
        Duration::from_secs(60),
    )
    .await?;
    // The same keys as before the kills: generated once, never again.
    for (name, uid) in names[..3].iter().zip(&keys) {
        let secrets: Api<Secret> = Api::namespaced(client.clone(), &project_namespace(name));
        assert_eq!(&secrets.get(KEYS_SECRET_NAME).await?.uid(), uid, "{name}");
        let listed = secrets.list(&Default::default()).await?.items;
        assert_eq!(
            listed
                .iter()
                .filter(|s| s.name_any() == KEYS_SECRET_NAME)
                .count(),
            1
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_restart_rolls_the_asked_workloads_and_shows_restarting_until_back() -> anyhow::Result<()>
{
    use supaplane_crds::constants::{ANNOTATION_RESTARTED_AT, RESTART_ANNOTATION_PREFIX};
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    running.create_project(&name, "Delete").await?;
    wait_for_children(&client, &name).await?;
    mark_all_ready(&running.cluster, &name).await?;
    let projects: Api<Project> = Api::all(client.clone());
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ActiveHealthy),
        TIMEOUT,
    )
    .await?;

    // What the facade writes for "restart the database".
    let asked = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    projects
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                format!("{RESTART_ANNOTATION_PREFIX}db"): asked}}})),
        )
        .await?;
    let namespace = project_namespace(&name);
    let database: Api<StatefulSet> = Api::namespaced(client.clone(), &namespace);
    let restarted = wait_for(
        &database,
        "db",
        |s: Option<&StatefulSet>| {
            s.and_then(|s| s.spec.template.metadata.as_ref())
                .and_then(|m| m.annotations.as_ref())
                .is_some_and(|a| a.get(ANNOTATION_RESTARTED_AT) == Some(&asked))
        },
        TIMEOUT,
    )
    .await?;
    assert!(
        restarted.metadata.generation > Some(1),
        "the template changed"
    );
    // Only the database rolls.
    let auth = Api::<Deployment>::namespaced(client.clone(), &namespace)
        .get("auth")
        .await?;
    assert!(
        auth.spec
            .template
            .metadata
            .and_then(|m| m.annotations)
            .is_none_or(|a| !a.contains_key(ANNOTATION_RESTARTED_AT))
    );
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::Restarting),
        TIMEOUT,
    )
    .await?;
    // The statefulset controller rolls the pod; then healthy again.
    running
        .cluster
        .mark_statefulset_ready(&namespace, "db")
        .await?;
    wait_for(
        &projects,
        &name,
        has_status(SupabaseStatus::ActiveHealthy),
        TIMEOUT,
    )
    .await?;
    Ok(())
}

/// The operator's client caps each connection's read buffer: a list page
/// and watch events many times that size still arrive whole and intact.
#[tokio::test]
async fn the_operators_client_reads_bodies_larger_than_its_read_buffer() -> anyhow::Result<()> {
    use futures::{StreamExt, TryStreamExt};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
    use kube::runtime::{WatchStreamExt, watcher};
    use supaplane_tests::harness::create_unique_namespace;

    let running = start().await?;
    let namespace = create_unique_namespace(&running.cluster.client(), "big-bodies").await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(running.operator.clone(), &namespace);
    let seen = tokio::spawn(
        watcher(config_maps.clone(), watcher::Config::default())
            .applied_objects()
            .try_filter(|config_map| {
                futures::future::ready(config_map.name_any().starts_with("big-"))
            })
            .take(3)
            .try_collect::<Vec<ConfigMap>>(),
    );

    // Distinct, position-dependent content, so a dropped or reordered chunk
    // cannot compare equal.
    let value_of = |index: usize| -> String {
        (0..api_client::READ_BUFFER_LIMIT * 5)
            .map(|at| char::from(b'a' + ((at / 7 + index * 3) % 26) as u8))
            .collect()
    };
    for index in 0..3 {
        config_maps
            .create(
                &PostParams::default(),
                &ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(format!("big-{index}")),
                        ..Default::default()
                    },
                    data: Some([("value".to_string(), value_of(index))].into()),
                    ..Default::default()
                },
            )
            .await?;
    }

    let value = |config_map: &ConfigMap| {
        config_map
            .data
            .as_ref()
            .and_then(|data| data.get("value"))
            .cloned()
    };
    let listed = config_maps.list(&Default::default()).await?;
    let mut listed: Vec<_> = listed
        .items
        .iter()
        .filter(|config_map| config_map.name_any().starts_with("big-"))
        .map(|config_map| (config_map.name_any(), value(config_map)))
        .collect();
    listed.sort();
    let expected: Vec<_> = (0..3)
        .map(|index| (format!("big-{index}"), Some(value_of(index))))
        .collect();
    assert_eq!(listed, expected, "the list page arrived whole");

    let mut watched: Vec<_> = tokio::time::timeout(TIMEOUT, seen)
        .await
        .context("the watch saw the three ConfigMaps")???
        .iter()
        .map(|config_map| (config_map.name_any(), value(config_map)))
        .collect();
    watched.sort();
    assert_eq!(watched, expected, "the watch events arrived whole");

    Api::<Namespace>::all(running.cluster.client())
        .delete(&namespace, &DeleteParams::default())
        .await?;
    Ok(())
}
