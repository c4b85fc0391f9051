//! The chart's RBAC grants exactly what the code uses. The operator and the
//! facade run here as their chart service accounts (by impersonation), with
//! the chart's RBAC objects installed, so kube-apiserver's own RBAC
//! authorizer decides every request. Its audit log then shows each request
//! they made: none may have been refused, each must be allowed by a rule
//! the chart renders, and each granted verb must have been used.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use axum::http::{Method, StatusCode};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use supaplane_crds::constants::project_namespace;
use supaplane_crds::{Organization, Project, SupabaseStatus};
use supaplane_operator::leader::LeaderElector;
use supaplane_operator::render::facade_access::FacadeAccess;
use supaplane_operator::render::stack::{STATELESS_COMPONENTS, StackSettings};
use supaplane_operator::{organization_controller, project_controller};
use supaplane_tests::chart::{RELEASE_NAMESPACE, install_rbac, render};
use supaplane_tests::controlplane::AuditEvent;
use supaplane_tests::facade::{TestFacade, User};
use supaplane_tests::harness::{TestCluster, unique_name, wait_deleted, wait_for};

/// Backups are checked as the operator's account in `backups.rs`: their
/// schedule takes a minute to fire.
const BACKUPS_TEST: &str = "used in backups.rs, which checks them as this service account";
const TIMEOUT: Duration = Duration::from_secs(30);

/// One kind of request as RBAC authorizes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct RbacRequest {
    verb: String,
    group: String,
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
}

/// What `user` asked of the API server, as RBAC sees it. A
/// server-side apply that created its object was authorized as `create` as
/// well as `patch`; a request the server refused fails here, with its answer.
fn requests_of(cluster: &TestCluster, user: &str) -> anyhow::Result<Vec<RbacRequest>> {
    let audit = cluster
        .audit()
        .context("the audit log of our control plane")?;
    let mut requests = BTreeSet::new();
    for event in audit.all()?.iter().filter(|e| e.acting_user() == user) {
        if event.object_ref.is_none() {
            continue; // discovery and health: not resources
        }
        assert!(
            event.code() != 403,
            "{user} was refused {} {} (RBAC)",
            event.verb,
            event.request_uri
        );
        let object = event.object();
        let request = |verb: &str| RbacRequest {
            verb: verb.to_string(),
            group: object.api_group.clone(),
            resource: event.resource(),
            namespace: Some(object.namespace.clone()).filter(|n| !n.is_empty()),
            name: Some(object.name.clone()).filter(|n| !n.is_empty()),
        };
        requests.insert(request(&event.verb));
        if applied_a_create(event) {
            requests.insert(request("create"));
        }
    }
    Ok(requests.into_iter().collect())
}

fn applied_a_create(event: &AuditEvent) -> bool {
    event.verb == "patch" && event.code() == 201
}

/// A rule as RBAC states it, and where it applies.
#[derive(Debug)]
struct Rule {
    groups: Vec<String>,
    resources: Vec<String>,
    verbs: Vec<String>,
    names: Vec<String>,
    /// None for a ClusterRole; the namespace of a Role.
    namespace: Option<String>,
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The rules bound to `service_account` in the chart rendered by Helm.
fn chart_rules(service_account: &str, namespace_of_roles: &str) -> anyhow::Result<Vec<Rule>> {
    let objects = render(&[])?.map_err(anyhow::Error::msg)?;
    let mut rules = Vec::new();
    for binding in objects
        .iter()
        .filter(|o| o["kind"] == "ClusterRoleBinding" || o["kind"] == "RoleBinding")
    {
        let bound = binding["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|s| s["kind"] == "ServiceAccount" && s["name"] == service_account);
        if !bound {
            continue;
        }
        let role_kind = binding["roleRef"]["kind"].as_str().unwrap_or_default();
        let role = objects
            .iter()
            .find(|o| o["kind"] == role_kind && o["metadata"]["name"] == binding["roleRef"]["name"])
            .expect("bound role is rendered");
        for rule in role["rules"].as_array().into_iter().flatten() {
            rules.push(Rule {
                groups: strings(&rule["apiGroups"]),
                resources: strings(&rule["resources"]),
                verbs: strings(&rule["verbs"]),
                names: strings(&rule["resourceNames"]),
                namespace: (role_kind == "Role").then(|| namespace_of_roles.to_string()),
            });
        }
    }
    Ok(rules)
}

/// A rendered ClusterRole's rules, as bound by a RoleBinding in `namespace`.
fn cluster_role_rules(name: &str, namespace: &str) -> anyhow::Result<Vec<Rule>> {
    let objects = render(&[])?.map_err(anyhow::Error::msg)?;
    let role = objects
        .iter()
        .find(|o| o["kind"] == "ClusterRole" && o["metadata"]["name"] == name)
        .ok_or_else(|| anyhow::anyhow!("the chart renders no ClusterRole {name}"))?;
    Ok(role["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| Rule {
            groups: strings(&rule["apiGroups"]),
            resources: strings(&rule["resources"]),
            verbs: strings(&rule["verbs"]),
            names: strings(&rule["resourceNames"]),
            namespace: Some(namespace.to_string()),
        })
        .collect())
}

fn allows(rule: &Rule, request: &RbacRequest) -> bool {
    rule.groups.contains(&request.group)
        && rule.resources.contains(&request.resource)
        && rule.verbs.contains(&request.verb)
        && (rule.names.is_empty()
            || request
                .name
                .as_ref()
                .is_some_and(|n| rule.names.contains(n)))
        && rule
            .namespace
            .as_ref()
            .is_none_or(|ns| request.namespace.as_ref() == Some(ns))
}

/// Every request is allowed; every granted (group, resource, verb) is used,
/// but for the ones `unexercised` names with the reason they are needed.
fn assert_exact(
    who: &str,
    rules: &[Rule],
    used: &[RbacRequest],
    unexercised: &[(&str, &str, &str, &str)],
) {
    for request in used {
        assert!(
            rules.iter().any(|rule| allows(rule, request)),
            "{who} needs a rule for {request:?}"
        );
    }
    let mut granted = BTreeSet::new();
    for rule in rules {
        for group in &rule.groups {
            for resource in &rule.resources {
                for verb in &rule.verbs {
                    granted.insert((group.clone(), resource.clone(), verb.clone()));
                }
            }
        }
    }
    let mut unused = Vec::new();
    for (group, resource, verb) in granted {
        let exercised = used
            .iter()
            .any(|r| r.group == group && r.resource == resource && r.verb == verb);
        let explained = unexercised
            .iter()
            .any(|(g, r, v, _)| *g == group && *r == resource && *v == verb);
        if !exercised && !explained {
            unused.push(format!("{verb} {group}/{resource}"));
        }
        assert!(
            !(exercised && explained),
            "{verb} on {group}/{resource} is listed as unexercised but {who} uses it"
        );
    }
    assert!(
        unused.is_empty(),
        "{who} is granted but never uses: {unused:?}"
    );
}

fn has_status(wanted: SupabaseStatus) -> impl Fn(Option<&Project>) -> bool {
    move |p| p.and_then(|p| p.status.as_ref()).and_then(|s| s.status) == Some(wanted)
}

#[tokio::test]
async fn the_operator_uses_exactly_what_the_chart_grants() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let cluster = TestCluster::start().await?;
    anyhow::ensure!(
        cluster.audit().is_some(),
        "runs on our control plane, whose audit log it reads"
    );
    let admin = cluster.client();
    let user = format!("system:serviceaccount:{RELEASE_NAMESPACE}:supaplane-operator");
    install_rbac(&cluster, RELEASE_NAMESPACE).await?;
    let operator = cluster.client_impersonating(&user).await?;
    let run_id = unique_name("run");
    let selector = format!("supaplane.io/test-run={run_id}");

    // Leader election, then both controllers, as the binary runs them.
    let elector = LeaderElector::new(
        operator.clone(),
        RELEASE_NAMESPACE,
        "supaplane-operator",
        "rbac-test",
        Duration::from_secs(15),
    );
    assert!(elector.try_acquire_or_renew().await?);
    assert!(elector.try_acquire_or_renew().await?);
    // As the chart configures it: the facade may read each project's logs.
    let settings = StackSettings {
        facade_access: FacadeAccess::from_settings(
            Some(&format!("{RELEASE_NAMESPACE}/supaplane-facade")),
            Some("supaplane-facade-logs"),
        ),
        ..Default::default()
    };
    let context = |children| {
        Arc::new(project_controller::Context {
            client: operator.clone(),
            metrics: Default::default(),
            settings: settings.clone(),
            selector: Some(selector.clone()),
            children,
        })
    };
    let projects_task = tokio::spawn(project_controller::run(context(Default::default())));
    let organizations_task = tokio::spawn(organization_controller::run(Arc::new(
        organization_controller::Context {
            client: operator.clone(),
            metrics: Default::default(),
            selector: Some(selector.clone()),
            projects: Default::default(),
        },
    )));

    // A whole life: organization, two projects, ready, paused, restored, a
    // component disabled, deleted with each policy, organization deleted.
    let organizations: Api<Organization> = Api::all(admin.clone());
    let slug = unique_name("org");
    organizations
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization",
            "metadata": {"name": slug, "labels": {"supaplane.io/test-run": run_id}},
            "spec": {"displayName": "Acme", "members": [{"userId": "u", "email": "u@example.com", "role": "Owner"}]},
        }))?)
        .await?;
    let projects: Api<Project> = Api::all(admin.clone());
    let mut names = Vec::new();
    for policy in ["Delete", "Retain"] {
        let name = unique_name("p");
        projects
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
                    "metadata": {"name": name, "labels": {"supaplane.io/test-run": run_id}},
                    "spec": {"organization": slug, "displayName": "P", "deletionPolicy": policy},
                }))?,
            )
            .await?;
        names.push(name);
    }
    for name in &names {
        let namespace = project_namespace(name);
        let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &namespace);
        let mut listed = Vec::new();
        for _ in 0..300 {
            listed = deployments.list(&Default::default()).await?.items;
            if listed.len() == STATELESS_COMPONENTS.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for deployment in listed {
            cluster
                .mark_deployment_ready(&namespace, &deployment.name_any())
                .await?;
        }
        cluster.mark_statefulset_ready(&namespace, "db").await?;
        wait_for(
            &projects,
            name,
            has_status(SupabaseStatus::ActiveHealthy),
            TIMEOUT,
        )
        .await?;
    }
    let first = &names[0];
    let merge = |spec: Value| Patch::Merge(json!({ "spec": spec }));
    projects
        .patch(
            first,
            &PatchParams::default(),
            &merge(json!({"paused": true})),
        )
        .await?;
    wait_for(
        &projects,
        first,
        has_status(SupabaseStatus::Pausing),
        TIMEOUT,
    )
    .await?;
    // The workload controllers report the scale-down.
    let namespace = project_namespace(first);
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &namespace);
    for deployment in deployments.list(&Default::default()).await?.items {
        cluster
            .mark_deployment_ready(&namespace, &deployment.name_any())
            .await?;
    }
    cluster.mark_statefulset_ready(&namespace, "db").await?;
    wait_for(
        &projects,
        first,
        has_status(SupabaseStatus::Inactive),
        TIMEOUT,
    )
    .await?;
    projects
        .patch(
            first,
            &PatchParams::default(),
            &merge(json!({"paused": false, "components": {"imgproxy": {"enabled": false}, "gateway": {"enabled": false}}})),
        )
        .await?;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &project_namespace(first));
    wait_deleted(&deployments, "gateway", TIMEOUT).await?;
    // An operator just started, its watches not listed yet, reads each
    // child before deciding: its memo cannot vouch for any.
    for name in &names {
        project_controller::reconcile(
            Arc::new(projects.get(name).await?),
            context(Default::default()),
        )
        .await?;
    }
    for name in &names {
        projects.delete(name, &DeleteParams::default()).await?;
        wait_deleted(&projects, name, TIMEOUT).await?;
    }
    organizations
        .delete(&slug, &DeleteParams::default())
        .await?;
    wait_deleted(&organizations, &slug, TIMEOUT).await?;
    projects_task.abort();
    organizations_task.abort();

    let rules = chart_rules("supaplane-operator", RELEASE_NAMESPACE)?;
    assert_exact(
        "the operator",
        &rules,
        &requests_of(&cluster, &user)?,
        &[
            (
                "events.k8s.io",
                "events",
                "patch",
                "a repeated Event is patched into a series",
            ),
            ("supaplane.io", "backups", "get", BACKUPS_TEST),
            ("supaplane.io", "backups", "watch", BACKUPS_TEST),
            ("supaplane.io", "backups", "create", BACKUPS_TEST),
            ("supaplane.io", "backups", "delete", BACKUPS_TEST),
            ("supaplane.io", "backups/status", "patch", BACKUPS_TEST),
            ("batch", "jobs", "get", BACKUPS_TEST),
            ("batch", "jobs", "create", BACKUPS_TEST),
            ("batch", "jobs", "patch", BACKUPS_TEST),
            ("", "pods", "list", BACKUPS_TEST),
            ("supaplane.io", "restores", "list", BACKUPS_TEST),
            ("supaplane.io", "restores", "watch", BACKUPS_TEST),
            ("supaplane.io", "restores/status", "patch", BACKUPS_TEST),
            ("supaplane.io", "restores", "create", BACKUPS_TEST),
            (
                "networking.k8s.io",
                "networkpolicies",
                "delete",
                BACKUPS_TEST,
            ),
            (
                "rbac.authorization.k8s.io",
                "clusterroles",
                "bind",
                "checked when the operator binds the facade's logs role, never requested",
            ),
            (
                "supaplane.io",
                "projects/finalizers",
                "update",
                "owner references that block deletion need it where OwnerReferencesPermissionEnforcement runs",
            ),
        ],
    );
    Ok(())
}

#[tokio::test]
async fn the_facade_uses_exactly_what_the_chart_grants() -> anyhow::Result<()> {
    let user = format!("system:serviceaccount:{RELEASE_NAMESPACE}:supaplane-facade");
    let facade = TestFacade::start_as(&user, |_| {}).await?;
    anyhow::ensure!(
        facade.cluster.audit().is_some(),
        "runs on our control plane, whose audit log it reads"
    );
    let owner = User::new("owner");
    let (status, organization) = facade
        .send(
            &owner,
            Method::POST,
            "/platform/organizations",
            json!({"name": "Rbac", "tier": "tier_free"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{organization}");
    let slug = organization["slug"].as_str().expect("slug").to_string();
    let org = format!("/platform/organizations/{slug}");
    let calls: Vec<(Method, String, Value)> = vec![
        (Method::PATCH, org.clone(), json!({"name": "Rbac 2"})),
        (
            Method::POST,
            format!("{org}/members/invitations"),
            json!({"email": "x@example.com", "role_id": 3}),
        ),
        (
            Method::POST,
            "/platform/profile/access-tokens".into(),
            json!({"name": "ci"}),
        ),
    ];
    for (method, path, body) in calls {
        let (status, answer) = facade.send(&owner, method.clone(), &path, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
    }
    let (_, tokens) = facade.get(&owner, "/platform/profile/access-tokens").await;
    let token_id = tokens[0]["id"].as_u64().expect("token id");
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &format!("/platform/profile/access-tokens/{token_id}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, project) = facade
        .send(&owner, Method::POST, "/platform/projects", json!({
            "name": "Shop", "organization_slug": slug, "db_pass": "a-strong-password-1", "cloud_provider": "AWS_K8S"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    let project_ref = project["ref"].as_str().expect("ref").to_string();
    let (status, _) = facade
        .get(
            &owner,
            &format!("/platform/projects/{project_ref}/settings"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, answer) = facade
        .send(&owner, Method::PATCH, &format!("/platform/auth/{project_ref}/config"), json!({
            "SMTP_HOST": "smtp.example.com", "SMTP_PORT": 25, "SMTP_ADMIN_EMAIL": "a@example.com", "SMTP_PASS": "pw"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // Saved snippets and a folder: create, read, list, update, delete.
    let content = format!("/platform/projects/{project_ref}/content");
    let (status, folder) = facade
        .send(
            &owner,
            Method::POST,
            &format!("{content}/folders"),
            json!({"name": "Mine"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{folder}");
    let folder_id = folder["id"].as_str().expect("folder id").to_string();
    let snippet = uuid::Uuid::new_v4().to_string();
    for sql in ["select 1", "select 2"] {
        let (status, answer) = facade
            .send(
                &owner,
                Method::PUT,
                &content,
                json!({"id": snippet, "type": "sql", "name": "q",
                "visibility": "user", "folder_id": folder_id, "content": {"sql": sql}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (status, _) = facade
        .send(
            &owner,
            Method::PATCH,
            &format!("{content}/folders/{folder_id}"),
            json!({"name": "Ours"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade
        .get(&owner, &format!("/platform/database/{project_ref}/backups"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // A completed backup (as the operator reports it), restored from Studio.
    let backups: Api<supaplane_crds::Backup> = Api::namespaced(
        facade.cluster.client(),
        &supaplane_crds::constants::project_namespace(&project_ref),
    );
    let backup = backups
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
            "metadata": {"name": "nightly"}, "spec": {"project": project_ref}}))?,
        )
        .await?;
    backups
        .patch_status(
            "nightly",
            &PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {
            "phase": "Completed", "completedAt": "2026-12-01T03:00:00Z"}})),
        )
        .await?;
    let (_, listed) = facade
        .get(&owner, &format!("/platform/database/{project_ref}/backups"))
        .await;
    assert_eq!(
        listed["backups"].as_array().map(Vec::len),
        Some(1),
        "{listed} {backup:?}"
    );
    let (status, answer) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/database/{project_ref}/backups/restore"),
            json!({"id": listed["backups"][0]["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    // Restore to a new project, and its progress.
    let (status, answer) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/database/{project_ref}/clone"),
            json!({"cloneBackupId": listed["backups"][0]["id"],
                   "newDbPass": "a-long-password-1", "newProjectName": "Copy"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (status, answer) = facade
        .get(
            &owner,
            &format!("/platform/database/{project_ref}/clone/status"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["clones"].as_array().map(Vec::len), Some(1));
    let copy_ref = answer["clones"][0]["target_project"]["ref"]
        .as_str()
        .expect("ref")
        .to_string();
    let (_, listed) = facade.get(&owner, &format!("{content}?type=sql")).await;
    assert_eq!(listed["data"][0]["id"], snippet);
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &format!("{content}?ids={snippet}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &format!("{content}/folders?ids={folder_id}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Logs: the operator binds the facade's logs role in the project's
    // namespace (done here as it renders it); a pod's log read through it.
    let admin = facade.cluster.client();
    let project: Project = Api::all(admin.clone()).get(&project_ref).await?;
    let access = FacadeAccess::from_settings(
        Some(&format!("{RELEASE_NAMESPACE}/supaplane-facade")),
        Some("supaplane-facade-logs"),
    )
    .expect("access");
    let namespace = supaplane_crds::constants::project_namespace(&project_ref);
    Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(admin.clone(), &namespace)
        .create(
            &PostParams::default(),
            &supaplane_operator::render::facade_access::role_binding(&project, &access),
        )
        .await?;
    if let Some(plane) = facade.cluster.control_plane() {
        Api::<k8s_openapi::api::core::v1::Pod>::namespaced(admin.clone(), &namespace)
            .create(&PostParams::default(), &serde_json::from_value(json!({
                "metadata": {"name": "auth-1", "labels": {"app.kubernetes.io/component": "auth"}},
                "spec": {"nodeName": plane.node(), "containers": [{"name": "auth", "image": "example"}]},
            }))?)
            .await?;
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string();
        plane.write_pod_log(
            &namespace,
            "auth-1",
            "auth",
            &[(now, r#"{"level":"info","msg":"ok"}"#.to_string())],
        )?;
    }
    let sql = "select%20id%2C%20storage_logs.timestamp%2C%20event_message%20from%20auth_logs%0A%20%20%0A%20%20order%20by%20timestamp%20desc%0A%20%20limit%20100%0A%20%20";
    let (status, logs) = facade
        .get(&owner, &format!("/platform/projects/{project_ref}/analytics/endpoints/logs.all?iso_timestamp_start=&iso_timestamp_end=&sql={sql}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{logs}");
    assert!(logs["error"].is_null(), "{logs}");

    // A download link for a backup in the project's bucket: the facade
    // reads the bucket's keys through the Role the operator renders there
    // (made here as it renders it). Signing needs no bucket to answer.
    let project: Project = Api::all(admin.clone())
        .patch(
            &project_ref,
            &PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"backups": {"s3": {
                "bucket": "backups", "region": "us-east-1", "endpoint": "http://127.0.0.1:9",
                "forcePathStyle": true, "credentialsSecretName": "backup-s3"}}}})),
        )
        .await?;
    let version = project.metadata.resource_version.clone();
    let wanted = project_ref.clone();
    facade
        .wait_until(move |state| {
            state
                .index
                .projects
                .get(&kube::runtime::reflector::ObjectRef::new(&wanted))
                .is_some_and(|p| p.metadata.resource_version == version)
        })
        .await?;
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(admin.clone(), &namespace)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "backup-s3"},
                "stringData": {"accessKeyId": "key", "secretAccessKey": "secret"}}))?,
        )
        .await?;
    let backups_role = supaplane_operator::render::facade_access::backups_role(&project);
    Api::<k8s_openapi::api::rbac::v1::Role>::namespaced(admin.clone(), &namespace)
        .create(&PostParams::default(), &backups_role)
        .await?;
    Api::<k8s_openapi::api::rbac::v1::RoleBinding>::namespaced(admin.clone(), &namespace)
        .create(
            &PostParams::default(),
            &supaplane_operator::render::facade_access::backups_role_binding(&project, &access),
        )
        .await?;
    backups
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
            "metadata": {"name": "in-bucket"}, "spec": {"project": project_ref}}))?,
        )
        .await?;
    backups
        .patch_status(
            "in-bucket",
            &PatchParams::default(),
            &kube::api::Patch::Merge(json!({"status": {
            "phase": "Completed", "completedAt": "2026-12-01T04:00:00Z",
            "location": "s3://backups/in-bucket"}})),
        )
        .await?;
    let (_, downloadable) = facade
        .get(
            &owner,
            &format!("/platform/database/{project_ref}/backups/downloadable-backups"),
        )
        .await;
    let (status, answer) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/database/{project_ref}/backups/download"),
            json!({"id": downloadable["backups"][0]["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer} {downloadable}");

    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project_ref}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &format!("/platform/projects/{project_ref}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &format!("/platform/projects/{copy_ref}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for gone in [project_ref.clone(), copy_ref] {
        facade
            .wait_until(move |s| {
                s.index
                    .projects
                    .get(&kube::runtime::reflector::ObjectRef::new(&gone))
                    .is_none()
            })
            .await?;
    }
    let (status, answer) = facade
        .raw(Method::DELETE, &org, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // The owner's changes, recorded as Events and read back.
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    loop {
        let (status, audit) = facade.get(&owner, "/platform/profile/audit").await;
        assert_eq!(status, StatusCode::OK, "{audit}");
        if audit["result"].as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no audit entry appeared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    let mut rules = chart_rules("supaplane-facade", &facade.state.config.namespace)?;
    // Bound by the operator in each project namespace, not by the chart.
    rules.extend(cluster_role_rules("supaplane-facade-logs", &namespace)?);
    for rule in backups_role.rules.iter().flatten() {
        rules.push(Rule {
            groups: rule.api_groups.clone().unwrap_or_default(),
            resources: rule.resources.clone().unwrap_or_default(),
            verbs: rule.verbs.clone(),
            names: rule.resource_names.clone().unwrap_or_default(),
            namespace: Some(namespace.clone()),
        });
    }
    assert_exact(
        "the facade",
        &rules,
        &requests_of(&facade.cluster, &user)?,
        &[(
            "",
            "namespaces",
            "delete",
            "a project create that fails half-way removes its namespace",
        )],
    );
    Ok(())
}
