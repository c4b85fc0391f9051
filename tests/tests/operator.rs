//! The operator's Project controller, running in-process against the test
//! API server (or a real cluster), driven through the resources only.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::constants::{KEYS_SECRET_NAME, LABEL_RETAINED, project_namespace};
use supaplane_crds::{Project, SupabaseStatus, conditions};
use supaplane_operator::project_controller::{self, Context};
use supaplane_tests::harness::{TestCluster, unique_name, wait_deleted, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);

struct Running {
    cluster: TestCluster,
    controller: tokio::task::JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.controller.abort();
    }
}

async fn start() -> anyhow::Result<Running> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let cluster = TestCluster::start().await?;
    let context = Arc::new(Context {
        client: cluster.client(),
        metrics: Default::default(),
        trusted_namespaces: vec!["ingress-nginx".to_string()],
    });
    let controller = tokio::spawn(project_controller::run(context));
    Ok(Running {
        cluster,
        controller,
    })
}

async fn create_project(
    client: &Client,
    name: &str,
    deletion_policy: &str,
) -> anyhow::Result<Project> {
    let projects: Api<Project> = Api::all(client.clone());
    let project: Project = serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": name},
        "spec": {"organization": "acme", "displayName": "Shop", "deletionPolicy": deletion_policy},
    }))?;
    Ok(projects.create(&PostParams::default(), &project).await?)
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
    let created = create_project(&client, &name, "Delete").await?;

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
    create_project(&client, &name, "Delete").await?;
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
async fn delete_policy_removes_the_namespace() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    create_project(&client, &name, "Delete").await?;
    keys_secret(&client, &name).await?;

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
    create_project(&client, &name, "Retain").await?;
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

    let recreated = create_project(&client, &name, "Retain").await?;
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
    create_project(&client, &name, "Delete").await?;
    let projects: Api<Project> = Api::all(client.clone());
    wait_for(&projects, &name, coming_up_with_secrets, TIMEOUT).await?;
    let Some(server) = running.cluster.test_server() else {
        return Ok(()); // requests are only counted by the test API server
    };
    // Let the reconciles the status write triggered settle.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let writes_before = server.counters().writes();
    let reads_before = server.counters().count("get");

    // A restarted controller lists and reconciles every Project again.
    running.controller.abort();
    running.controller = tokio::spawn(project_controller::run(Arc::new(Context {
        client: client.clone(),
        metrics: Default::default(),
        trusted_namespaces: vec!["ingress-nginx".to_string()],
    })));
    tokio::time::timeout(TIMEOUT, async {
        while server.counters().count("get") < reads_before + 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.counters().writes(),
        writes_before,
        "the resync sent write requests"
    );
    Ok(())
}

#[tokio::test]
async fn a_hand_edited_child_is_restored() -> anyhow::Result<()> {
    let running = start().await?;
    let client = running.cluster.client();
    let name = unique_name("p");
    create_project(&client, &name, "Delete").await?;
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
    create_project(&client, &first, "Delete").await?;
    let other: Project = serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project", "metadata": {"name": second},
        "spec": {"organization": "globex", "displayName": "Other", "instanceSize": "large"},
    }))?;
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
    assert_eq!(
        hard["limits.memory"].0, "10Gi",
        "sized from instanceSize: large"
    );
    Ok(())
}
