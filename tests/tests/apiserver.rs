//! The test API server's behaviour, driven through kube-rs only: with
//! SUPAPLANE_TEST_KUBECONFIG set, the same tests run against a real cluster,
//! which is how we keep the test server honest.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::api::{
    DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use serde_json::json;
use supaplane_tests::harness::{TestCluster, unique_name, wait_deleted, wait_for};

const TIMEOUT: Duration = Duration::from_secs(20);

async fn namespace(client: &Client) -> anyhow::Result<String> {
    let name = unique_name("t");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await?;
    Ok(name)
}

fn config_map(name: &str, data: &[(&str, &str)]) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ),
        ..Default::default()
    }
}

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn crud_round_trip_with_server_set_metadata() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);

    let created = api
        .create(
            &PostParams::default(),
            &config_map("settings", &[("a", "1")]),
        )
        .await?;
    assert!(created.metadata.uid.is_some(), "uid is stamped");
    assert!(
        created.metadata.creation_timestamp.is_some(),
        "creationTimestamp is stamped"
    );
    let first_version = created.resource_version().expect("resourceVersion");

    let fetched = api.get("settings").await?;
    assert_eq!(fetched.data, created.data);

    let mut changed = fetched.clone();
    changed.data = Some([("a".to_string(), "2".to_string())].into());
    let replaced = api
        .replace("settings", &PostParams::default(), &changed)
        .await?;
    let second_version = replaced.resource_version().expect("resourceVersion");
    assert!(
        second_version.parse::<u64>()? > first_version.parse::<u64>()?,
        "resourceVersion increases"
    );
    assert_eq!(replaced.metadata.uid, created.metadata.uid);

    let listed = api.list(&ListParams::default()).await?;
    assert_eq!(listed.items.len(), 1);
    assert!(listed.metadata.resource_version.is_some());

    let duplicate = api_error(
        api.create(&PostParams::default(), &config_map("settings", &[]))
            .await,
    );
    assert_eq!(
        (duplicate.code, duplicate.reason.as_str()),
        (409, "AlreadyExists")
    );

    api.delete("settings", &DeleteParams::default()).await?;
    let missing = api_error(api.get("settings").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "configmaps \"settings\" not found");
    Ok(())
}

#[tokio::test]
async fn stale_replace_is_a_conflict() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let original = api
        .create(&PostParams::default(), &config_map("cm", &[("k", "v1")]))
        .await?;

    let mut first = original.clone();
    first.data = Some([("k".to_string(), "v2".to_string())].into());
    api.replace("cm", &PostParams::default(), &first).await?;

    let mut stale = original.clone();
    stale.data = Some([("k".to_string(), "v3".to_string())].into());
    let conflict = api_error(api.replace("cm", &PostParams::default(), &stale).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(
        conflict.message.contains("the object has been modified"),
        "{}",
        conflict.message
    );
    assert_eq!(
        api.get("cm").await?.data.unwrap()["k"],
        "v2",
        "the stale write changed nothing"
    );
    Ok(())
}

#[tokio::test]
async fn list_filters_by_label_and_field_selectors() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    for (name, tier) in [("a", "web"), ("b", "db"), ("c", "db")] {
        let mut cm = config_map(name, &[]);
        cm.metadata.labels = Some([("tier".to_string(), tier.to_string())].into());
        api.create(&PostParams::default(), &cm).await?;
    }
    let names = |list: kube::core::ObjectList<ConfigMap>| {
        list.items.iter().map(|c| c.name_any()).collect::<Vec<_>>()
    };
    assert_eq!(
        names(api.list(&ListParams::default().labels("tier=db")).await?),
        ["b", "c"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().labels("tier in (web),!missing"))
                .await?
        ),
        ["a"]
    );
    assert_eq!(
        names(
            api.list(&ListParams::default().fields("metadata.name=c"))
                .await?
        ),
        ["c"]
    );
    assert_eq!(
        names(
            api.list(
                &ListParams::default()
                    .labels("tier!=db")
                    .fields("metadata.name!=b")
            )
            .await?
        ),
        ["a"]
    );

    // Pages are served from one consistent snapshot.
    let first = api.list(&ListParams::default().limit(2)).await?;
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("a continue token");
    api.create(&PostParams::default(), &config_map("d", &[]))
        .await?;
    let second = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await?;
    assert_eq!(
        names(second),
        ["c"],
        "the object created between pages is not in this list"
    );

    let bad = api_error(api.list(&ListParams::default().fields("data.x=1")).await);
    assert_eq!(bad.code, 400);
    Ok(())
}

#[tokio::test]
async fn merge_and_json_patches() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    api.create(
        &PostParams::default(),
        &config_map("cm", &[("keep", "1"), ("drop", "2")]),
    )
    .await?;

    let merged = api
        .patch(
            "cm",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"drop": null, "new": "3"}})),
        )
        .await?;
    let data = merged.data.expect("data");
    assert_eq!(data.keys().collect::<Vec<_>>(), ["keep", "new"]);

    let operations: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/keep", "value": "1"},
        {"op": "replace", "path": "/data/keep", "value": "one"},
    ]))?;
    let patched = api
        .patch(
            "cm",
            &PatchParams::default(),
            &Patch::<()>::Json(operations),
        )
        .await?;
    assert_eq!(patched.data.expect("data")["keep"], "one");

    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/keep", "value": "nope"}]))?;
    let refused = api_error(
        api.patch("cm", &PatchParams::default(), &Patch::<()>::Json(failing))
            .await,
    );
    assert_eq!(refused.code, 422);
    Ok(())
}

#[tokio::test]
async fn server_side_apply_creates_merges_by_manager_and_forces() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let intent = |data: serde_json::Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shared"}, "data": data});

    // Apply creates the object when it is absent.
    let created = api
        .patch(
            "shared",
            &PatchParams::apply("alpha"),
            &Patch::Apply(intent(json!({"a": "1", "b": "1"}))),
        )
        .await?;
    assert_eq!(created.data.as_ref().expect("data").len(), 2);
    let managers: Vec<_> = created
        .managed_fields()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(managers, ["alpha"]);

    // A second manager adds its own field; both managers' fields stay.
    let merged = api
        .patch(
            "shared",
            &PatchParams::apply("beta"),
            &Patch::Apply(intent(json!({"c": "2"}))),
        )
        .await?;
    assert_eq!(
        merged
            .data
            .as_ref()
            .expect("data")
            .keys()
            .collect::<Vec<_>>(),
        ["a", "b", "c"]
    );

    // Changing a field another manager owns is a conflict...
    let conflict = api_error(
        api.patch(
            "shared",
            &PatchParams::apply("beta"),
            &Patch::Apply(intent(json!({"a": "9", "c": "2"}))),
        )
        .await,
    );
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert!(
        conflict.message.contains("conflict with \"alpha\""),
        "{}",
        conflict.message
    );

    // ...unless forced, which moves ownership.
    let forced = api
        .patch(
            "shared",
            &PatchParams::apply("beta").force(),
            &Patch::Apply(intent(json!({"a": "9", "c": "2"}))),
        )
        .await?;
    assert_eq!(forced.data.as_ref().expect("data")["a"], "9");

    // alpha dropping "b" from its intent removes it; "a" is beta's now and stays.
    let after = api
        .patch(
            "shared",
            &PatchParams::apply("alpha"),
            &Patch::Apply(intent(json!({}))),
        )
        .await?;
    assert_eq!(
        after.data.expect("data").keys().collect::<Vec<_>>(),
        ["a", "c"]
    );

    // Re-applying the same intent writes nothing new.
    let before = api.get("shared").await?.resource_version();
    let again = api
        .patch(
            "shared",
            &PatchParams::apply("beta"),
            &Patch::Apply(intent(json!({"a": "9", "c": "2"}))),
        )
        .await?;
    assert_eq!(
        again.resource_version(),
        before,
        "an unchanged apply is a no-op"
    );
    Ok(())
}

#[tokio::test]
async fn status_subresource_separates_spec_and_status() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<Deployment> = Api::namespaced(client, &ns);
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
        },
        "status": {"replicas": 7},
    }))?;
    let created = api.create(&PostParams::default(), &deployment).await?;
    assert_eq!(created.metadata.generation, Some(1));
    assert!(
        created.status.as_ref().and_then(|s| s.replicas).is_none(),
        "status is not set on create"
    );

    // A main-resource write changes spec (bumping generation) but not status.
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}, "status": {"replicas": 9}})),
        )
        .await?;
    assert_eq!(patched.metadata.generation, Some(2));
    assert!(patched.status.as_ref().and_then(|s| s.replicas).is_none());

    // A status write changes status only, and not the generation.
    let status = api
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}, "status": {"replicas": 3}})),
        )
        .await?;
    assert_eq!(status.status.and_then(|s| s.replicas), Some(3));
    assert_eq!(status.spec.replicas, Some(3));
    assert_eq!(status.metadata.generation, Some(2));

    // Metadata-only changes do not bump the generation.
    let labelled = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await?;
    assert_eq!(labelled.metadata.generation, Some(2));
    Ok(())
}

#[tokio::test]
async fn watch_streams_events_from_a_resource_version() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let start = api
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .expect("list resourceVersion");

    api.create(&PostParams::default(), &config_map("w", &[("v", "1")]))
        .await?;
    api.patch(
        "w",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"v": "2"}})),
    )
    .await?;
    api.delete("w", &DeleteParams::default()).await?;

    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &start)
        .await?
        .boxed();
    let mut seen = Vec::new();
    while seen.len() < 3 {
        match tokio::time::timeout(TIMEOUT, stream.try_next()).await?? {
            Some(WatchEvent::Added(cm)) => {
                seen.push(("ADDED", cm.data.unwrap_or_default().get("v").cloned()))
            }
            Some(WatchEvent::Modified(cm)) => {
                seen.push(("MODIFIED", cm.data.unwrap_or_default().get("v").cloned()))
            }
            Some(WatchEvent::Deleted(cm)) => {
                seen.push(("DELETED", cm.data.unwrap_or_default().get("v").cloned()))
            }
            Some(WatchEvent::Bookmark(_)) => {}
            Some(WatchEvent::Error(error)) => panic!("watch error: {error:?}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        [
            ("ADDED", Some("1".to_string())),
            ("MODIFIED", Some("2".to_string())),
            ("DELETED", Some("2".to_string()))
        ]
    );

    // Bookmarks carry a resourceVersion to resume from.
    let mut stream = api
        .watch(&WatchParams::default().timeout(30), "0")
        .await?
        .boxed();
    let bookmark = tokio::time::timeout(TIMEOUT, async {
        while let Some(event) = stream.try_next().await? {
            if let WatchEvent::Bookmark(bookmark) = event {
                return Ok::<_, kube::Error>(Some(bookmark));
            }
        }
        Ok(None)
    })
    .await??;
    assert!(bookmark.is_some_and(|b| !b.metadata.resource_version.is_empty()));
    Ok(())
}

#[tokio::test]
async fn kube_runtime_watcher_sees_changes_and_selector_transitions() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let mut labelled = config_map("tracked", &[]);
    labelled.metadata.labels = Some([("watch".to_string(), "me".to_string())].into());
    api.create(&PostParams::default(), &labelled).await?;

    let mut events = watcher(api.clone(), watcher::Config::default().labels("watch=me")).boxed();
    let mut next = async || -> anyhow::Result<watcher::Event<ConfigMap>> {
        Ok(tokio::time::timeout(TIMEOUT, events.try_next())
            .await??
            .expect("the watcher stream ended"))
    };
    assert!(matches!(next().await?, watcher::Event::Init));
    assert!(matches!(next().await?, watcher::Event::InitApply(cm) if cm.name_any() == "tracked"));
    assert!(matches!(next().await?, watcher::Event::InitDone));

    api.patch(
        "tracked",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await?;
    assert!(matches!(next().await?, watcher::Event::Apply(cm) if cm.data.is_some()));

    // Losing the label takes the object out of the selector: a delete event.
    api.patch(
        "tracked",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"watch": null}}})),
    )
    .await?;
    assert!(matches!(next().await?, watcher::Event::Delete(cm) if cm.name_any() == "tracked"));
    Ok(())
}

#[tokio::test]
async fn finalizer_holds_deletion_until_removed() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let mut held = config_map("held", &[]);
    held.metadata.finalizers = Some(vec!["supaplane.io/test".to_string()]);
    api.create(&PostParams::default(), &held).await?;

    api.delete("held", &DeleteParams::default()).await?;
    let terminating = api.get("held").await?;
    assert!(
        terminating.metadata.deletion_timestamp.is_some(),
        "marked for deletion, not removed"
    );

    let refused = api_error(
        api.patch(
            "held",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["supaplane.io/test", "another"]}})),
        )
        .await,
    );
    assert_eq!(
        refused.code, 422,
        "no finalizer may be added to an object being deleted"
    );

    api.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    wait_deleted(&api, "held", TIMEOUT).await?;
    Ok(())
}

#[tokio::test]
async fn owned_objects_are_garbage_collected() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let secrets: Api<Secret> = Api::namespaced(client, &ns);
    let owner = config_maps
        .create(&PostParams::default(), &config_map("owner", &[]))
        .await?;
    let owner_reference = owner.controller_owner_ref(&()).expect("owner reference");

    let owned = Secret {
        metadata: ObjectMeta {
            name: Some("owned".into()),
            owner_references: Some(vec![owner_reference]),
            ..Default::default()
        },
        string_data: Some([("password".to_string(), "s3cret".to_string())].into()),
        ..Default::default()
    };
    let stored = secrets.create(&PostParams::default(), &owned).await?;
    assert_eq!(
        stored.data.expect("stringData is folded into data")["password"].0,
        b"s3cret"
    );

    config_maps
        .delete("owner", &DeleteParams::background())
        .await?;
    wait_deleted(&secrets, "owned", TIMEOUT).await?;
    Ok(())
}

#[tokio::test]
async fn foreground_deletion_waits_for_dependents() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    let owner = api
        .create(&PostParams::default(), &config_map("owner", &[]))
        .await?;
    let mut dependent = config_map("dependent", &[]);
    dependent.metadata.owner_references = owner.controller_owner_ref(&()).map(|mut r| {
        r.block_owner_deletion = Some(true);
        vec![r]
    });
    dependent.metadata.finalizers = Some(vec!["supaplane.io/hold".to_string()]);
    api.create(&PostParams::default(), &dependent).await?;

    api.delete("owner", &DeleteParams::foreground()).await?;
    wait_for(
        &api,
        "dependent",
        |cm: Option<&ConfigMap>| cm.is_some_and(|c| c.metadata.deletion_timestamp.is_some()),
        TIMEOUT,
    )
    .await?;
    assert!(
        api.get("owner")
            .await?
            .metadata
            .deletion_timestamp
            .is_some(),
        "the owner waits for its dependent"
    );

    api.patch(
        "dependent",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await?;
    wait_deleted(&api, "owner", TIMEOUT).await?;
    Ok(())
}

#[tokio::test]
async fn deleting_a_namespace_removes_what_it_holds() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    config_maps
        .create(&PostParams::default(), &config_map("inside", &[]))
        .await?;
    let namespaces: Api<Namespace> = Api::all(client.clone());

    namespaces.delete(&ns, &DeleteParams::default()).await?;
    let refused = api_error(
        config_maps
            .create(&PostParams::default(), &config_map("late", &[]))
            .await,
    );
    assert_eq!(
        (refused.code, refused.reason.as_str()),
        (403, "Forbidden"),
        "{}",
        refused.message
    );

    wait_deleted(&namespaces, &ns, TIMEOUT).await?;
    let missing = api_error(config_maps.get("inside").await);
    assert_eq!(missing.code, 404);
    Ok(())
}

#[tokio::test]
async fn creating_in_a_missing_namespace_is_not_found() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), &unique_name("absent"));
    let missing = api_error(
        api.create(&PostParams::default(), &config_map("x", &[]))
            .await,
    );
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    Ok(())
}

#[tokio::test]
async fn workloads_can_be_marked_ready() -> anyhow::Result<()> {
    use k8s_openapi::api::apps::v1::StatefulSet;
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let template = json!({"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db", "image": "postgres"}]}});
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    deployments
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "api"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "db"}}, "template": template},
        }))?)
        .await?;
    let statefulsets: Api<StatefulSet> = Api::namespaced(client, &ns);
    statefulsets
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "metadata": {"name": "db"},
            "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}}, "template": template},
        }))?)
        .await?;

    let deployment = cluster.mark_deployment_ready(&ns, "api").await?;
    let status = deployment.status.expect("status");
    assert_eq!(
        (status.ready_replicas, status.available_replicas),
        (Some(2), Some(2))
    );
    assert_eq!(status.observed_generation, deployment.metadata.generation);

    let statefulset = cluster.mark_statefulset_ready(&ns, "db").await?;
    let status = statefulset.status.expect("status");
    assert_eq!(status.ready_replicas, Some(1), "replicas default to 1");
    assert_eq!(status.observed_generation, statefulset.metadata.generation);
    Ok(())
}

#[tokio::test]
async fn invalid_built_in_objects_are_refused() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let mismatched: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "bad"},
        "spec": {
            "selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        },
    }))?;
    let refused = api_error(
        deployments
            .create(&PostParams::default(), &mismatched)
            .await,
    );
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert!(
        refused
            .message
            .contains("selector` does not match template `labels`"),
        "{}",
        refused.message
    );

    let config_maps: Api<ConfigMap> = Api::namespaced(client, &ns);
    let refused = api_error(
        config_maps
            .create(&PostParams::default(), &config_map("Not_Valid", &[]))
            .await,
    );
    assert_eq!(refused.code, 422);
    assert_eq!(
        refused.details.expect("details").causes[0].field,
        "metadata.name"
    );
    Ok(())
}

#[tokio::test]
async fn streaming_list_watches_send_initial_events_then_changes() -> anyhow::Result<()> {
    let cluster = TestCluster::start_without_crds().await?;
    let client = cluster.client();
    let ns = namespace(&client).await?;
    let api: Api<ConfigMap> = Api::namespaced(client, &ns);
    api.create(&PostParams::default(), &config_map("first", &[]))
        .await?;

    let mut events = watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut next = async || -> anyhow::Result<watcher::Event<ConfigMap>> {
        Ok(tokio::time::timeout(TIMEOUT, events.try_next())
            .await??
            .expect("the watcher stream ended"))
    };
    assert!(matches!(next().await?, watcher::Event::Init));
    assert!(matches!(next().await?, watcher::Event::InitApply(cm) if cm.name_any() == "first"));
    assert!(
        matches!(next().await?, watcher::Event::InitDone),
        "the initial-events-end bookmark ends the list"
    );

    api.create(&PostParams::default(), &config_map("second", &[]))
        .await?;
    assert!(matches!(next().await?, watcher::Event::Apply(cm) if cm.name_any() == "second"));
    Ok(())
}
