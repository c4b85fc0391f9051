//! The pg-meta proxy with real upstreams: a PostgreSQL server and the real
//! pg-meta server, started by the harness, behind the facade.

use axum::http::{Method, StatusCode};
use kube::Api;
use kube::api::PostParams;
use serde_json::{Value, json};
use supaplane_crds::constants::keys_secret;
use supaplane_crds::{OrganizationRole, Project};
use supaplane_tests::facade::{TestFacade, User};
use supaplane_tests::harness::unique_name;
use supaplane_tests::upstreams::{
    PG_META_CRYPTO_KEY, POSTGRES_PASSWORD, PgMetaServer, PostgresServer, READ_ONLY_PASSWORD,
};

/// A running project whose database is `database`, as the operator reports it.
async fn running_project(
    facade: &TestFacade,
    organization: &str,
    database: &PostgresServer,
) -> anyhow::Result<String> {
    let name = facade.apply_project(organization).await?;
    facade
        .write_status(
            &name,
            json!({
                "status": "ACTIVE_HEALTHY",
                "endpoints": {"databaseHost": "127.0.0.1", "databasePort": database.port},
            }),
        )
        .await?;
    facade
        .write_keys(
            &name,
            &[
                (keys_secret::PG_META_CRYPTO_KEY, PG_META_CRYPTO_KEY),
                (keys_secret::READ_ONLY_PASSWORD, READ_ONLY_PASSWORD),
                (keys_secret::POSTGRES_PASSWORD, POSTGRES_PASSWORD),
            ],
        )
        .await?;
    Ok(name)
}

async fn sql(facade: &TestFacade, user: &User, project: &str, query: &str) -> (StatusCode, Value) {
    facade
        .send(
            user,
            Method::POST,
            &format!("/platform/pg-meta/{project}/query?key=test"),
            json!({"query": query, "disable_statement_timeout": true}),
        )
        .await
}

#[tokio::test]
async fn studio_reaches_the_project_database_through_pg_meta() -> anyhow::Result<()> {
    let database = PostgresServer::start()?;
    let pg_meta = PgMetaServer::start(&database)?;
    let facade = TestFacade::start_with(|config| config.pg_meta_url = pg_meta.url()).await?;
    let owner = User::new("owner");
    let reader = User::new("reader");
    let outsider = User::new("outsider");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&reader, OrganizationRole::ReadOnly),
        ])
        .await?;
    facade
        .organization_with(&[(&outsider, OrganizationRole::Owner)])
        .await?;
    let project = running_project(&facade, &slug, &database).await?;

    // The SQL editor creates a table...
    let (status, answer) = sql(
        &facade,
        &owner,
        &project,
        "create table public.notes (id serial primary key, body text not null)",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // ...the table editor lists it with its columns...
    let (status, tables) = facade
        .get(
            &owner,
            &format!(
                "/platform/pg-meta/{project}/tables?included_schemas=public&include_columns=true"
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tables}");
    let notes = tables
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == "notes")
        .cloned()
        .expect("the new table is listed");
    let columns: Vec<&str> = notes["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(columns, vec!["id", "body"]);
    let (status, columns) = facade
        .get(
            &owner,
            &format!("/platform/pg-meta/{project}/columns?included_schemas=public"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{columns}");
    assert!(
        columns
            .as_array()
            .expect("columns")
            .iter()
            .any(|c| c["table"] == "notes" && c["name"] == "body")
    );

    // ...queries return rows...
    let (status, _) = sql(
        &facade,
        &owner,
        &project,
        "insert into public.notes (body) values ('a'), ('b')",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, rows) = sql(
        &facade,
        &owner,
        &project,
        "select body from public.notes order by id",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(rows, json!([{"body": "a"}, {"body": "b"}]));

    // ...and a syntax error comes back as pg-meta's error.
    let (status, error) = sql(&facade, &owner, &project, "selec 1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("syntax error"),
        "{error}"
    );

    // Studio's own connection header is not passed on.
    let (status, _) = facade
        .raw(
            Method::POST,
            &format!("/platform/pg-meta/{project}/query"),
            Some(&owner.token),
            Some(json!({"query": "select 1 as one"}).to_string()),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // A Read-only member reads but cannot write.
    let (status, rows) = sql(
        &facade,
        &reader,
        &project,
        "select count(*)::int as n from public.notes",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows, json!([{"n": 2}]));
    let (status, refused) = sql(&facade, &reader, &project, "delete from public.notes").await;
    assert!(status.is_client_error(), "{status} {refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("permission denied"),
        "{refused}"
    );
    let (status, _) = facade
        .send(
            &reader,
            Method::POST,
            &format!("/platform/pg-meta/{project}/tables"),
            json!({"name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        database.psql("select count(*) from public.notes")?.trim(),
        "2"
    );

    // Another organization's member does not see the project at all.
    let (status, _) = sql(&facade, &outsider, &project, "select 1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A paused project answers 503 at once, with its status.
    let (status, _) = facade
        .send(
            &owner,
            Method::POST,
            &format!("/platform/projects/{project}/pause"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, paused) = sql(&facade, &owner, &project, "select 1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{paused}");
    assert!(
        paused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not running")
    );
    Ok(())
}

fn message(answer: &Value) -> String {
    answer["message"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn dashboard_sql_runs_as_postgres_which_cannot_reach_the_server() -> anyhow::Result<()> {
    let database = PostgresServer::start()?;
    let pg_meta = PgMetaServer::start(&database)?;
    let facade = TestFacade::start_with(|config| config.pg_meta_url = pg_meta.url()).await?;
    let developer = User::new("developer");
    let slug = facade
        .organization_with(&[(&developer, OrganizationRole::Developer)])
        .await?;
    let project = running_project(&facade, &slug, &database).await?;

    let (status, who) = sql(
        &facade,
        &developer,
        &project,
        "select current_user as name, (select rolsuper from pg_roles where rolname = current_user) as superuser",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{who}");
    assert_eq!(who, json!([{"name": "postgres", "superuser": false}]));

    for (what, statement) in [
        ("run a program", "copy (select 1) to program 'id'"),
        ("read a server file", "select pg_read_file('/etc/passwd')"),
        ("become superuser", "alter role postgres superuser"),
        (
            "write a server file",
            "copy (select 1) to '/tmp/supaplane-escape'",
        ),
    ] {
        let (status, refused) = sql(&facade, &developer, &project, statement).await;
        assert!(status.is_client_error(), "{what}: {status} {refused}");
        let text = message(&refused);
        assert!(
            text.contains("permission denied") || text.contains("must be superuser"),
            "{what}: {text}"
        );
    }
    assert!(!std::path::Path::new("/tmp/supaplane-escape").exists());
    Ok(())
}

#[tokio::test]
async fn pg_meta_paths_from_the_caller_cannot_leave_the_resource() -> anyhow::Result<()> {
    let database = PostgresServer::start()?;
    let pg_meta = PgMetaServer::start(&database)?;
    let facade = TestFacade::start_with(|config| config.pg_meta_url = pg_meta.url()).await?;
    let owner = User::new("owner");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    let project = running_project(&facade, &slug, &database).await?;
    for path in [
        "tables%2F..%2F..%2Fquery",
        "tables/..%2Fquery",
        "tables%3Fx=1",
        "tables/1%3Fx=1",
        "tables/http:%2F%2Fexample.com",
        "..",
    ] {
        let (status, answer) = facade
            .get(&owner, &format!("/platform/pg-meta/{project}/{path}"))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {answer}");
        assert!(
            message(&answer).contains("may hold only"),
            "{path}: {answer}"
        );
    }
    // What Studio sends still passes.
    let (status, answer) = facade
        .get(
            &owner,
            &format!("/platform/pg-meta/{project}/tables?included_schemas=public"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    Ok(())
}

#[tokio::test]
async fn an_unreachable_pg_meta_answers_503_not_a_hang() -> anyhow::Result<()> {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let facade = TestFacade::start_with(|config| {
        config.pg_meta_url = format!("http://127.0.0.1:{port}");
        config.upstream_timeout_seconds = 2;
    })
    .await?;
    let owner = User::new("owner");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    let name = unique_name("p");
    let project: Project = serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": name}, "spec": {"organization": slug, "displayName": "Down"},
    }))?;
    Api::<Project>::all(facade.client())
        .create(&PostParams::default(), &project)
        .await?;
    let wanted = name.clone();
    facade
        .wait_until(move |state| {
            state
                .index
                .projects
                .get(&kube::runtime::reflector::ObjectRef::new(&wanted))
                .is_some()
        })
        .await?;
    // Coming up, with its keys and endpoint, but pg-meta not answering yet.
    facade
        .write_status(
            &name,
            json!({"status": "COMING_UP", "endpoints": {"databaseHost": "127.0.0.1", "databasePort": 5432}}),
        )
        .await?;
    facade
        .write_keys(
            &name,
            &[
                (keys_secret::PG_META_CRYPTO_KEY, PG_META_CRYPTO_KEY),
                (keys_secret::POSTGRES_PASSWORD, POSTGRES_PASSWORD),
            ],
        )
        .await?;
    let (status, answer) = sql(&facade, &owner, &name, "select 1").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("COMING_UP"),
        "{answer}"
    );
    Ok(())
}

#[tokio::test]
async fn a_stalled_pg_meta_answers_503_with_a_retry_hint_before_the_request_deadline()
-> anyhow::Result<()> {
    // Accepts connections and never answers.
    let stalled = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = stalled.local_addr()?.port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = stalled.accept().await {
            held.push(socket);
        }
    });
    let facade = TestFacade::start_with(|config| {
        config.pg_meta_url = format!("http://127.0.0.1:{port}");
        config.upstream_timeout_seconds = 1;
        config.request_timeout_seconds = 3;
    })
    .await?;
    let owner = User::new("owner");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    let database = PostgresServer::start()?;
    let project = running_project(&facade, &slug, &database).await?;
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(format!("/platform/pg-meta/{project}/query"))
        .header("authorization", format!("Bearer {}", owner.token))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"query": "select 1"}).to_string(),
        ))?;
    let response = tower::ServiceExt::oneshot(facade.router.clone(), request).await?;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await?;
    let body: Value = serde_json::from_slice(&body)?;
    assert!(message(&body).contains("timed out"), "{body}");
    holder.abort();
    Ok(())
}
