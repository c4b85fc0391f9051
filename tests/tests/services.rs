//! Auth users and storage buckets through the facade, on a project's GoTrue
//! admin API and Storage API. GoTrue and the Storage API do not run here, so
//! a recording stand-in answers as they do; the tests check what the facade
//! sends (method, path, service-role credentials, body) and that it relays
//! the answers.

use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use supaplane_crds::OrganizationRole;
use supaplane_crds::constants::keys_secret;
use supaplane_tests::facade::{TestFacade, User};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    apikey: Option<String>,
    body: Value,
}

/// Answers every request with `{"seen": <path>}` (201 for POST) and records it.
async fn stand_in() -> anyhow::Result<(String, Arc<Mutex<Vec<Seen>>>, tokio::task::JoinHandle<()>)>
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = seen.clone();
    let app = axum::Router::new().fallback(move |request: Request| {
        let recorder = recorder.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let header = |name: &str| {
                parts
                    .headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            recorder.lock().expect("lock").push(Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_string(),
                authorization: header("authorization"),
                apikey: header("apikey"),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            });
            let status = if parts.method == Method::POST {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, axum::Json(json!({"seen": parts.uri.path()})))
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((url, seen, task))
}

async fn running_project(facade: &TestFacade, organization: &str) -> anyhow::Result<String> {
    let name = facade.apply_project(organization).await?;
    facade
        .write_status(&name, json!({"status": "ACTIVE_HEALTHY"}))
        .await?;
    facade
        .write_keys(
            &name,
            &[(keys_secret::SERVICE_ROLE_KEY, "service.role.jwt")],
        )
        .await?;
    Ok(name)
}

#[tokio::test]
async fn auth_users_and_storage_go_to_the_projects_services_as_service_role() -> anyhow::Result<()>
{
    let (upstream, recorded, server) = stand_in().await?;
    let facade = TestFacade::start_with(|config| {
        config.auth_url = format!("{upstream}/auth/{{ref}}");
        config.storage_url = format!("{upstream}/storage/{{ref}}");
    })
    .await?;
    let developer = User::new("dev");
    let reader = User::new("reader");
    let outsider = User::new("outsider");
    let slug = facade
        .organization_with(&[
            (&developer, OrganizationRole::Developer),
            (&reader, OrganizationRole::ReadOnly),
        ])
        .await?;
    facade
        .organization_with(&[(&outsider, OrganizationRole::Owner)])
        .await?;
    let project = running_project(&facade, &slug).await?;
    let base = |rest: &str| format!("/platform/{rest}").replace("{ref}", &project);

    let calls: Vec<(Method, String, Value)> = vec![
        (
            Method::POST,
            base("auth/{ref}/users"),
            json!({"email": "new@example.com", "password": "secret123", "email_confirm": true}),
        ),
        (
            Method::PATCH,
            base("auth/{ref}/users/u-1"),
            json!({"ban_duration": "24h"}),
        ),
        (Method::DELETE, base("auth/{ref}/users/u-1"), Value::Null),
        (
            Method::POST,
            base("auth/{ref}/invite"),
            json!({"email": "invitee@example.com"}),
        ),
        (Method::GET, base("storage/{ref}/buckets"), Value::Null),
        (
            Method::POST,
            base("storage/{ref}/buckets"),
            json!({"id": "avatars", "public": true, "type": "STANDARD"}),
        ),
        (
            Method::PATCH,
            base("storage/{ref}/buckets/avatars"),
            json!({"public": false, "file_size_limit": 1024}),
        ),
        (
            Method::POST,
            base("storage/{ref}/buckets/avatars/objects/list"),
            json!({"path": "users/", "options": {"limit": 10, "search": "a"}}),
        ),
        (
            Method::DELETE,
            base("storage/{ref}/buckets/avatars"),
            Value::Null,
        ),
    ];
    for (method, path, body) in &calls {
        let body = (!body.is_null()).then(|| body.to_string());
        let (status, answer) = facade
            .raw(method.clone(), path, Some(&developer.token), body)
            .await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        assert!(
            answer["seen"].is_string(),
            "the upstream's answer is relayed: {answer}"
        );
    }
    let seen = recorded.lock().expect("lock").clone();
    let summary: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    let at = |rest: &str| rest.replace("{ref}", &project);
    assert_eq!(
        summary,
        vec![
            ("POST".into(), at("/auth/{ref}/admin/users")),
            ("PUT".into(), at("/auth/{ref}/admin/users/u-1")),
            ("DELETE".into(), at("/auth/{ref}/admin/users/u-1")),
            ("POST".into(), at("/auth/{ref}/invite")),
            ("GET".into(), at("/storage/{ref}/bucket")),
            ("POST".into(), at("/storage/{ref}/bucket")),
            ("PUT".into(), at("/storage/{ref}/bucket/avatars")),
            ("POST".into(), at("/storage/{ref}/object/list/avatars")),
            ("DELETE".into(), at("/storage/{ref}/bucket/avatars")),
        ]
    );
    for call in &seen {
        assert_eq!(
            call.authorization.as_deref(),
            Some("Bearer service.role.jwt")
        );
        assert_eq!(call.apikey.as_deref(), Some("service.role.jwt"));
    }
    assert_eq!(
        seen[0].body,
        json!({"email": "new@example.com", "password": "secret123", "email_confirm": true})
    );
    assert_eq!(seen[5].body["name"], "avatars");
    assert_eq!(seen[7].body["prefix"], "users/");
    assert_eq!(seen[7].body["limit"], 10);

    // Read-only members list but do not change; outsiders see nothing;
    // bad ids never reach the service.
    let (status, _) = facade.get(&reader, &base("storage/{ref}/buckets")).await;
    assert_eq!(status, StatusCode::OK);
    let count = recorded.lock().expect("lock").len();
    assert_eq!(count, seen.len() + 1);
    let (status, _) = facade
        .send(
            &reader,
            Method::POST,
            &base("storage/{ref}/buckets"),
            json!({"id": "x", "public": false}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = facade
        .raw(
            Method::DELETE,
            &base("auth/{ref}/users/u-2"),
            Some(&reader.token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = facade.get(&outsider, &base("storage/{ref}/buckets")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = facade
        .send(
            &developer,
            Method::POST,
            &base("storage/{ref}/buckets"),
            json!({"id": "../admin", "public": false}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = facade
        .send(
            &developer,
            Method::POST,
            &base("auth/{ref}/users"),
            json!({"email": "not-an-email", "password": "secret123"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        recorded.lock().expect("lock").len(),
        count,
        "refused requests reached the service"
    );

    // The service down: 503 with the project's status, not a hang.
    server.abort();
    let _ = server.await;
    let (status, answer) = facade.get(&developer, &base("storage/{ref}/buckets")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ACTIVE_HEALTHY")
    );
    Ok(())
}
