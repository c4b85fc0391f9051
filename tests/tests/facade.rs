//! The facade, running with its caches against the real control plane (or a
//! real cluster), called as Studio and Management API scripts call it.

use axum::http::{Method, StatusCode};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::ListParams;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use supaplane_crds::constants::{DATABASE_PASSWORD_KEY, keys_secret, project_namespace};
use supaplane_crds::images;
use supaplane_crds::{OrganizationRole, PostgresVersion, Project};
use supaplane_tests::facade::{TestFacade, User};

/// Creates a Project resource directly, as `kubectl apply -f` would.
async fn apply_project(facade: &TestFacade, organization: &str) -> anyhow::Result<String> {
    facade.apply_project(organization).await
}

async fn write_status(facade: &TestFacade, name: &str, status: Value) -> anyhow::Result<()> {
    facade.write_status(name, status).await
}

fn create_body(slug: &str, name: &str) -> Value {
    json!({
        "name": name, "organization_slug": slug, "db_pass": "a-strong-password-1",
        "cloud_provider": "AWS_K8S", "db_region": "local",
        // Fields Studio sends that we do not use: accepted and ignored.
        "data_api_exposed_schemas": ["public"], "high_availability": false,
    })
}

#[tokio::test]
async fn sign_in_boot_sequence_answers_in_studio_shapes() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let user = User::new("ada");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;

    let (status, flags) = facade.get(&user, "/platform/telemetry/feature-flags").await;
    assert_eq!(status, StatusCode::OK);
    assert!(flags.is_object());

    let (status, profile) = facade.get(&user, "/platform/profile").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["gotrue_id"], user.id);
    assert_eq!(profile["primary_email"], user.email);
    assert!(profile["id"].is_u64());
    // Edge Functions do not run here: Studio hides them.
    assert_eq!(
        profile["disabled_features"],
        json!(["project_edge_function:all"])
    );

    let (status, permissions) = facade.get(&user, "/platform/profile/permissions").await;
    assert_eq!(status, StatusCode::OK);
    let mine: Vec<&Value> = permissions
        .as_array()
        .expect("list")
        .iter()
        .filter(|p| p["organization_slug"] == slug)
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["actions"], json!(["%"]));
    assert_eq!(mine[0]["restrictive"], false);

    let (status, _) = facade
        .raw(
            Method::POST,
            "/platform/profile/audit-login",
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, overdue) = facade.get(&user, "/platform/stripe/invoices/overdue").await;
    assert_eq!((status, overdue), (StatusCode::OK, json!([])));

    let (status, organizations) = facade.get(&user, "/platform/organizations").await;
    assert_eq!(status, StatusCode::OK);
    let organizations = organizations.as_array().expect("list");
    assert_eq!(organizations.len(), 1);
    assert_eq!(organizations[0]["slug"], slug);
    assert_eq!(organizations[0]["is_owner"], true);
    assert_eq!(organizations[0]["plan"]["id"], "platform");
    assert!(organizations[0]["id"].is_u64());

    let (status, notifications) = facade
        .get(
            &user,
            "/platform/notifications?offset=0&limit=20&status=new,seen",
        )
        .await;
    assert_eq!((status, notifications), (StatusCode::OK, json!([])));

    let (status, listed) = facade
        .get(
            &user,
            &format!("/platform/organizations/{slug}/projects?limit=96&offset=0&sort=name_asc"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed["pagination"],
        json!({"count": 1, "limit": 96, "offset": 0})
    );
    assert_eq!(listed["projects"][0]["ref"], project);
    assert_eq!(listed["projects"][0]["status"], "COMING_UP");
    assert_eq!(listed["projects"][0]["databases"][0]["type"], "PRIMARY");

    let (status, all) = facade
        .get(&user, "/platform/projects?limit=100&offset=0&sort=name_asc")
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(all["pagination"]["count"], 1);
    assert_eq!(all["projects"][0]["ref"], project);
    assert_eq!(all["projects"][0]["organization_slug"], slug);
    assert_eq!(
        all["projects"][0]["organization_id"],
        organizations[0]["id"]
    );
    Ok(())
}

#[tokio::test]
async fn every_route_but_health_needs_credentials() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let (status, _) = facade.raw(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/platform/profile",
        "/platform/organizations",
        "/v1/projects",
        "/platform/no-such-thing",
    ] {
        let (status, body) = facade.raw(Method::GET, path, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert!(body["message"].is_string(), "{path}: {body}");
        let (status, _) = facade.raw(Method::GET, path, Some("not-a-jwt"), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    // Studio asks for feature flags before sign-in: answered, empty, to
    // anyone; nothing else on that path is public.
    let (status, flags) = facade
        .raw(Method::GET, "/platform/telemetry/feature-flags", None, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(flags, json!({}));
    let (status, _) = facade
        .raw(
            Method::GET,
            "/platform/telemetry/feature-flags/x",
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    Ok(())
}

#[tokio::test]
async fn creating_an_organization_then_a_project_writes_the_resources() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let user = User::new("grace");
    let (status, organization) = facade
        .send(
            &user,
            Method::POST,
            "/platform/organizations",
            json!({"name": "Acme Corp", "tier": "tier_free", "kind": "COMPANY", "size": "1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{organization}");
    let slug = organization["slug"].as_str().expect("slug").to_string();
    assert_eq!(organization["name"], "Acme Corp");
    // The caller sees the new organization on the next read.
    let (_, organizations) = facade.get(&user, "/platform/organizations").await;
    assert!(
        organizations
            .as_array()
            .expect("list")
            .iter()
            .any(|o| o["slug"] == slug)
    );

    let (status, created) = facade
        .send(
            &user,
            Method::POST,
            "/platform/projects",
            create_body(&slug, "Shop"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let project_ref = created["ref"].as_str().expect("ref").to_string();
    assert_eq!(project_ref.len(), 20);
    assert!(project_ref.chars().all(|c| c.is_ascii_lowercase()));
    assert_eq!(created["status"], "COMING_UP");
    assert_eq!(created["organization_slug"], slug);
    assert_eq!(
        created["endpoint"],
        format!("http://{project_ref}.apps.test")
    );

    let project = Api::<Project>::all(facade.client())
        .get(&project_ref)
        .await?;
    assert_eq!(project.spec.organization, slug);
    assert_eq!(project.spec.display_name, "Shop");
    assert_eq!(project.spec.region, "local");
    let reference = project
        .spec
        .database
        .password_secret_ref
        .clone()
        .expect("password reference");
    let secret = Api::<Secret>::namespaced(facade.client(), &project_namespace(&project_ref))
        .get(&reference.name)
        .await?;
    let password = secret
        .data
        .as_ref()
        .and_then(|d| d.get(DATABASE_PASSWORD_KEY))
        .expect("password");
    assert_eq!(password.0, b"a-strong-password-1");
    // The password never lands in the spec.
    assert!(!serde_json::to_string(&project.spec)?.contains("a-strong-password-1"));

    // Read your write: the project is in the next listing and detail.
    let (status, detail) = facade
        .get(&user, &format!("/platform/projects/{project_ref}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["name"], "Shop");
    // New projects run Postgres 17 unless they ask for 15.
    assert_eq!(project.spec.postgres_version, PostgresVersion::V17);
    assert_eq!(
        detail["dbVersion"],
        format!(
            "supabase-postgres-{}",
            images::postgres_release(PostgresVersion::V17)
        )
    );
    let mut on_15 = create_body(&slug, "Legacy");
    on_15["postgres_engine"] = json!("15");
    let (status, created) = facade
        .send(&user, Method::POST, "/platform/projects", on_15)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let legacy_ref = created["ref"].as_str().expect("ref").to_string();
    let legacy = Api::<Project>::all(facade.client())
        .get(&legacy_ref)
        .await?;
    assert_eq!(legacy.spec.postgres_version, PostgresVersion::V15);
    let (_, versions) = facade
        .get(
            &user,
            &format!("/platform/projects/{legacy_ref}/restore/versions"),
        )
        .await;
    assert_eq!(
        versions["available_versions"],
        json!([{
            "postgres_engine": "15",
            "release_channel": "ga",
            "version": format!("supabase-postgres-{}", images::postgres_release(PostgresVersion::V15)),
        }]),
        "a paused project resumes on its own major version"
    );

    // A second project with the same name in the organization is refused.
    let (status, body) = facade
        .send(
            &user,
            Method::POST,
            "/platform/projects",
            create_body(&slug, "shop"),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    Ok(())
}

#[tokio::test]
async fn a_project_applied_with_kubectl_appears_in_the_listing() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let user = User::new("linus");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Developer)])
        .await?;
    let first = apply_project(&facade, &slug).await?;
    let second = apply_project(&facade, &slug).await?;
    let (status, listed) = facade
        .get(&user, &format!("/platform/organizations/{slug}/projects"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let refs: Vec<&str> = listed["projects"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["ref"].as_str())
        .collect();
    let mut expected = vec![first.as_str(), second.as_str()];
    expected.sort();
    assert_eq!(refs, expected);

    let (_, page) = facade
        .get(
            &user,
            &format!("/platform/organizations/{slug}/projects?limit=1&offset=1&sort=name_desc"),
        )
        .await;
    assert_eq!(page["pagination"]["count"], 2);
    assert_eq!(page["projects"].as_array().expect("list").len(), 1);
    assert_eq!(page["projects"][0]["ref"], expected[0]);
    Ok(())
}

#[tokio::test]
async fn pause_restore_and_delete_change_the_resource() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    let projects: Api<Project> = Api::all(facade.client());

    let (status, body) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(projects.get(&project).await?.spec.paused);
    // Pausing twice is a clear error.
    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Studio's paused page: it shows a resume deadline when the selected
    // organization's plan id is `free`, whatever the pause status says. A
    // paused project here resumes at any time, so no organization is `free`
    // to Studio; its own label stays the plan's name and `/v1`'s plan.
    let (status, organizations) = facade.get(&owner, "/platform/organizations").await;
    assert_eq!(status, StatusCode::OK);
    let selected = organizations
        .as_array()
        .and_then(|all| all.iter().find(|o| o["slug"] == slug))
        .expect("the organization is listed");
    assert_eq!(selected["plan"], json!({"id": "platform", "name": "Free"}));
    let (_, detail) = facade
        .get(&owner, &format!("/platform/organizations/{slug}"))
        .await;
    assert_eq!(detail["plan"]["id"], "platform");
    let (_, v1) = facade
        .get(&owner, &format!("/v1/organizations/{slug}"))
        .await;
    assert_eq!(v1["plan"], "free");
    let (status, pause_status) = facade
        .get(
            &owner,
            &format!("/platform/projects/{project}/pause/status"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pause_status["can_restore"], true);
    assert_eq!(
        pause_status["remaining_days_till_restore_disabled"],
        Value::Null
    );

    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/v1/projects/{project}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!projects.get(&project).await?.spec.paused);

    let (status, removed) = facade
        .raw(
            Method::DELETE,
            &format!("/platform/projects/{project}"),
            Some(&owner.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(removed["ref"], project);
    let gone = projects
        .get_opt(&project)
        .await?
        .is_none_or(|p| p.metadata.deletion_timestamp.is_some());
    assert!(gone);
    Ok(())
}

#[tokio::test]
async fn status_written_by_the_operator_shows_in_detail_and_health() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let user = User::new("ops");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    let condition = |kind: &str, status: &str| {
        json!({"type": kind, "status": status, "reason": "Test", "message": format!("{kind} {status}"),
               "lastTransitionTime": "2026-01-01T00:00:00Z"})
    };
    write_status(
        &facade,
        &project,
        json!({
            "status": "ACTIVE_UNHEALTHY",
            "anonKey": "anon.jwt.value",
            "endpoints": {"apiUrl": format!("http://{project}.apps.test"), "databaseHost": "db.project.svc", "databasePort": 5432},
            "conditions": [condition("DatabaseReady", "True"), condition("AuthReady", "True"), condition("RestReady", "False")],
        }),
    )
    .await?;
    let wanted = project.clone();
    facade
        .wait_until(move |state| {
            state
                .index
                .projects
                .get(&ObjectRef::new(&wanted))
                .is_some_and(|p| p.status.is_some())
        })
        .await?;

    let (status, detail) = facade
        .get(&user, &format!("/platform/projects/{project}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["status"], "ACTIVE_UNHEALTHY");
    assert_eq!(detail["db_host"], "db.project.svc");
    assert_eq!(
        detail["connectionString"],
        "postgresql://postgres@db.project.svc:5432/postgres"
    );

    let (status, health) = facade
        .get(
            &user,
            &format!("/v1/projects/{project}/health?services=auth,rest,db"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        health,
        json!([
            {"name": "auth", "healthy": true, "status": "ACTIVE_HEALTHY"},
            {"name": "rest", "healthy": false, "status": "UNHEALTHY", "error": "RestReady False"},
            {"name": "db", "healthy": true, "status": "ACTIVE_HEALTHY"},
        ])
    );
    let (status, _) = facade
        .get(&user, &format!("/v1/projects/{project}/health"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

/// Writes a keys Secret as the operator would.
async fn write_keys(facade: &TestFacade, project: &str) -> anyhow::Result<()> {
    facade
        .write_keys(
            project,
            &[
                (keys_secret::ANON_KEY, "anon.jwt.value"),
                (keys_secret::SERVICE_ROLE_KEY, "service.jwt.value"),
                (keys_secret::JWT_SECRET, "the-jwt-secret"),
            ],
        )
        .await
}

#[tokio::test]
async fn organizations_are_isolated_and_secrets_follow_roles() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let alice = User::new("alice");
    let bob = User::new("bob");
    let reader = User::new("reader");
    let org_a = facade
        .organization_with(&[
            (&alice, OrganizationRole::Owner),
            (&reader, OrganizationRole::ReadOnly),
        ])
        .await?;
    let org_b = facade
        .organization_with(&[(&bob, OrganizationRole::Owner)])
        .await?;
    let project_a = apply_project(&facade, &org_a).await?;
    let project_b = apply_project(&facade, &org_b).await?;
    write_keys(&facade, &project_a).await?;
    write_keys(&facade, &project_b).await?;

    // Another organization's things do not exist for alice.
    for path in [
        format!("/platform/projects/{project_b}"),
        format!("/platform/projects/{project_b}/settings"),
        format!("/v1/projects/{project_b}/api-keys"),
        format!("/platform/organizations/{org_b}/projects"),
        format!("/platform/organizations/{org_b}/members"),
        format!("/v1/projects/{project_b}"),
    ] {
        let (status, body) = facade.get(&alice, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
    }
    let (status, _) = facade
        .send(
            &alice,
            Method::POST,
            &format!("/platform/projects/{project_b}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = facade.get(&alice, "/v1/projects").await;
    assert!(
        listed
            .as_array()
            .expect("list")
            .iter()
            .all(|p| p["ref"] != project_b)
    );

    // The owner sees the service_role key and the JWT secret.
    let (status, settings) = facade
        .get(&alice, &format!("/platform/projects/{project_a}/settings"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let tags: Vec<&str> = settings["service_api_keys"]
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["tags"].as_str())
        .collect();
    assert_eq!(tags, vec!["anon", "service_role"]);
    assert_eq!(settings["jwt_secret"], "the-jwt-secret");

    // A Read-only member sees the anon key only, and cannot pause.
    let (status, settings) = facade
        .get(&reader, &format!("/platform/projects/{project_a}/settings"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let rendered = settings.to_string();
    assert!(!rendered.contains("service.jwt.value"));
    assert!(!rendered.contains("the-jwt-secret"));
    let (_, keys) = facade
        .get(&reader, &format!("/v1/projects/{project_a}/api-keys"))
        .await;
    assert_eq!(
        keys.as_array()
            .expect("keys")
            .iter()
            .map(|k| k["name"].clone())
            .collect::<Vec<_>>(),
        vec![json!("anon")]
    );
    let (status, body) = facade
        .send(
            &reader,
            Method::POST,
            &format!("/platform/projects/{project_a}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        !Api::<Project>::all(facade.client())
            .get(&project_a)
            .await?
            .spec
            .paused
    );
    Ok(())
}

#[tokio::test]
async fn a_token_not_valid_yet_is_refused() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let now = chrono::Utc::now().timestamp();
    let claims = |nbf: i64| {
        json!({"sub": "later", "email": "later@example.com", "aud": "authenticated",
               "exp": now + 7200, "iat": now, "nbf": nbf})
    };
    let early = supaplane_tests::facade::signed_token(claims(now + 3600));
    let (status, body) = facade
        .raw(Method::GET, "/platform/profile", Some(&early), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let due = supaplane_tests::facade::signed_token(claims(now - 10));
    let (status, body) = facade
        .raw(Method::GET, "/platform/profile", Some(&due), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Ok(())
}

#[tokio::test]
async fn a_revoked_access_token_is_refused() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let user = User::new("scripter");
    facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let (status, created) = facade
        .send(
            &user,
            Method::POST,
            "/platform/profile/access-tokens",
            json!({"name": "ci"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().expect("token").to_string();
    assert!(token.starts_with("sbp_"));
    let id = created["id"].as_u64().expect("id");

    // Only the hash is stored.
    let secrets: Api<Secret> = Api::namespaced(facade.client(), &facade.state.config.namespace);
    for secret in secrets.list(&ListParams::default()).await?.items {
        let stored = serde_json::to_string(&secret.data)?;
        assert!(!stored.contains(&token[4..]), "{}", secret.name_any());
    }

    let (status, organizations) = facade
        .raw(Method::GET, "/v1/organizations", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(organizations.as_array().expect("list").len(), 1);

    let (_, listed) = facade.get(&user, "/platform/profile/access-tokens").await;
    assert_eq!(listed[0]["name"], "ci");
    assert!(listed[0].get("token").is_none());

    let (status, _) = facade
        .raw(
            Method::DELETE,
            &format!("/platform/profile/access-tokens/{id}"),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = facade
        .raw(Method::GET, "/v1/organizations", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    Ok(())
}

#[tokio::test]
async fn a_create_the_caller_abandons_leaves_a_whole_project_or_nothing() -> anyhow::Result<()> {
    use supaplane_crds::constants::{LABEL_CREATING, LABEL_ORGANIZATION};
    let facade = TestFacade::start().await?;
    let user = User::new("impatient");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    // The caller goes away 0 to 19 ms in: the handler's future is dropped,
    // as when a client resets the connection or the request times out.
    for delay in 0..20u64 {
        let send = facade.send(
            &user,
            Method::POST,
            "/platform/projects",
            create_body(&slug, &format!("Shop {delay}")),
        );
        let _ = tokio::time::timeout(std::time::Duration::from_millis(delay), send).await;
    }
    // What was started finishes on its own, then every namespace of the
    // organization belongs to a Project, and no create is left unfinished.
    let selector = format!("{LABEL_ORGANIZATION}={slug}");
    let namespaces = Api::<Namespace>::all(facade.client());
    let projects = Api::<Project>::all(facade.client());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let listed = namespaces
            .list(&ListParams::default().labels(&selector))
            .await?;
        let live: Vec<_> = listed
            .items
            .iter()
            .filter(|n| n.metadata.deletion_timestamp.is_none())
            .collect();
        let unfinished = live
            .iter()
            .filter(|n| n.labels().contains_key(LABEL_CREATING))
            .count();
        let made = projects
            .list(&ListParams::default().labels(&selector))
            .await?;
        let mut with_project = 0;
        for namespace in &live {
            let project_ref = namespace
                .name_any()
                .trim_start_matches("project-")
                .to_string();
            if made.items.iter().any(|p| p.name_any() == project_ref) {
                with_project += 1;
            }
        }
        if unfinished == 0 && with_project == live.len() && made.items.len() == live.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} namespaces ({unfinished} unfinished, {with_project} with a Project), {} Projects",
            live.len(),
            made.items.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    Ok(())
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_and_creates_nothing() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let user = User::new("careless");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let projects: Api<Project> = Api::all(facade.client());
    let count = || async {
        projects
            .list(&ListParams::default())
            .await
            .map(|l| {
                l.items
                    .iter()
                    .filter(|p| p.spec.organization == slug)
                    .count()
            })
            .unwrap_or(usize::MAX)
    };

    let mut cases: Vec<(String, String)> = vec![
        ("malformed JSON".into(), "{\"name\": ".into()),
        (
            "wrong type".into(),
            json!({"name": 42, "organization_slug": slug, "db_pass": "a-strong-password-1", "cloud_provider": "AWS"}).to_string(),
        ),
        (
            "missing field".into(),
            json!({"name": "Shop", "organization_slug": slug, "cloud_provider": "AWS"}).to_string(),
        ),
        ("200-character name".into(), create_body(&slug, &"a".repeat(200)).to_string()),
        (
            "SQL-looking name".into(),
            create_body(&slug, "x'); DROP TABLE projects;--").to_string(),
        ),
        ("short password".into(), {
            let mut body = create_body(&slug, "Shop");
            body["db_pass"] = json!("short");
            body.to_string()
        }),
        ("blank password".into(), {
            let mut body = create_body(&slug, "Shop");
            body["db_pass"] = json!("        ");
            body.to_string()
        }),
        ("password with a NUL".into(), {
            let mut body = create_body(&slug, "Shop");
            body["db_pass"] = json!("a-strong\u{0}password");
            body.to_string()
        }),
        ("password with a line break".into(), {
            let mut body = create_body(&slug, "Shop");
            body["db_pass"] = json!("a-strong\r\npassword");
            body.to_string()
        }),
        ("region that is no label".into(), {
            let mut body = create_body(&slug, "Shop");
            body["db_region"] = json!("mars; DROP");
            body.to_string()
        }),
        ("instance size not offered".into(), {
            let mut body = create_body(&slug, "Shop");
            body["desired_instance_size"] = json!("48xlarge");
            body.to_string()
        }),
        ("postgres engine not offered".into(), {
            let mut body = create_body(&slug, "Shop");
            body["postgres_engine"] = json!("17-oriole");
            body.to_string()
        }),
    ];
    cases.push((
        "unknown organization".into(),
        create_body("no-such-org", "Shop").to_string(),
    ));
    for (case, body) in cases {
        let (status, answer) = facade
            .raw(
                Method::POST,
                "/platform/projects",
                Some(&user.token),
                Some(body),
            )
            .await;
        assert!(status.is_client_error(), "{case}: {status} {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{case}: {answer}");
    }
    let (status, answer) = facade
        .raw(
            Method::POST,
            "/platform/projects",
            Some(&user.token),
            Some("x".repeat(2 * 1024 * 1024)),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{answer}");
    assert_eq!(count().await, 0);
    // No project namespace was left behind either.
    let namespaces = Api::<Namespace>::all(facade.client())
        .list(&ListParams::default().labels(&format!("supaplane.io/organization={slug}")))
        .await?;
    assert!(namespaces.items.is_empty());
    Ok(())
}

#[tokio::test]
async fn invitations_are_accepted_only_with_their_token_by_the_invited_address()
-> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let invitee = User::new("invitee");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    let invitations = format!("/platform/organizations/{slug}/members/invitations");
    let (status, made) = facade
        .send(
            &owner,
            Method::POST,
            &invitations,
            json!({"email": invitee.email, "role_id": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().expect("token").to_string();
    assert_eq!(
        made["join_path"],
        format!("/join?token={token}&slug={slug}")
    );
    let (_, listed) = facade.get(&owner, &invitations).await;
    assert_eq!(listed["invitations"][0]["invited_email"], invitee.email);
    // The Organization keeps only the token's hash.
    let stored = Api::<supaplane_crds::Organization>::all(facade.client())
        .get(&slug)
        .await?;
    assert!(!serde_json::to_string(&stored.spec)?.contains(&token));

    // Signing in, or signing up again with the invited address (as
    // dashboard autoconfirm lets anyone), joins nothing.
    let impostor = User {
        id: "impostor-id".into(),
        email: invitee.email.clone(),
        token: supaplane_tests::facade::session_token("impostor-id", &invitee.email),
    };
    for user in [&invitee, &impostor] {
        let (status, _) = facade.get(user, "/platform/profile").await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = facade
            .get(user, &format!("/platform/organizations/{slug}"))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    let (status, _) = facade
        .send(
            &impostor,
            Method::POST,
            &format!("{invitations}/not-the-token"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, unknown) = facade
        .get(&impostor, &format!("{invitations}/not-the-token"))
        .await;
    assert_eq!(unknown["token_does_not_exist"], true);
    assert_eq!(unknown["organization_name"], "");

    // The link in someone else's hands is refused.
    let stranger = User::new("stranger");
    let (_, seen) = facade
        .get(&stranger, &format!("{invitations}/{token}"))
        .await;
    assert_eq!(seen["token_does_not_exist"], false);
    assert_eq!(seen["email_match"], false);
    let (status, _) = facade
        .send(
            &stranger,
            Method::POST,
            &format!("{invitations}/{token}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The invitee accepts with the token, once.
    let (_, seen) = facade
        .get(&invitee, &format!("{invitations}/{token}"))
        .await;
    assert_eq!(seen["email_match"], true);
    assert_eq!(seen["expired_token"], false);
    let (status, body) = facade
        .send(
            &invitee,
            Method::POST,
            &format!("{invitations}/{token}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, members) = facade
        .get(&owner, &format!("/platform/organizations/{slug}/members"))
        .await;
    let joined = members
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["gotrue_id"] == invitee.id)
        .cloned()
        .expect("the invitee is a member");
    assert_eq!(joined["role_ids"], json!([3]));
    let (status, _) = facade
        .send(
            &invitee,
            Method::POST,
            &format!("{invitations}/{token}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a token is used once");

    // A Developer may not manage members.
    let (status, _) = facade
        .send(
            &invitee,
            Method::POST,
            &invitations,
            json!({"email": "x@example.com", "role_id": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test]
async fn only_owners_change_or_revoke_an_owner_invitation() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let admin = User::new("admin");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&admin, OrganizationRole::Administrator),
        ])
        .await?;
    let invitations = format!("/platform/organizations/{slug}/members/invitations");
    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &invitations,
            json!({"email": "next-owner@example.com", "role_id": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, listed) = facade.get(&admin, &invitations).await;
    let id = listed["invitations"][0]["id"].as_u64().expect("id");

    let (status, _) = facade
        .send(
            &admin,
            Method::DELETE,
            &format!("{invitations}/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "revoking an Owner invitation"
    );
    let (status, _) = facade
        .send(
            &admin,
            Method::POST,
            &invitations,
            json!({"email": "next-owner@example.com", "role_id": 3}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "downgrading an Owner invitation"
    );
    let (_, listed) = facade.get(&owner, &invitations).await;
    assert_eq!(listed["invitations"][0]["role_id"], 1);

    // Invitations to other roles stay the Administrator's to manage.
    let (status, _) = facade
        .send(
            &admin,
            Method::POST,
            &invitations,
            json!({"email": "dev@example.com", "role_id": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = facade
        .send(
            &owner,
            Method::DELETE,
            &format!("{invitations}/{id}"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    Ok(())
}

#[tokio::test]
async fn endpoints_without_data_answer_empty_shapes_to_members_only() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let member = User::new("member");
    let outsider = User::new("outsider");
    let slug = facade
        .organization_with(&[(&member, OrganizationRole::Developer)])
        .await?;
    facade
        .organization_with(&[(&outsider, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    for (method, template) in supaplane_facade::api::platform::unbacked::UNBACKED_ENDPOINTS {
        let path = template.replace("{slug}", &slug).replace("{ref}", &project);
        let method = Method::from_bytes(method.as_bytes())?;
        let body = (method == Method::POST).then(|| "{}".to_string());
        let (status, answer) = facade
            .raw(method.clone(), &path, Some(&member.token), body.clone())
            .await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        // Empty: no list in the answer holds anything.
        let rendered = answer.to_string();
        assert!(!rendered.contains("[{"), "{path} invents data: {rendered}");
        let scoped = template.contains("{slug}") || template.contains("{ref}");
        if scoped {
            let (status, _) = facade
                .raw(method.clone(), &path, Some(&outsider.token), body)
                .await;
            assert_eq!(
                status,
                StatusCode::NOT_FOUND,
                "{method} {path} for an outsider"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_openapi_document_describes_every_route_it_serves() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let user = User::new("reader-of-docs");
    let (status, _) = facade.raw(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, document) = facade.get(&user, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        document["openapi"]
            .as_str()
            .unwrap_or_default()
            .starts_with("3.")
    );
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = document["paths"].as_object().expect("paths");
    for (method, template) in supaplane_facade::api::platform::unbacked::UNBACKED_ENDPOINTS {
        let documented = template
            .replace("usage.api-counts", "{endpoint}")
            .replace("usage.api-requests-count", "{endpoint}");
        assert!(
            paths[&documented].get(method.to_lowercase()).is_some(),
            "{method} {template} is not documented"
        );
    }
    let mut operations = 0;
    for (template, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            let path = template
                .replace("{slug}", "no-such-org")
                .replace("{ref}", "nosuchprojectrefxxxx")
                .replace("{id}", "1")
                .replace("{gotrue_id}", "someone")
                .replace("{endpoint}", "usage.api-counts");
            let method = Method::from_bytes(method.to_uppercase().as_bytes())?;
            let body = matches!(method, Method::POST | Method::PATCH).then(|| "{}".to_string());
            let (status, answer) = facade
                .raw(method.clone(), &path, Some(&user.token), body)
                .await;
            // Routed: never the router's own 404 or 405.
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(answer["message"], "No such endpoint", "{method} {path}");
            operations += 1;
        }
    }
    assert!(operations >= 60, "only {operations} operations documented");
    Ok(())
}

#[tokio::test]
async fn settings_pages_read_what_the_operator_runs() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let reader = User::new("reader");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&reader, OrganizationRole::ReadOnly),
        ])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    write_keys(&facade, &project).await?;

    let (_, settings) = facade
        .get(&owner, &format!("/platform/projects/{project}/settings"))
        .await;
    assert_eq!(
        settings["app_config"]["endpoint"],
        format!("{project}.apps.test")
    );
    assert_eq!(settings["app_config"]["protocol"], "http");

    let (status, postgrest) = facade
        .get(
            &owner,
            &format!("/platform/projects/{project}/config/postgrest"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(postgrest["db_schema"], "public,storage,graphql_public");
    assert_eq!(postgrest["jwt_secret"], "the-jwt-secret");
    assert!(
        postgrest
            .as_object()
            .expect("object")
            .contains_key("db_pool")
    );
    let (_, postgrest) = facade
        .get(
            &reader,
            &format!("/platform/projects/{project}/config/postgrest"),
        )
        .await;
    assert_eq!(postgrest["jwt_secret"], "");

    let (status, versions) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/organizations/{slug}/available-versions"),
            json!({"provider": "AWS", "region": "local"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let offered: Vec<(String, String)> = versions["available_versions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|v| {
            (
                v["postgres_engine"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                v["version"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        offered,
        [PostgresVersion::V17, PostgresVersion::V15].map(|v| (
            v.major().to_string(),
            format!("supabase-postgres-{}", images::postgres_release(v))
        ))
    );

    let (_, legacy) = facade
        .get(&owner, &format!("/v1/projects/{project}/api-keys/legacy"))
        .await;
    assert_eq!(legacy, json!({"enabled": true}));
    let (_, key) = facade
        .get(
            &owner,
            &format!("/v1/projects/{project}/config/auth/signing-keys/legacy"),
        )
        .await;
    assert_eq!(key["algorithm"], "HS256");
    assert_eq!(key["status"], "in_use");
    let (status, hostname) = facade
        .get(&owner, &format!("/v1/projects/{project}/custom-hostname"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        hostname["message"]
            .as_str()
            .unwrap_or_default()
            .contains("custom hostname configuration")
    );

    // Studio's own region names are kept as the label chosen.
    let (status, created) = facade
        .send(&owner, Method::POST, "/platform/projects", {
            let mut body = create_body(&slug, "Labelled");
            body["db_region"] = json!("East US (North Virginia)");
            body
        })
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["region"], "East US (North Virginia)");
    let (_, created) = facade
        .send(&owner, Method::POST, "/platform/projects", {
            let mut body = create_body(&slug, "Named");
            body["db_region"] = json!("Europe");
            body
        })
        .await;
    assert_eq!(created["region"], "eu");
    Ok(())
}

#[test]
fn readme_lists_every_endpoint_answered_without_data() -> anyhow::Result<()> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))?;
    for (method, path) in supaplane_facade::api::platform::unbacked::UNBACKED_ENDPOINTS
        .iter()
        .chain(supaplane_facade::api::platform::not_offered::NOT_OFFERED_ENDPOINTS)
        .chain(supaplane_facade::api::platform::not_offered::NONE_AS_NOT_FOUND)
    {
        assert!(
            readme.contains(&format!("`{method} {path}`")),
            "README's coverage table misses {method} {path}"
        );
    }
    Ok(())
}

/// A P-256 key made for this test only, and its public half as a JWK.
const TEST_EC_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgRnRy8u5nIlpDI74Y
VoVf8PBoftbcoYUN1Q7XK/FT/4ehRANCAASrKD5e0pwHB9M5TWE0xDP7uRKN7si3
BnRmwnWGSYYMcfufm2+KTpRjZlfdTP0MXL1Z5pU4PM50N3JpAicugICP
-----END PRIVATE KEY-----
";
const TEST_EC_X: &str = "qyg-XtKcBwfTOU1hNMQz-7kSje7ItwZ0ZsJ1hkmGDHE";
const TEST_EC_Y: &str = "-5-bb4pOlGNmV91M_QxcvVnmlTg8znQ3cmkCJy6AgI8";

/// The DER inside a PEM block.
fn pkcs8_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(body)?)
}

fn es256_token(kid: &str, user_id: &str) -> anyhow::Result<String> {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid.to_string());
    let claims = json!({"sub": user_id, "email": "es@example.com", "aud": "authenticated",
        "exp": chrono::Utc::now().timestamp() + 3600});
    Ok(jsonwebtoken::encode(
        &header,
        &claims,
        &jsonwebtoken::EncodingKey::from_ec_der(&pkcs8_der(TEST_EC_PRIVATE_KEY)?),
    )?)
}

#[tokio::test]
async fn tokens_signed_with_the_issuers_published_keys_are_accepted() -> anyhow::Result<()> {
    // The issuer: serves its JWKS, as GoTrue does at /.well-known/jwks.json.
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": TEST_EC_X, "y": TEST_EC_Y,
        "kid": "key-1", "alg": "ES256", "use": "sig"}]});
    let issuer = axum::Router::new().route(
        "/.well-known/jwks.json",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(async move { axum::serve(listener, issuer).await });

    let facade = TestFacade::start_with(|config| {
        config.jwks_url = Some(format!("http://{address}/.well-known/jwks.json"));
    })
    .await?;
    let user_id = uuid::Uuid::new_v4().to_string();
    let (status, profile) = facade
        .raw(
            Method::GET,
            "/platform/profile",
            Some(&es256_token("key-1", &user_id)?),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["gotrue_id"], user_id);
    // A key the issuer never published, and a token whose signature does
    // not match, are refused.
    let (status, _) = facade
        .raw(
            Method::GET,
            "/platform/profile",
            Some(&es256_token("key-2", &user_id)?),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let mut forged = es256_token("key-1", &user_id)?;
    forged.truncate(forged.len() - 4);
    forged.push_str("AAAA");
    let (status, _) = facade
        .raw(Method::GET, "/platform/profile", Some(&forged), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    server.abort();
    Ok(())
}

#[tokio::test]
async fn organizations_are_renamed_members_managed_and_deleted_by_role() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let admin = User::new("admin");
    let developer = User::new("developer");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&admin, OrganizationRole::Administrator),
            (&developer, OrganizationRole::Developer),
        ])
        .await?;
    let path = format!("/platform/organizations/{slug}");

    let (status, _) = facade
        .send(&developer, Method::PATCH, &path, json!({"name": "Nope"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, updated) = facade
        .send(
            &admin,
            Method::PATCH,
            &path,
            json!({"name": "Renamed", "billing_email": "billing@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["name"], "Renamed");
    let (_, detail) = facade.get(&owner, &path).await;
    assert_eq!(detail["name"], "Renamed");
    assert_eq!(detail["billing_email"], "billing@example.com");

    // An Administrator may not make an Owner; the Owner may.
    let member = |user: &User| format!("{path}/members/{}", user.id);
    let (status, _) = facade
        .send(
            &admin,
            Method::PATCH,
            &member(&developer),
            json!({"role_id": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = facade
        .send(
            &admin,
            Method::PATCH,
            &member(&developer),
            json!({"role_id": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, members) = facade.get(&owner, &format!("{path}/members")).await;
    let roles: Vec<Value> = members
        .as_array()
        .expect("members")
        .iter()
        .filter(|m| m["gotrue_id"] == developer.id)
        .map(|m| m["role_ids"].clone())
        .collect();
    assert_eq!(roles, vec![json!([4])]);
    // The last Owner cannot step down.
    let (status, body) = facade
        .send(
            &owner,
            Method::PATCH,
            &member(&owner),
            json!({"role_id": 2}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    // Anyone may leave.
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &member(&developer),
            Some(&developer.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade.get(&developer, &path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Deleting: not while projects remain, and only by the Owner.
    let project = apply_project(&facade, &slug).await?;
    let (status, _) = facade
        .raw(Method::DELETE, &path, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    Api::<Project>::all(facade.client())
        .delete(&project, &Default::default())
        .await?;
    let wanted = project.clone();
    facade
        .wait_until(move |state| state.index.projects.get(&ObjectRef::new(&wanted)).is_none())
        .await?;
    let (status, _) = facade
        .raw(Method::DELETE, &path, Some(&admin.token), None)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = facade
        .raw(Method::DELETE, &path, Some(&owner.token), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, organizations) = facade.get(&owner, "/platform/organizations").await;
    assert!(
        organizations
            .as_array()
            .expect("list")
            .iter()
            .all(|o| o["slug"] != slug)
    );
    Ok(())
}

#[tokio::test]
async fn cors_admits_only_the_configured_studio_origin() -> anyhow::Result<()> {
    let facade = TestFacade::start_with(|config| {
        config.studio_origin = Some("https://studio.example.com".into());
    })
    .await?;
    let preflight = |origin: &'static str| {
        axum::http::Request::builder()
            .method(Method::OPTIONS)
            .uri("/platform/profile")
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .body(axum::body::Body::empty())
            .expect("request")
    };
    use tower::ServiceExt;
    let allowed = facade
        .router
        .clone()
        .oneshot(preflight("https://studio.example.com"))
        .await?;
    assert_eq!(
        allowed
            .headers()
            .get("access-control-allow-origin")
            .map(|v| v.as_bytes()),
        Some(&b"https://studio.example.com"[..])
    );
    let refused = facade
        .router
        .clone()
        .oneshot(preflight("https://evil.example.com"))
        .await?;
    assert!(
        refused
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    Ok(())
}

#[tokio::test]
async fn answers_without_a_body_say_so_for_studios_client() -> anyhow::Result<()> {
    use tower::ServiceExt;
    let facade = TestFacade::start().await?;
    let user = User::new("empty");
    for (method, path) in [
        (Method::POST, "/platform/profile/audit-login"),
        (Method::POST, "/platform/telemetry/event"),
    ] {
        let request = axum::http::Request::builder()
            .method(method.clone())
            .uri(path)
            .header("authorization", format!("Bearer {}", user.token))
            .body(axum::body::Body::empty())?;
        let response = facade.router.clone().oneshot(request).await?;
        assert!(response.status().is_success(), "{method} {path}");
        let empty = response.status() == StatusCode::NO_CONTENT
            || response
                .headers()
                .get("content-length")
                .map(|v| v.as_bytes())
                == Some(b"0");
        assert!(
            empty,
            "{method} {path} answers an empty body without Content-Length: 0"
        );
    }
    Ok(())
}

/// Reads from `stream` until the server closes it; how long that took.
async fn time_until_closed(stream: &mut tokio::net::TcpStream) -> std::time::Duration {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 1024];
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(20), stream.read(&mut buffer))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return started.elapsed(),
            Ok(Ok(_)) => continue,
            Err(_) => return started.elapsed(),
        }
    }
}

#[tokio::test]
async fn idle_and_trickling_connections_are_closed_after_the_header_timeout() -> anyhow::Result<()>
{
    use supaplane_facade::server::{ConnectionLimits, serve};
    use tokio::io::AsyncWriteExt;
    let facade = TestFacade::start().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let limits = ConnectionLimits {
        header_read_timeout: std::time::Duration::from_secs(1),
        max_header_bytes: 64 * 1024,
    };
    let server = tokio::spawn(serve(
        listener,
        facade.router.clone(),
        limits,
        std::future::pending(),
    ));

    // A connection that never sends a byte.
    let mut idle = tokio::net::TcpStream::connect(address).await?;
    let waited = time_until_closed(&mut idle).await;
    assert!(
        waited < std::time::Duration::from_secs(5),
        "idle for {waited:?}"
    );

    // A client sending one header line every 300 ms, never finishing.
    let mut trickle = tokio::net::TcpStream::connect(address).await?;
    trickle
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await?;
    let writer = async {
        for line in 0..30 {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if trickle
                .write_all(format!("X-Slow-{line}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return line;
            }
        }
        30
    };
    let lines = writer.await;
    assert!(
        lines < 30,
        "the server took {lines} header lines without closing"
    );

    // A whole request is served, and a kept-alive connection is closed
    // once idle past the timeout too.
    let mut client = tokio::net::TcpStream::connect(address).await?;
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut answer = vec![0u8; 512];
    let read = tokio::io::AsyncReadExt::read(&mut client, &mut answer).await?;
    assert!(String::from_utf8_lossy(&answer[..read]).starts_with("HTTP/1.1 200"));
    let waited = time_until_closed(&mut client).await;
    assert!(
        waited < std::time::Duration::from_secs(5),
        "kept alive for {waited:?}"
    );
    server.abort();
    Ok(())
}

#[tokio::test]
async fn every_error_answer_is_json_and_bodies_must_be_objects() -> anyhow::Result<()> {
    let facade = TestFacade::start_with(|config| config.body_limit_bytes = 1024).await?;
    let user = User::new("shaper");
    // Too large a body: 413, JSON.
    let (status, body) = facade
        .raw(
            Method::POST,
            "/platform/organizations",
            Some(&user.token),
            Some(format!("{{\"name\": \"{}\"}}", "x".repeat(4096))),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(body["message"].is_string(), "{body}");
    // An array where an object is expected.
    let (status, body) = facade
        .raw(
            Method::POST,
            "/platform/organizations",
            Some(&user.token),
            Some(r#"["Acme", "tier_free", "COMPANY", "1"]"#.into()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["message"], "The request body must be a JSON object");
    // A wrong method and a query that does not parse.
    let (status, body) = facade
        .raw(Method::PUT, "/platform/profile", Some(&user.token), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(body["message"].is_string(), "{body}");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let (status, body) = facade
        .raw(
            Method::GET,
            &format!("/platform/organizations/{slug}/projects?limit=many"),
            Some(&user.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["message"].is_string(), "{body}");
    Ok(())
}

fn says_limit(answer: &Value, flag: &str) -> bool {
    answer["message"]
        .as_str()
        .is_some_and(|m| m.contains("Limit reached") && m.contains(flag))
}

#[tokio::test]
async fn what_one_user_can_make_is_bounded_by_configured_limits() -> anyhow::Result<()> {
    let facade = TestFacade::start_with(|config| {
        config.max_organizations_per_user = 2;
        config.max_projects_per_organization = 1;
        config.max_invitations_per_organization = 1;
        config.max_access_tokens_per_user = 1;
    })
    .await?;
    let user = User::new("bounded");
    let mut slugs = Vec::new();
    for n in 0..2 {
        let (status, made) = facade
            .send(
                &user,
                Method::POST,
                "/platform/organizations",
                json!({"name": format!("Org {n}"), "tier": "tier_free"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        slugs.push(made["slug"].as_str().expect("slug").to_string());
    }
    let (status, refused) = facade
        .send(
            &user,
            Method::POST,
            "/platform/organizations",
            json!({"name": "Org 3", "tier": "tier_free"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        says_limit(&refused, "--max-organizations-per-user"),
        "{refused}"
    );

    let (status, _) = facade
        .send(
            &user,
            Method::POST,
            "/platform/projects",
            create_body(&slugs[0], "One"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) = facade
        .send(
            &user,
            Method::POST,
            "/platform/projects",
            create_body(&slugs[0], "Two"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        says_limit(&refused, "--max-projects-per-organization"),
        "{refused}"
    );

    let invitations = format!("/platform/organizations/{}/members/invitations", slugs[0]);
    let (status, _) = facade
        .send(
            &user,
            Method::POST,
            &invitations,
            json!({"email": "a@example.com", "role_id": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Re-inviting the same address replaces, and is not one more.
    let (status, _) = facade
        .send(
            &user,
            Method::POST,
            &invitations,
            json!({"email": "a@example.com", "role_id": 4}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) = facade
        .send(
            &user,
            Method::POST,
            &invitations,
            json!({"email": "b@example.com", "role_id": 3}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        says_limit(&refused, "--max-invitations-per-organization"),
        "{refused}"
    );

    let tokens = "/platform/profile/access-tokens";
    for (case, body) in [
        ("NUL in the name", json!({"name": "ci\u{0}"})),
        ("line break in the name", json!({"name": "ci\nadmin"})),
        (
            "700 KB scope",
            json!({"name": "ci", "scope": "x".repeat(700_000)}),
        ),
    ] {
        let (status, answer) = facade.send(&user, Method::POST, tokens, body).await;
        assert!(status.is_client_error(), "{case}: {status} {answer}");
        assert!(answer["message"].is_string(), "{case}: {answer}");
    }
    let (status, _) = facade
        .send(&user, Method::POST, tokens, json!({"name": "ci"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, refused) = facade
        .send(&user, Method::POST, tokens, json!({"name": "ci 2"}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        says_limit(&refused, "--max-access-tokens-per-user"),
        "{refused}"
    );
    Ok(())
}

#[tokio::test]
async fn writes_past_the_per_user_rate_are_refused_with_429() -> anyhow::Result<()> {
    let facade = TestFacade::start_with(|config| config.writes_per_minute = 3).await?;
    let hasty = User::new("hasty");
    let calm = User::new("calm");
    let mut statuses = Vec::new();
    for n in 0..5 {
        let (status, answer) = facade
            .send(
                &hasty,
                Method::POST,
                "/platform/organizations",
                json!({"name": format!("Hasty {n}"), "tier": "tier_free"}),
            )
            .await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                answer["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("a minute")
            );
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(statuses[4], StatusCode::TOO_MANY_REQUESTS);
    // Reads are not limited, nor are other users.
    let (status, _) = facade.get(&hasty, "/platform/organizations").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade
        .send(
            &calm,
            Method::POST,
            "/platform/organizations",
            json!({"name": "Calm", "tier": "tier_free"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    Ok(())
}

#[tokio::test]
async fn a_facade_restarted_mid_request_shows_the_same_truth_after() -> anyhow::Result<()> {
    use supaplane_crds::constants::LABEL_ORGANIZATION;
    let user = User::new("restarter");
    let first = TestFacade::start().await?;
    let slug = first
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    // The first facade goes away while a create is in flight.
    let create = first.send(
        &user,
        Method::POST,
        "/platform/projects",
        create_body(&slug, "In flight"),
    );
    let _ = tokio::time::timeout(std::time::Duration::from_millis(5), create).await;
    drop(first);

    let second = TestFacade::start().await?;
    let selector = format!("{LABEL_ORGANIZATION}={slug}");
    let projects = Api::<Project>::all(second.client());
    // Whatever the first one finished, the second one lists, and the user
    // carries on with it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let made = projects
            .list(&ListParams::default().labels(&selector))
            .await?
            .items;
        let (status, listed) = second
            .get(&user, &format!("/platform/organizations/{slug}/projects"))
            .await;
        assert_eq!(status, StatusCode::OK);
        let shown = listed["projects"].as_array().map(Vec::len).unwrap_or(0);
        if shown == made.len() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{shown} shown, {} made",
            made.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, created) = second
        .send(
            &user,
            Method::POST,
            "/platform/projects",
            create_body(&slug, "After"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let project_ref = created["ref"].as_str().expect("ref");
    let (status, detail) = second
        .get(&user, &format!("/platform/projects/{project_ref}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(detail["name"], "After");
    Ok(())
}

#[tokio::test]
async fn entitlements_offer_pausing_as_studio_reads_them() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("entitled");
    let outsider = User::new("outsider");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    // Studio's request, as `useCheckEntitlements` makes it.
    let (status, answer) = facade
        .get(
            &owner,
            &format!("/platform/organizations/{slug}/entitlements"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let entitlements = answer["entitlements"].as_array().expect("entitlements");
    // What Studio reads: `feature.key` and `hasAccess`; a missing key is no.
    let has = |key: &str| {
        entitlements
            .iter()
            .any(|e| e["feature"]["key"] == key && e["hasAccess"] == true)
    };
    assert!(has("project_pausing"), "{answer}");
    assert!(has("project_restore_after_expiry"));
    for absent in [
        "instances.read_replicas",
        "custom_domain",
        "branching_limit",
        "log_drains",
    ] {
        assert!(!has(absent), "{absent} is not offered here");
    }
    // Studio shows the backups list only with backup.retention_days.
    assert!(has("backup.retention_days"));
    for entitlement in entitlements {
        assert_eq!(entitlement["type"], entitlement["feature"]["type"]);
        if entitlement["feature"]["key"] == "backup.retention_days" {
            assert_eq!(
                entitlement["config"],
                json!({"enabled": true, "unit": "days", "unlimited": true, "value": 0})
            );
        } else {
            assert_eq!(entitlement["type"], "boolean");
            assert_eq!(entitlement["config"], json!({"enabled": true}));
        }
    }
    let (status, _) = facade
        .get(
            &outsider,
            &format!("/platform/organizations/{slug}/entitlements"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    Ok(())
}

#[tokio::test]
async fn studio_restarts_a_project_or_its_database_by_annotating_it() -> anyhow::Result<()> {
    use supaplane_crds::constants::RESTART_ANNOTATION_PREFIX;
    let facade = TestFacade::start().await?;
    let owner = User::new("restarter");
    let developer = User::new("developer");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&developer, OrganizationRole::Developer),
        ])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    write_status(&facade, &project, json!({"status": "ACTIVE_HEALTHY"})).await?;
    let restarts = |p: &Project| -> Vec<String> {
        p.metadata
            .annotations
            .iter()
            .flatten()
            .filter_map(|(k, _)| k.strip_prefix(RESTART_ANNOTATION_PREFIX).map(String::from))
            .collect()
    };
    let projects = Api::<Project>::all(facade.client());

    // Studio offers Restart unless the provider is AWS_K8S.
    let (_, detail) = facade
        .get(&owner, &format!("/platform/projects/{project}"))
        .await;
    assert_ne!(detail["cloud_provider"], "AWS_K8S");

    // "Restart database": Studio's exact request.
    let (status, body) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/restart-services"),
            json!({"restartRequest": {"region": "local", "services": ["postgresql"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(restarts(&projects.get(&project).await?), ["db"]);

    // "Restart project": every workload.
    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/restart"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let mut all = restarts(&projects.get(&project).await?);
    all.sort();
    let mut expected = supaplane_crds::constants::WORKLOADS
        .map(String::from)
        .to_vec();
    expected.sort();
    assert_eq!(all, expected);

    // Not for Developers, not for unknown services, not while paused.
    let (status, _) = facade
        .send(
            &developer,
            Method::POST,
            &format!("/v1/projects/{project}/restart"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/restart-services"),
            json!({"restartRequest": {"services": ["edge-functions"]}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/v1/projects/{project}/restart"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    Ok(())
}

#[tokio::test]
async fn the_home_page_of_a_healthy_project_says_healthy() -> anyhow::Result<()> {
    use supaplane_crds::conditions;
    let facade = TestFacade::start().await?;
    let owner = User::new("home");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let ready = |type_: &str| {
        json!({"type": type_, "status": "True", "reason": "RolledOut", "message": "",
               "lastTransitionTime": now})
    };
    write_status(
        &facade,
        &project,
        json!({"status": "ACTIVE_HEALTHY", "conditions": [
            ready(conditions::DATABASE_READY), ready(conditions::AUTH_READY),
            ready(conditions::REST_READY), ready(conditions::REALTIME_READY),
            ready(conditions::STORAGE_READY)]}),
    )
    .await?;
    // Studio's request (openapi-fetch, arrays as form without explode).
    let (status, health) = facade
        .get(
            &owner,
            &format!("/v1/projects/{project}/health?services=auth,realtime,rest,storage,db"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{health}");
    let (_, profile) = facade.get(&owner, "/platform/profile").await;
    let disabled: Vec<&str> = profile["disabled_features"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // ProjectHome/ServiceStatus: one row per enabled service, a missing
    // answer counting as UNHEALTHY; Edge Functions' row only when enabled
    // (its check goes to supabase.co, which a self-hosted project never
    // passes).
    let mut rows: Vec<String> = ["db", "rest", "auth", "realtime", "storage"]
        .iter()
        .map(|name| {
            health
                .as_array()
                .and_then(|all| all.iter().find(|s| s["name"] == *name))
                .and_then(|s| s["status"].as_str())
                .unwrap_or("UNHEALTHY")
                .to_string()
        })
        .collect();
    if !disabled.contains(&"project_edge_function:all") {
        rows.push("UNHEALTHY".into());
    }
    let label = if rows.iter().any(|s| s == "COMING_UP") {
        "Coming up..."
    } else if rows.iter().any(|s| s == "UNHEALTHY") {
        "Unhealthy"
    } else {
        "Healthy"
    };
    assert_eq!(label, "Healthy", "{health} {profile}");
    Ok(())
}

#[tokio::test]
async fn storage_settings_versions_and_temporary_keys_as_studio_calls_them() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let reader = User::new("reader");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&reader, OrganizationRole::ReadOnly),
        ])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    let jwt_secret = "the-project-jwt-secret-of-enough-length";
    facade
        .write_keys(&project, &[(keys_secret::JWT_SECRET, jwt_secret)])
        .await?;
    let storage = format!("/platform/projects/{project}/config/storage");

    let (status, config) = facade.get(&reader, &storage).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["fileSizeLimit"], 50 * 1024 * 1024);
    assert_eq!(config["features"]["imageTransformation"]["enabled"], true);
    assert_eq!(config["features"]["s3Protocol"]["enabled"], false);
    assert_eq!(config["capabilities"]["list_v2"], false);
    assert_eq!(config["external"]["upstreamTarget"], "main");

    // Storage settings' Save: Studio's exact body.
    let save = json!({"fileSizeLimit": 104857600,
        "features": {"imageTransformation": {"enabled": true}, "s3Protocol": {"enabled": false}}});
    let (status, _) = facade
        .send(&reader, Method::PATCH, &storage, save.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, saved) = facade.send(&owner, Method::PATCH, &storage, save).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["fileSizeLimit"], 104857600);
    let stored = Api::<Project>::all(facade.client()).get(&project).await?;
    assert_eq!(stored.spec.storage.file_size_limit_bytes, Some(104857600));
    for refused in [
        json!({"features": {"s3Protocol": {"enabled": true}}}),
        json!({"features": {"imageTransformation": {"enabled": false}}}),
        json!({"fileSizeLimit": 0}),
    ] {
        let (status, body) = facade
            .send(&owner, Method::PATCH, &storage, refused.clone())
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}: {body}");
    }

    let (status, versions) = facade
        .get(
            &reader,
            &format!("/platform/projects/{project}/service-versions"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(versions["gotrue"], "v2.186.0");
    assert_eq!(versions["postgrest"], "v14.5");
    assert_eq!(
        versions["supabase-postgres"],
        supaplane_crds::images::postgres_release(PostgresVersion::V17)
    );

    // The Realtime inspector's request.
    let temporary = format!(
        "/platform/projects/{project}/api-keys/temporary?authorization_exp=3600&claims=%7B%22role%22%3A%22service_role%22%7D"
    );
    let (status, key) = facade
        .send(&owner, Method::POST, &temporary, json!({}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Value>(
        key["api_key"].as_str().expect("api_key"),
        &jsonwebtoken::DecodingKey::from_secret(jwt_secret.as_bytes()),
        &validation,
    )?
    .claims;
    assert_eq!(claims["role"], "service_role");
    let lifetime = claims["exp"].as_i64().unwrap_or(0) - chrono::Utc::now().timestamp();
    assert!((3500..=3600).contains(&lifetime), "{lifetime}");
    let (status, _) = facade
        .send(&reader, Method::POST, &temporary, json!({}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "Read-only members get no service key"
    );
    let (status, anon) = facade
        .send(
            &reader,
            Method::POST,
            &format!("/platform/projects/{project}/api-keys/temporary"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{anon}");
    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/api-keys/temporary?authorization_exp=86400"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    Ok(())
}

#[tokio::test]
async fn pages_about_what_is_not_offered_answer_what_is_true_to_members_only() -> anyhow::Result<()>
{
    let facade = TestFacade::start().await?;
    let member = User::new("member");
    let outsider = User::new("outsider");
    let slug = facade
        .organization_with(&[(&member, OrganizationRole::Developer)])
        .await?;
    facade
        .organization_with(&[(&outsider, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    for (_, template) in supaplane_facade::api::platform::not_offered::NOT_OFFERED_ENDPOINTS {
        let path = template.replace("{slug}", &slug).replace("{ref}", &project);
        let (status, body) = facade.get(&member, &path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let (status, _) = facade.get(&outsider, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // "None" as the 404 Studio reads as none, with the message it looks for.
    let (status, sso) = facade
        .get(&member, &format!("/platform/organizations/{slug}/sso"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        sso["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Failed to find an existing SSO Provider"),
        "{sso}"
    );
    let (status, github) = facade
        .get(&member, "/platform/integrations/github/authorization")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_ne!(github["message"], "No such endpoint");
    let (_, metrics) = facade
        .get(
            &member,
            &format!("/platform/projects/{project}/infra-monitoring?attributes=cpu_usage,ram_usage&startDate=2026-12-01&endDate=2026-12-02&interval=1h"),
        )
        .await;
    assert_eq!(metrics["data"], json!([]));
    assert_eq!(metrics["series"]["cpu_usage"]["total"], 0);
    assert_eq!(metrics["series"]["ram_usage"]["yAxisLimit"], 0);
    let (_, payments) = facade
        .get(&member, &format!("/platform/organizations/{slug}/payments"))
        .await;
    assert_eq!(
        payments,
        json!({"data": [], "defaultPaymentMethodId": null})
    );
    // Studio counts invoices with a HEAD request.
    let request = axum::http::Request::builder()
        .method(Method::HEAD)
        .uri(format!("/platform/organizations/{slug}/billing/invoices"))
        .header("authorization", format!("Bearer {}", member.token))
        .body(axum::body::Body::empty())?;
    let response = tower::ServiceExt::oneshot(facade.router.clone(), request).await?;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response
            .headers()
            .get("x-total-count")
            .and_then(|v| v.to_str().ok()),
        Some("0")
    );
    Ok(())
}

/// Studio's ConfigCat flags, read by ConfigCat's own SDK the way Studio
/// reads them; then project creation as Studio does it with smart regions
/// on: the configured regions, the recommended one preselected by name and
/// sent back as `region_selection`.
#[tokio::test]
async fn studio_flags_turn_on_the_configured_regions_and_versions() -> anyhow::Result<()> {
    let facade = TestFacade::start_with(|config| {
        config.regions = vec!["eu-central=Frankfurt".into(), "us-east=Virginia".into()];
    })
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let server = tokio::spawn(axum::serve(listener, facade.router.clone()).into_future());

    let sdk =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/configcat/node_modules");
    anyhow::ensure!(
        sdk.join("configcat-node").exists(),
        "ConfigCat's SDK is not installed at {}: run `make test-deps`",
        sdk.display()
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configcat/read-flags.js");
    // No credentials: Studio loads its flags before sign-in.
    let output = tokio::process::Command::new("node")
        .arg(&script)
        .arg(format!("http://{address}/platform/configcat"))
        .env("NODE_PATH", &sdk)
        .output()
        .await?;
    server.abort();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let flags: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(flags["enableSmartRegion"], true, "{flags}");
    assert_eq!(flags["showPostgresVersionSelector"], true, "{flags}");
    assert_eq!(flags["disableProjectRestarts"], false, "{flags}");

    let user = User::new("regions");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let (status, regions) = facade
        .get(
            &user,
            &format!("/platform/projects/available-regions?cloud_provider=AWS&organization_slug={slug}&desired_instance_size=micro"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{regions}");
    let names: Vec<&str> = regions["all"]["specific"]
        .as_array()
        .expect("specific regions")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["Frankfurt", "Virginia"]);
    // Studio preselects the recommended group's name, then sends whichever
    // offered region carries that name.
    let preselected = regions["recommendations"]["smartGroup"]["name"].clone();
    let selection = regions["all"]["smartGroup"]
        .as_array()
        .into_iter()
        .chain(regions["all"]["specific"].as_array())
        .flatten()
        .find(|r| r["name"] == preselected)
        .cloned()
        .expect("the preselected region is one Studio lists");
    assert_eq!(
        regions["recommendations"]["specific"][0]["code"],
        "eu-central"
    );
    let (status, created) = facade
        .send(
            &user,
            Method::POST,
            "/platform/projects",
            json!({
                "name": "Regional", "organization_slug": slug, "db_pass": "a-strong-password-1",
                "cloud_provider": "AWS", "db_pricing_tier_id": "tier_free",
                "region_selection": selection, "postgres_engine": "15", "release_channel": "ga",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let project = Api::<Project>::all(facade.client())
        .get(created["ref"].as_str().expect("ref"))
        .await?;
    assert_eq!(project.spec.region, "eu-central");
    assert_eq!(project.spec.postgres_version, PostgresVersion::V15);
    Ok(())
}

/// Account → Audit logs: a user's own successful changes, as Studio asks
/// for them (a time window) and reads them; another user's are not shown,
/// refused changes are not recorded, and `kubectl get events` shows them.
#[tokio::test]
async fn a_users_changes_show_in_their_audit_log_and_as_events() -> anyhow::Result<()> {
    use k8s_openapi::api::events::v1::Event;
    let facade = TestFacade::start().await?;
    let ada = User::new("ada");
    let bob = User::new("bob");
    let slug = facade
        .organization_with(&[
            (&ada, OrganizationRole::Owner),
            (&bob, OrganizationRole::ReadOnly),
        ])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (status, _) = facade
        .send(
            &ada,
            Method::POST,
            &format!("/platform/projects/{project}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade
        .send(
            &ada,
            Method::PATCH,
            &format!("/platform/organizations/{slug}"),
            json!({"name": "Renamed"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // Refused: not recorded.
    let (status, _) = facade
        .send(
            &bob,
            Method::POST,
            &format!("/platform/projects/{project}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Studio's page asks for the last day, in milliseconds-precise ISO.
    let window = |from: chrono::DateTime<chrono::Utc>| {
        format!(
            "/platform/profile/audit?iso_timestamp_start={}&iso_timestamp_end={}",
            from.format("%Y-%m-%dT%H:%M:%S%.3fZ"),
            (chrono::Utc::now() + chrono::Duration::seconds(5)).format("%Y-%m-%dT%H:%M:%S%.3fZ")
        )
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let logs = loop {
        let (status, logs) = facade
            .get(&ada, &window(started - chrono::Duration::days(1)))
            .await;
        assert_eq!(status, StatusCode::OK, "{logs}");
        if logs["result"].as_array().is_some_and(|r| r.len() >= 2)
            || tokio::time::Instant::now() > deadline
        {
            break logs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let result = logs["result"].as_array().expect("result");
    assert_eq!(result.len(), 2, "{logs}");
    // Newest first, in the fields Studio's table reads.
    assert_eq!(
        result[0]["action"]["name"],
        "PATCH /platform/organizations/{slug}"
    );
    assert_eq!(result[0]["action"]["metadata"][0]["status"], 200);
    assert_eq!(result[0]["target"]["metadata"]["org_slug"], slug);
    assert_eq!(
        result[1]["action"]["metadata"][0]["route"],
        "/platform/projects/{ref}/pause"
    );
    assert_eq!(result[1]["target"]["metadata"]["project_ref"], project);
    assert_eq!(result[1]["actor"]["id"], ada.id);
    assert_eq!(result[1]["actor"]["metadata"][0]["email"], ada.email);
    assert!(
        result[0]["occurred_at"].as_str().expect("time")
            >= result[1]["occurred_at"].as_str().expect("time")
    );

    // Bob refused, so nothing of his; a window before the changes is empty.
    let (_, bobs) = facade
        .get(&bob, &window(started - chrono::Duration::days(1)))
        .await;
    assert_eq!(bobs["result"], json!([]));
    let (_, before) = facade
        .get(&ada, &format!(
            "/platform/profile/audit?iso_timestamp_start=2026-01-01T00:00:00Z&iso_timestamp_end={}",
            (started - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ")))
        .await;
    assert_eq!(before["result"], json!([]));
    let (status, bad) = facade
        .get(
            &ada,
            "/platform/profile/audit?iso_timestamp_start=yesterday",
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");

    // What kubectl shows: Events in the facade's namespace, saying who.
    let events: Api<Event> = Api::namespaced(facade.client(), &facade.state.config.namespace);
    let notes: Vec<String> = events
        .list(&ListParams::default().labels(&format!(
            "{}={}",
            supaplane_facade::middleware::audit::LABEL_ACTOR,
            supaplane_facade::middleware::audit::actor_label(&ada.id)
        )))
        .await?
        .items
        .into_iter()
        .filter_map(|e| e.note)
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n == &format!("{}: POST /platform/projects/{{ref}}/pause → 200", ada.email)),
        "{notes:?}"
    );
    Ok(())
}

/// Studio's SQL editor, request by request (`apps/studio/state/sql-editor-v2.ts`
/// and `data/content/*`): autosave by PUT, rename, a folder, favourite,
/// share, paging, counts and delete; what other members see; and that it
/// is all `UserContent` in the project's namespace, there for a facade
/// started afresh.
#[tokio::test]
async fn sql_snippets_are_saved_shared_and_foldered_as_studio_does() -> anyhow::Result<()> {
    use supaplane_crds::{ContentFolder, UserContent};
    let facade = TestFacade::start().await?;
    let ada = User::new("ada");
    let dev = User::new("dev");
    let reader = User::new("reader");
    let slug = facade
        .organization_with(&[
            (&ada, OrganizationRole::Owner),
            (&dev, OrganizationRole::Developer),
            (&reader, OrganizationRole::ReadOnly),
        ])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    facade.write_keys(&project, &[]).await?;
    let base = format!("/platform/projects/{project}/content");
    let (_, detail) = facade
        .get(&ada, &format!("/platform/projects/{project}"))
        .await;
    let (_, profile) = facade.get(&ada, "/platform/profile").await;

    // Typing a new snippet: Studio's autosave body, with its client uuid.
    let id = uuid::Uuid::new_v4().to_string();
    let autosave = |sql: &str, favorite: bool| {
        json!({"id": id, "type": "sql", "name": "Untitled query", "description": "", "visibility": "user",
               "project_id": detail["id"], "owner_id": profile["id"], "favorite": favorite,
               "content": {"schema_version": "1.0", "content_id": id, "sql": sql}})
    };
    let (status, saved) = facade
        .send(&ada, Method::PUT, &base, autosave("select 1", false))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["id"], id);
    assert_eq!(saved["owner_id"], profile["id"]);
    assert_eq!(saved["project_id"], detail["id"]);
    let (status, _) = facade
        .send(&ada, Method::PUT, &base, autosave("select 2", false))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, item) = facade.get(&ada, &format!("{base}/item/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(item["content"]["sql"], "select 2");
    assert_eq!(item["visibility"], "user");

    // Rename: the item spread back with a new name (extra keys and all).
    let mut renamed = item.clone();
    renamed["name"] = json!("Top customers");
    renamed["isNotSavedInDatabaseYet"] = json!(false);
    let (status, _) = facade.send(&ada, Method::PUT, &base, renamed).await;
    assert_eq!(status, StatusCode::OK);

    // A folder, then the move (no `favorite` in the body).
    let (status, folder) = facade
        .send(
            &ada,
            Method::POST,
            &format!("{base}/folders"),
            json!({"name": "Reports"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{folder}");
    let folder_id = folder["id"].as_str().expect("folder id").to_string();
    let (status, taken) = facade
        .send(
            &ada,
            Method::POST,
            &format!("{base}/folders"),
            json!({"name": "Reports"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        taken["message"]
            .as_str()
            .unwrap_or_default()
            .contains("create")
    );
    let (status, _) = facade
        .send(
            &ada,
            Method::PUT,
            &base,
            json!({"id": id, "type": "sql", "name": "Top customers",
            "visibility": "user", "project_id": detail["id"], "owner_id": profile["id"],
            "folder_id": folder_id, "content": item["content"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let root = "?type=sql&limit=100&sort_by=inserted_at&sort_order=desc&visibility=user";
    let (_, top) = facade.get(&ada, &format!("{base}/folders{root}")).await;
    assert_eq!(top["data"]["folders"][0]["name"], "Reports");
    assert_eq!(top["data"]["contents"], json!([]));
    let (_, inside) = facade
        .get(
            &ada,
            &format!("{base}/folders/{folder_id}?limit=100&sort_by=inserted_at&sort_order=desc"),
        )
        .await;
    assert_eq!(inside["data"]["contents"][0]["id"], id);
    assert_eq!(inside["data"]["contents"][0]["folder_id"], folder_id);
    assert_eq!(inside["data"]["contents"][0]["name"], "Top customers");

    // Favourite from the sidebar, content never loaded: no `sql` in the
    // body, and the stored query stays.
    let (status, _) = facade
        .send(
            &ada,
            Method::PUT,
            &base,
            json!({"id": id, "type": "sql", "name": "Top customers",
            "description": "", "visibility": "user", "folder_id": folder_id, "favorite": true,
            "content": {"content_id": id}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, item) = facade.get(&ada, &format!("{base}/item/{id}")).await;
    assert_eq!(
        (item["favorite"].clone(), item["content"]["sql"].clone()),
        (json!(true), json!("select 2"))
    );

    // Private: nobody else sees it, nor can take its id.
    let (status, hidden) = facade.get(&dev, &format!("{base}/item/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        hidden["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Content not found")
    );
    let (status, _) = facade
        .send(&dev, Method::PUT, &base, autosave("drop table x", false))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A shared snippet cannot sit in a folder; sharing moves it to the top.
    let mut shared = item.clone();
    shared["visibility"] = json!("project");
    let (status, _) = facade.send(&ada, Method::PUT, &base, shared.clone()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    shared["folder_id"] = Value::Null;
    let (status, _) = facade.send(&ada, Method::PUT, &base, shared.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let shared_list = "?type=sql&visibility=project&limit=100&sort_by=inserted_at&sort_order=desc";
    for member in [&dev, &reader] {
        let (_, listed) = facade.get(member, &format!("{base}{shared_list}")).await;
        assert_eq!(listed["data"][0]["id"], id, "{listed}");
        assert_eq!(
            listed["data"][0]["favorite"], false,
            "favourites are per user"
        );
    }
    // Others may mark it a favourite for themselves, not change it; the
    // read-only member writes nothing.
    let mut theirs = shared.clone();
    theirs["favorite"] = json!(true);
    let (status, _) = facade.send(&dev, Method::PUT, &base, theirs.clone()).await;
    assert_eq!(status, StatusCode::OK);
    theirs["content"]["sql"] = json!("drop table customers");
    let (status, _) = facade.send(&dev, Method::PUT, &base, theirs.clone()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = facade
        .send(&reader, Method::PUT, &base, shared.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, dev_count) = facade.get(&dev, &format!("{base}/count?type=sql")).await;
    assert_eq!(
        dev_count,
        json!({"favorites": 1, "private": 0, "shared": 1})
    );
    let (_, item) = facade.get(&ada, &format!("{base}/item/{id}")).await;
    assert_eq!(item["content"]["sql"], "select 2");

    // Paging: 5 more private snippets, two pages of 3 by name.
    for n in 0..5 {
        let other = uuid::Uuid::new_v4().to_string();
        let (status, _) = facade
            .send(
                &ada,
                Method::PUT,
                &base,
                json!({"id": other, "type": "sql", "name": format!("q{n}"),
                "visibility": "user", "content": {"sql": format!("select {n}")}}),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (_, first) = facade
        .get(
            &ada,
            &format!("{base}?type=sql&limit=3&sort_by=name&sort_order=asc"),
        )
        .await;
    let names = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i["name"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(names(&first), ["q0", "q1", "q2"]);
    let cursor = first["cursor"].as_str().expect("a next page").to_string();
    let (_, second) = facade
        .get(
            &ada,
            &format!("{base}?type=sql&cursor={cursor}&limit=3&sort_by=name&sort_order=asc"),
        )
        .await;
    assert_eq!(names(&second), ["q3", "q4", "Top customers"]);
    assert!(
        second.get("cursor").is_none(),
        "the last page has no cursor"
    );
    let (_, counted) = facade
        .get(&ada, &format!("{base}/count?type=sql&name=Q"))
        .await;
    assert_eq!(counted, json!({"favorites": 0, "private": 5, "shared": 0}));

    // Too large: refused whole, nothing changed.
    let mut huge = shared.clone();
    huge["content"]["sql"] = json!("x".repeat(300 * 1024));
    let (status, _) = facade.send(&ada, Method::PUT, &base, huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, bad) = facade.get(&ada, &format!("{base}/item/not-a-uuid")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Invalid uuid")
    );

    // Kubernetes holds it all, in the project's namespace: a new facade
    // reads the same.
    let namespace = project_namespace(&project);
    let stored = Api::<UserContent>::namespaced(facade.client(), &namespace)
        .get(&id)
        .await?;
    assert_eq!(stored.spec.owner, ada.id);
    assert_eq!(stored.spec.content["sql"], "select 2");
    let again = TestFacade::start().await?;
    let (_, item) = again.get(&ada, &format!("{base}/item/{id}")).await;
    assert_eq!(item["name"], "Top customers");

    // Delete, as Studio sends ids (comma encoded); then the folder, which
    // takes its snippets with it.
    let (status, gone) = facade
        .raw(
            Method::DELETE,
            &format!("{base}?ids={id}%2C{}", uuid::Uuid::new_v4()),
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone, json!([{"id": id}]));
    let inner = uuid::Uuid::new_v4().to_string();
    let (status, _) = facade
        .send(
            &ada,
            Method::PUT,
            &base,
            json!({"id": inner, "type": "sql", "name": "in folder",
            "visibility": "user", "folder_id": folder_id, "content": {"sql": "select 3"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &format!("{base}/folders?ids={folder_id}"),
            Some(&ada.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        Api::<UserContent>::namespaced(facade.client(), &namespace)
            .get_opt(&inner)
            .await?
            .is_none()
    );
    assert!(
        Api::<ContentFolder>::namespaced(facade.client(), &namespace)
            .get_opt(&folder_id)
            .await?
            .is_none()
    );
    Ok(())
}

/// Studio's log pages, with the SQL its generators write, answered from the
/// project's pods' logs as the API server serves them (`pods/log`; on our
/// control plane a stand-in for the node's kubelet serves the files the test
/// writes).
#[tokio::test]
async fn log_pages_read_the_project_pods_logs() -> anyhow::Result<()> {
    use k8s_openapi::api::core::v1::Pod;
    let facade = TestFacade::start().await?;
    let Some(plane) = facade.cluster.control_plane() else {
        // Another cluster's kubelets hold other logs: nothing to assert.
        return Ok(());
    };
    let member = User::new("member");
    let outsider = User::new("outsider");
    let slug = facade
        .organization_with(&[(&member, OrganizationRole::ReadOnly)])
        .await?;
    facade
        .organization_with(&[(&outsider, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    facade.write_keys(&project, &[]).await?;
    let namespace = project_namespace(&project);
    let pods: Api<Pod> = Api::namespaced(facade.client(), &namespace);
    for (pod, component) in [
        ("gateway-7d9f", "gateway"),
        ("auth-5c8b", "auth"),
        ("db-0", "db"),
    ] {
        pods.create(&Default::default(), &serde_json::from_value(json!({
            "metadata": {"name": pod, "labels": {"app.kubernetes.io/component": component}},
            "spec": {"nodeName": plane.node(), "containers": [{"name": component, "image": "example"}]},
        }))?)
        .await?;
    }
    let now = chrono::Utc::now();
    let at = |minutes_ago: i64| {
        (now - chrono::Duration::minutes(minutes_ago))
            .format("%Y-%m-%dT%H:%M:%S%.6fZ")
            .to_string()
    };
    let line = |minutes_ago: i64, text: &str| (at(minutes_ago), text.to_string());
    plane.write_pod_log(&namespace, "gateway-7d9f", "gateway", &[
        line(90, r#"10.0.0.1 - - [01/Dec/2026:08:00:00 +0000] "GET /rest/v1/old HTTP/1.1" 200 5 "-" "curl/8.0""#),
        line(9, r#"10.0.0.7 - - [01/Dec/2026:10:00:00 +0000] "GET /rest/v1/todos?select=* HTTP/1.1" 200 120 "-" "supabase-js/2""#),
        line(6, r#"10.0.0.7 - - [01/Dec/2026:10:03:00 +0000] "POST /auth/v1/token?grant_type=password HTTP/1.1" 400 80 "-" "supabase-js/2""#),
        line(3, r#"10.0.0.8 - - [01/Dec/2026:10:06:00 +0000] "GET /rest/v1/orders HTTP/1.1" 503 40 "-" "curl/8.0""#),
    ])?;
    plane.write_pod_log(&namespace, "auth-5c8b", "auth", &[
        line(8, r#"{"component":"api","level":"info","method":"GET","msg":"request completed","path":"/health","status":200}"#),
        line(5, r#"{"component":"api","level":"error","method":"POST","msg":"invalid login credentials","path":"/token","status":400,"error":"invalid_grant"}"#),
    ])?;
    plane.write_pod_log(&namespace, "db-0", "db", &[
        line(7, "2026-12-01 10:02:00.000 UTC [1] LOG:  database system is ready to accept connections"),
        line(4, "2026-12-01 10:05:00.000 UTC [77] ERROR:  relation \"orderz\" does not exist"),
    ])?;

    let start = (now - chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    // As Studio's client encodes them (percent-encoding all but unreserved).
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect()
    };
    let logs = |sql: &str, end: &str| {
        format!(
            "/platform/projects/{project}/analytics/endpoints/logs.all?iso_timestamp_start={}&iso_timestamp_end={}&sql={}",
            encode(&start),
            encode(end),
            encode(sql)
        )
    };
    // API Gateway page, as it opens (genDefaultQuery('edge_logs', {}, 100)).
    let edge_list = "select id, identifier, timestamp, event_message, request.method, request.path, request.search, response.status_code\n  from edge_logs\n  cross join unnest(metadata) as m\n  cross join unnest(m.request) as request\n  cross join unnest(m.response) as response\n  \n  order by timestamp desc\n  limit 100\n  ";
    let (status, page) = facade.get(&member, &logs(edge_list, "")).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let rows = page["result"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 3, "the hour before, not older: {page}");
    assert_eq!(rows[0]["path"], "/rest/v1/orders");
    assert_eq!(rows[0]["status_code"], 503);
    assert_eq!(rows[1]["method"], "POST");
    assert_eq!(rows[2]["search"], "?select=*");
    assert_eq!(
        rows[0]["timestamp"].as_i64().expect("µs").to_string().len(),
        16
    );
    assert!(rows[0]["timestamp"].as_i64() > rows[1]["timestamp"].as_i64());

    // Its filters and search: errors and warnings, GET, "orders".
    let filtered = "select id, identifier, timestamp, event_message, request.method, request.path, request.search, response.status_code\n  from edge_logs\n  cross join unnest(metadata) as m\n  cross join unnest(m.request) as request\n  cross join unnest(m.response) as response\n  where (response.status_code between 500 and 599 or response.status_code between 400 and 499) and (request.method = 'GET') and (regexp_contains(event_message, 'orders'))\n  order by timestamp desc\n  limit 100\n  ";
    let (_, page) = facade.get(&member, &logs(filtered, "")).await;
    assert_eq!(page["result"].as_array().map(Vec::len), Some(1), "{page}");
    let (_, count) = facade
        .get(&member, &logs("SELECT count(*) as count FROM edge_logs cross join unnest(metadata) as m\n  cross join unnest(m.request) as request\n  cross join unnest(m.response) as response where (regexp_contains(event_message, 'rest/v1'))", ""))
        .await;
    assert_eq!(count["result"], json!([{"count": 2}]));
    let chart = format!(
        "\nSELECT\n-- log-event-chart\n  timestamp_trunc(t.timestamp, minute) as timestamp,\n  count(CASE WHEN NOT (response.status_code >= 500 OR response.status_code >= 400 AND response.status_code < 500) THEN 1 END) as ok_count,\n  count(CASE WHEN response.status_code >= 500 THEN 1 END) as error_count,\n  count(CASE WHEN response.status_code >= 400 AND response.status_code < 500 THEN 1 END) as warning_count,\nFROM\n  edge_logs t\n  cross join unnest(metadata) as m\n  cross join unnest(m.request) as request\n  cross join unnest(m.response) as response\n  where t.timestamp > '{start}'\nGROUP BY\ntimestamp\nORDER BY\n  timestamp ASC\n  "
    );
    let (_, bars) = facade.get(&member, &logs(&chart, "")).await;
    let sum = |key: &str| {
        bars["result"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|b| b[key].as_u64().unwrap_or(0))
            .sum::<u64>()
    };
    assert_eq!(
        (sum("ok_count"), sum("warning_count"), sum("error_count")),
        (1, 1, 1),
        "{bars}"
    );

    // The detail panel finds the row it was shown, with its request.
    let id = rows[2]["id"].as_str().expect("id").to_string();
    let (_, single) = facade
        .get(&member, &logs(&format!("select id, timestamp, event_message, metadata from edge_logs where id = '{id}' limit 1"), ""))
        .await;
    assert_eq!(single["result"][0]["id"], id);
    assert_eq!(
        single["result"][0]["metadata"][0]["request"][0]["headers"][0]["user_agent"],
        "supabase-js/2"
    );

    // "Load older": the same query, ending at the oldest row's millisecond.
    let oldest = rows[1]["timestamp"].as_i64().expect("µs");
    let end = chrono::DateTime::from_timestamp_micros(oldest)
        .expect("time")
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let (_, older) = facade.get(&member, &logs(edge_list, &end)).await;
    let paths: Vec<&str> = older["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert_eq!(paths, ["/auth/v1/token", "/rest/v1/todos"]);

    // Auth and Postgres pages, with their severity filters.
    let (_, auth) = facade
        .get(&member, &logs("select id, auth_logs.timestamp, event_message, metadata.level, metadata.status, metadata.path, metadata.msg as msg, metadata.error from auth_logs\n  cross join unnest(metadata) as metadata\n  where (metadata.level = 'error' or metadata.level = 'fatal')\n  order by timestamp desc\n  limit 100\n    ", ""))
        .await;
    assert_eq!(auth["result"].as_array().map(Vec::len), Some(1), "{auth}");
    assert_eq!(
        (
            auth["result"][0]["level"].clone(),
            auth["result"][0]["path"].clone()
        ),
        (json!("error"), json!("/token"))
    );
    let (_, postgres) = facade
        .get(&member, &logs("select identifier, postgres_logs.timestamp, id, event_message, parsed.error_severity, parsed.detail, parsed.hint from postgres_logs\n  cross join unnest(metadata) as m\n  cross join unnest(m.parsed) as parsed\n  where (parsed.error_severity in ('ERROR', 'FATAL', 'PANIC'))\n  order by timestamp desc\n  limit 100\n  ", ""))
        .await;
    assert_eq!(
        postgres["result"].as_array().map(Vec::len),
        Some(1),
        "{postgres}"
    );
    assert_eq!(postgres["result"][0]["error_severity"], "ERROR");

    // Sources that do not run here are empty; other SQL is a query error
    // saying what is understood; a bad search regex too.
    let (_, functions) = facade
        .get(&member, &logs("select id, function_logs.timestamp, event_message, metadata.event_type, metadata.function_id, metadata.execution_id, metadata.level from function_logs\n  cross join unnest(metadata) as metadata\n  \n  order by timestamp desc\n  limit 100\n    ", ""))
        .await;
    assert_eq!(functions["result"], json!([]));
    let (status, explorer) = facade
        .get(&member, &logs("select\n  cast(timestamp as datetime) as timestamp,\n  event_message, metadata \nfrom edge_logs \nlimit 5", ""))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(explorer["result"], json!([]));
    assert!(
        explorer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("log pages"),
        "{explorer}"
    );
    let (_, bad) = facade
        .get(&member, &logs("select id, storage_logs.timestamp, event_message from storage_logs\n  where (regexp_contains(event_message, '(oops'))\n  order by timestamp desc\n  limit 100\n  ", ""))
        .await;
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("regular expression"),
        "{bad}"
    );

    // Members only.
    let (status, _) = facade.get(&outsider, &logs(edge_list, "")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Bounded: a facade reading at most 2 lines a request sees the newest.
    let bounded = TestFacade::start_with(|config| config.logs_max_lines = 2).await?;
    let (_, page) = bounded.get(&member, &logs(edge_list, "")).await;
    let paths: Vec<&str> = page["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert_eq!(paths, ["/rest/v1/orders", "/auth/v1/token"]);
    Ok(())
}

/// Studio's Download of a backup in the project's bucket: the downloadable
/// list, then a link signed for a while that the bucket (a real MinIO)
/// serves as an attachment to anyone holding it; Owners and Administrators
/// only; a backup on the volume has no link, and says why.
#[tokio::test]
async fn studio_downloads_a_backup_from_its_bucket() -> anyhow::Result<()> {
    use kube::api::{Patch, PatchParams, PostParams};
    use supaplane_crds::Backup;
    use supaplane_tests::upstreams::{MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MinioServer};
    let facade = TestFacade::start().await?;
    let minio = MinioServer::start()?;
    assert_eq!(minio.request("PUT", "/backups")?, 200);
    let scratch_directory = tempfile::tempdir()?;
    let dump = scratch_directory.path().join("database.dump");
    std::fs::write(&dump, b"PGDMP the dump's bytes")?;
    let owner = User::new("owner");
    let developer = User::new("developer");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&developer, OrganizationRole::Developer),
        ])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    facade.write_keys(&project, &[]).await?;
    let namespace = project_namespace(&project);
    Api::<Secret>::namespaced(facade.client(), &namespace)
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "backup-s3"},
                "stringData": {"accessKeyId": MINIO_ACCESS_KEY, "secretAccessKey": MINIO_SECRET_KEY}}))?,
        )
        .await?;
    let patched = Api::<Project>::all(facade.client())
        .patch(
            &project,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"backups": {"s3": {
                "bucket": "backups", "region": "us-east-1", "endpoint": minio.endpoint(),
                "forcePathStyle": true, "credentialsSecretName": "backup-s3", "prefix": "nightly"}}}})),
        )
        .await?;
    let version = patched.metadata.resource_version.clone();
    let wanted = project.clone();
    facade
        .wait_until(move |state| {
            state
                .index
                .projects
                .get(&ObjectRef::new(&wanted))
                .is_some_and(|p| p.metadata.resource_version == version)
        })
        .await?;
    // One in the bucket (its dump uploaded as the backup Job does), one on
    // the volume from before.
    let backups: Api<Backup> = Api::namespaced(facade.client(), &namespace);
    for (name, location) in [
        ("in-bucket", "s3://backups/nightly/in-bucket"),
        ("on-volume", "pvc://backups/on-volume"),
    ] {
        backups
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                "apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
                "metadata": {"name": name}, "spec": {"project": project}}))?,
            )
            .await?;
        backups
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"phase": "Completed",
                    "completedAt": "2026-12-01T03:00:00Z", "location": location}})),
            )
            .await?;
    }
    let upload = std::process::Command::new("curl")
        .args(["--silent", "--fail", "--aws-sigv4", "aws:amz:us-east-1:s3"])
        .args(["--user", &format!("{MINIO_ACCESS_KEY}:{MINIO_SECRET_KEY}")])
        .args([
            "-H",
            "x-amz-content-sha256: UNSIGNED-PAYLOAD",
            "--upload-file",
        ])
        .arg(&dump)
        .arg(format!(
            "{}/backups/nightly/in-bucket/database.dump",
            minio.endpoint()
        ))
        .status()?;
    assert!(upload.success());

    let (status, listed) = facade
        .get(
            &developer,
            &format!("/platform/database/{project}/backups/downloadable-backups"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(listed["status"], "ok");
    let items = listed["backups"].as_array().expect("backups");
    assert_eq!(items.len(), 1, "only the one in the bucket: {listed}");
    let id = items[0]["id"].clone();
    let (_, paused) = facade
        .get(
            &owner,
            &format!("/platform/projects/{project}/pause/status"),
        )
        .await;
    assert_eq!(paused["latest_downloadable_backup_id"], id, "{paused}");
    let path = format!("/platform/database/{project}/backups/download");
    let (status, _) = facade
        .send(&developer, Method::POST, &path, json!({"id": id}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, answer) = facade
        .send(&owner, Method::POST, &path, json!({"id": id}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let link = answer["fileUrl"].as_str().expect("fileUrl").to_string();
    assert!(!link.contains(MINIO_SECRET_KEY), "no key in the link");
    // The browser's part: the link alone, no credentials.
    let headers = scratch_directory.path().join("headers");
    let fetched = std::process::Command::new("curl")
        .args(["--silent", "--fail", "--dump-header"])
        .arg(&headers)
        .arg(&link)
        .output()?;
    assert!(
        fetched.status.success(),
        "{}",
        String::from_utf8_lossy(&fetched.stderr)
    );
    assert_eq!(fetched.stdout, std::fs::read(&dump)?);
    let headers = std::fs::read_to_string(&headers)?.to_ascii_lowercase();
    assert!(
        headers.contains(&format!(
            "content-disposition: attachment; filename=\"{project}-in-bucket.dump\""
        )),
        "{headers}"
    );

    // On the volume: no link, and why.
    let (_, all) = facade
        .get(&owner, &format!("/platform/database/{project}/backups"))
        .await;
    let on_volume = all["backups"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["id"] != id))
        .map(|b| b["id"].clone())
        .expect("the other backup");
    let (status, answer) = facade
        .send(&owner, Method::POST, &path, json!({"id": on_volume}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("volume"))
    );
    Ok(())
}

/// Studio's Database → Backups page and the Management API list the
/// project's Backup objects: completed and in progress, newest first;
/// failed ones stay on the Backup for kubectl.
#[tokio::test]
async fn backups_are_listed_as_studio_and_v1_read_them() -> anyhow::Result<()> {
    use kube::api::{Patch, PatchParams, PostParams};
    use supaplane_crds::Backup;
    let facade = TestFacade::start().await?;
    let member = User::new("member");
    let outsider = User::new("outsider");
    let slug = facade
        .organization_with(&[(&member, OrganizationRole::ReadOnly)])
        .await?;
    facade
        .organization_with(&[(&outsider, OrganizationRole::Owner)])
        .await?;
    let project = apply_project(&facade, &slug).await?;
    facade.write_keys(&project, &[]).await?;
    let backups: Api<Backup> = Api::namespaced(facade.client(), &project_namespace(&project));
    for (name, phase, at) in [
        ("older", "Completed", "2026-11-30T03:00:00Z"),
        ("newer", "Completed", "2026-12-01T03:00:00Z"),
        ("running", "Running", "2026-12-01T09:00:00Z"),
        ("broken", "Failed", "2026-12-01T04:00:00Z"),
    ] {
        backups
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                "apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
                "metadata": {"name": name}, "spec": {"project": project}}))?,
            )
            .await?;
        let status = if phase == "Running" {
            json!({"phase": phase, "startedAt": at})
        } else {
            json!({"phase": phase, "startedAt": at, "completedAt": at})
        };
        backups
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
            .await?;
    }
    let (status, studio) = facade
        .get(&member, &format!("/platform/database/{project}/backups"))
        .await;
    assert_eq!(status, StatusCode::OK, "{studio}");
    let listed = studio["backups"].as_array().expect("backups");
    let statuses: Vec<(&str, &str)> = listed
        .iter()
        .map(|b| {
            (
                b["inserted_at"].as_str().unwrap_or_default(),
                b["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("2026-12-01T09:00:00Z", "PENDING"),
            ("2026-12-01T03:00:00Z", "COMPLETED"),
            ("2026-11-30T03:00:00Z", "COMPLETED"),
        ]
    );
    assert_eq!(listed[1]["isPhysicalBackup"], false);
    assert!(listed[1]["id"].is_u64());
    assert_eq!(studio["pitr_enabled"], false);
    let (_, detail) = facade
        .get(&member, &format!("/platform/projects/{project}"))
        .await;
    assert_eq!(listed[1]["project_id"], detail["id"]);
    let (status, v1) = facade
        .get(&member, &format!("/v1/projects/{project}/database/backups"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v1["backups"][1]["id"], listed[1]["id"]);
    assert_eq!(v1["backups"][1]["is_physical_backup"], false);
    assert!(v1["physical_backup_data"].is_object());
    let (status, _) = facade
        .get(&outsider, &format!("/platform/database/{project}/backups"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Restore, as Studio asks (`{id}` of a completed backup): Owners and
    // Administrators only; a Restore for the operator to run.
    let owner = User::new("owner");
    let mut organization = Api::<supaplane_crds::Organization>::all(facade.client())
        .get(&slug)
        .await?;
    organization
        .spec
        .members
        .push(supaplane_crds::OrganizationMember {
            user_id: owner.id.clone(),
            email: owner.email.clone(),
            role: OrganizationRole::Owner,
        });
    Api::<supaplane_crds::Organization>::all(facade.client())
        .replace(&slug, &PostParams::default(), &organization)
        .await?;
    let owner_id = owner.id.clone();
    facade
        .wait_until(move |s| {
            s.index
                .organizations
                .state()
                .iter()
                .any(|o| o.spec.members.iter().any(|m| m.user_id == owner_id))
        })
        .await?;
    let path = format!("/platform/database/{project}/backups/restore");
    let (status, _) = facade
        .send(&member, Method::POST, &path, json!({"id": listed[1]["id"]}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, refused) = facade
        .send(&owner, Method::POST, &path, json!({"id": listed[0]["id"]}))
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "an unfinished backup: {refused}"
    );
    let (status, _) = facade
        .send(&owner, Method::POST, &path, json!({"id": 12345}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = facade
        .send(&owner, Method::POST, &path, json!({"id": listed[1]["id"]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let restores: Api<supaplane_crds::Restore> =
        Api::namespaced(facade.client(), &project_namespace(&project));
    let made = restores.list(&Default::default()).await?.items;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].spec.backup, "newer");
    assert_eq!(made[0].spec.project, project);
    // Paused: refused, and nothing more is asked for.
    Api::<Project>::all(facade.client())
        .patch(
            &project,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": true}})),
        )
        .await?;
    let paused = project.clone();
    facade
        .wait_until(move |s| {
            s.index
                .projects
                .get(&ObjectRef::new(&paused))
                .is_some_and(|p| p.spec.paused)
        })
        .await?;
    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/v1/projects/{project}/database/backups/restore"),
            json!({"id": listed[1]["id"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(restores.list(&Default::default()).await?.items.len(), 1);
    Ok(())
}

/// Studio's backups page, end to end with the operator running: the list,
/// Restore, the project's status polled as Studio polls it (`RESTORING`),
/// the restore Job done, and `ACTIVE_HEALTHY` once the services are back;
/// then restore to a new project: its offer, refusals, the new project made
/// from the backup and its progress until `COMPLETED`.
#[tokio::test]
async fn studio_restores_a_backup_and_sees_restoring_then_healthy() -> anyhow::Result<()> {
    use k8s_openapi::api::batch::v1::Job;
    use kube::api::PostParams;
    use std::sync::Arc;
    use std::time::Duration;
    use supaplane_crds::Backup;
    use supaplane_operator::render::stack::STATELESS_COMPONENTS;
    use supaplane_operator::{backup_controller, project_controller, restore_controller};
    use supaplane_tests::harness::{finish_job, unique_name, wait_for};
    let facade = TestFacade::start().await?;
    if !facade.cluster.writes_workload_status() {
        return Ok(());
    }
    let client = facade.client();
    let run_id = unique_name("run");
    let selector = format!("supaplane.io/test-run={run_id}");
    let tasks = [
        tokio::spawn(project_controller::run(Arc::new(
            project_controller::Context {
                client: client.clone(),
                metrics: Default::default(),
                settings: Default::default(),
                selector: Some(selector.clone()),
                children: Default::default(),
            },
        ))),
        tokio::spawn(backup_controller::run(Arc::new(
            backup_controller::Context {
                client: client.clone(),
                metrics: Default::default(),
                selector: Some(selector.clone()),
            },
        ))),
        tokio::spawn(restore_controller::run(Arc::new(
            restore_controller::Context {
                client: client.clone(),
                metrics: Default::default(),
                selector: Some(selector.clone()),
            },
        ))),
    ];
    let owner = User::new("owner");
    let developer = User::new("developer");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&developer, OrganizationRole::Developer),
        ])
        .await?;
    let name = unique_name("p");
    Api::<Project>::all(client.clone())
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
            "metadata": {"name": name, "labels": {"supaplane.io/test-run": run_id}},
            "spec": {"organization": slug, "displayName": "Restored", "deletionPolicy": "Delete"},
        }))?)
        .await?;
    let namespace = project_namespace(&name);
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(client.clone(), &namespace);
    // The controllers' part, as they would: every workload ready once it
    // is running again (a Deployment still scaled to zero for a restore
    // would move past the status written here when scaled back).
    let make_ready = || async {
        for component in STATELESS_COMPONENTS {
            wait_for(
                &deployments,
                component,
                |d: Option<&k8s_openapi::api::apps::v1::Deployment>| {
                    d.is_some_and(|d| d.spec.replicas != Some(0))
                },
                Duration::from_secs(60),
            )
            .await?;
            facade
                .cluster
                .mark_deployment_ready(&namespace, component)
                .await?;
        }
        facade
            .cluster
            .mark_statefulset_ready(&namespace, "db")
            .await?;
        anyhow::Ok(())
    };
    // Studio polls the project's status (`project-status-query.ts`).
    async fn status_is(
        facade: &TestFacade,
        user: &User,
        project: &str,
        wanted: &str,
    ) -> anyhow::Result<()> {
        let path = format!("/platform/projects/{project}/status");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, answer) = facade.get(user, &path).await;
            if answer["status"] == wanted {
                return Ok(());
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "status never {wanted}: {answer}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    make_ready().await?;
    status_is(&facade, &owner, &name, "ACTIVE_HEALTHY").await?;

    // Last night's backup, taken.
    let backups: Api<Backup> = Api::namespaced(client.clone(), &namespace);
    backups
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
            "metadata": {"name": "nightly"}, "spec": {"project": name}}))?,
        )
        .await?;
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    wait_for(
        &jobs,
        "backup-nightly",
        |j: Option<&Job>| j.is_some(),
        Duration::from_secs(60),
    )
    .await?;
    finish_job(
        &client,
        &namespace,
        "backup-nightly",
        ("supaplane.io/backup", "nightly"),
        true,
        "64",
    )
    .await?;

    // The page: the list, then Restore on the completed one.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let id = loop {
        let (_, page) = facade
            .get(&owner, &format!("/platform/database/{name}/backups"))
            .await;
        if let Some(id) = page["backups"]
            .as_array()
            .and_then(|all| all.iter().find(|b| b["status"] == "COMPLETED"))
            .map(|b| b["id"].clone())
        {
            break id;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "no completed backup listed: {page}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let (status, answer) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/database/{name}/backups/restore"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    status_is(&facade, &owner, &name, "RESTORING").await?;

    // The restore Job done: the services come back, and the project is
    // healthy once they are ready.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let (job, restore) = loop {
        let listed = jobs
            .list(&ListParams::default().labels("supaplane.io/restore"))
            .await?;
        if let Some(job) = listed.items.first() {
            let restore = job
                .labels()
                .get("supaplane.io/restore")
                .cloned()
                .unwrap_or_default();
            break (job.name_any(), restore);
        }
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "no restore Job");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    finish_job(
        &client,
        &namespace,
        &job,
        ("supaplane.io/restore", &restore),
        true,
        "",
    )
    .await?;
    wait_for(
        &deployments,
        "auth",
        |d: Option<&k8s_openapi::api::apps::v1::Deployment>| {
            d.and_then(|d| d.spec.replicas) == Some(1)
        },
        Duration::from_secs(60),
    )
    .await?;
    make_ready().await?;
    status_is(&facade, &owner, &name, "ACTIVE_HEALTHY").await?;

    // Restore to a new project (Studio's clone calls): what it would get,
    // then a new project made from the backup.
    let (status, offer) = facade
        .get(&owner, &format!("/platform/database/{name}/clone"))
        .await;
    assert_eq!(status, StatusCode::OK, "{offer}");
    assert_eq!(offer["backups"][0]["id"], id);
    assert_eq!(
        offer["backups"][0]["isPhysicalBackup"], false,
        "pg_dump: logical"
    );
    let (_, detail) = facade
        .get(&owner, &format!("/platform/projects/{name}"))
        .await;
    assert_eq!(
        offer["target_compute_size"], detail["infra_compute_size"],
        "the source's size"
    );
    assert!(
        offer["target_volume_size_gb"]
            .as_u64()
            .is_some_and(|gb| gb > 0)
    );
    let clone = format!("/platform/database/{name}/clone");
    let (status, answer) = facade
        .send(&owner, Method::POST, &clone,
            json!({"recoveryTimeTarget": 1764558000, "newDbPass": "a-long-password-1", "newProjectName": "Copy"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("cloneBackupId"))
    );
    let (status, _) = facade
        .send(&developer, Method::POST, &clone,
            json!({"cloneBackupId": id, "newDbPass": "a-long-password-1", "newProjectName": "Copy"}))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "Owners and Administrators only"
    );
    let (status, made) = facade
        .send(&owner, Method::POST, &clone,
            json!({"cloneBackupId": id, "newDbPass": "a-long-password-1", "newProjectName": "Copy"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["source_project_ref"], name.as_str());
    let copy = made["target_project_ref"]
        .as_str()
        .expect("ref")
        .to_string();
    let projects: Api<Project> = Api::all(client.clone());
    let new_project = projects.get(&copy).await?;
    let from = new_project
        .spec
        .restore_from
        .clone()
        .expect("made from a backup");
    assert_eq!(
        (from.project.as_str(), from.backup.as_str()),
        (name.as_str(), "nightly")
    );
    assert_eq!(new_project.spec.organization, slug);
    let clones = |user: &User, project: &str| {
        let path = format!("/platform/database/{project}/clone/status");
        let user = user.clone();
        let facade = &facade;
        async move { facade.get(&user, &path).await.1 }
    };
    let listed = clones(&owner, &name).await;
    assert_eq!(listed["clones"][0]["target_project"]["ref"], copy.as_str());
    assert_eq!(listed["clones"][0]["status"], "IN_PROGRESS");
    // This run's operator looks after it, then restores it from the backup.
    projects
        .patch(
            &copy,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(
                json!({"metadata": {"labels": {"supaplane.io/test-run": run_id}}}),
            ),
        )
        .await?;
    let job = format!("restore-into-{copy}-initial-restore");
    wait_for(
        &jobs,
        &job,
        |j: Option<&Job>| j.is_some(),
        Duration::from_secs(60),
    )
    .await?;
    status_is(&facade, &owner, &copy, "RESTORING").await?;
    finish_job(
        &client,
        &namespace,
        &job,
        ("supaplane.io/restore", "initial-restore"),
        true,
        "",
    )
    .await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let listed = clones(&owner, &name).await;
        if listed["clones"][0]["status"] == "COMPLETED" {
            assert!(listed["clones"][0]["updated_at"].is_string(), "{listed}");
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "never COMPLETED: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let copied = clones(&owner, &copy).await;
    assert_eq!(
        copied["cloned_from"]["source_project"]["ref"],
        name.as_str()
    );
    assert!(copied["clones"].as_array().is_some_and(Vec::is_empty));
    for task in tasks {
        task.abort();
    }
    Ok(())
}
