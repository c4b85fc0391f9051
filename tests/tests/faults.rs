//! Faults survived, on the real control plane: kube-apiserver stopped for
//! 30 s while the facade is under load and the operator at work. The
//! facade answers 503 with a retry hint meanwhile and says not ready; both
//! carry on, without a restart, once it is back, and nothing is lost.
//! (Operator and facade restarts are in `operator.rs` and `facade.rs`;
//! this binary has a control plane of its own because it stops it.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use supaplane_crds::constants::{KEYS_SECRET_NAME, project_namespace};
use supaplane_crds::{OrganizationRole, Project};
use supaplane_operator::project_controller::{self, Context};
use supaplane_tests::controlplane::ControlPlane;
use supaplane_tests::facade::{TestFacade, User};
use supaplane_tests::harness::wait_for;
use tower::ServiceExt;

const OUTAGE: Duration = Duration::from_secs(30);
/// How soon after the outage the operator acts on a new Project. Its
/// watches retry every few seconds at most, and after the 410 a resumed
/// watch gets, list again as soon; kube's default backoff (30 s, doubled by
/// jitter, then another such wait after the 410) took up to a minute and a
/// half here.
const RESUMED_WITHIN: Duration = Duration::from_secs(40);

/// One call through the facade: status, `Retry-After`, body, and how long
/// it took.
async fn call(
    facade: &TestFacade,
    user: &User,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value, Duration) {
    let started = Instant::now();
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {}", user.token));
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .expect("request");
    let response = facade
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("response");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, retry_after, value, started.elapsed())
}

async fn keys_uid(
    client: &kube::Client,
    project: &str,
    within: Duration,
) -> anyhow::Result<Option<String>> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &project_namespace(project));
    Ok(wait_for(
        &secrets,
        KEYS_SECRET_NAME,
        |s: Option<&Secret>| s.is_some(),
        within,
    )
    .await?
    .uid())
}

#[tokio::test]
async fn facade_and_operator_ride_out_a_stopped_api_server() -> anyhow::Result<()> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
    let facade = TestFacade::start().await?;
    let client = facade.client();
    let operator = tokio::spawn(project_controller::run(Arc::new(Context {
        client: client.clone(),
        metrics: Default::default(),
        settings: Default::default(),
        // The only operator of this binary's control plane.
        selector: None,
        children: Default::default(),
    })));
    let user = User::new("steady");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let create = |name: &str| json!({"name": name, "organization_slug": slug, "db_pass": "a-strong-password-1", "cloud_provider": "AWS"});
    let (status, _, before, _) = call(
        &facade,
        &user,
        Method::POST,
        "/platform/projects",
        Some(create("Before")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{before}");
    let before_ref = before["ref"].as_str().expect("ref").to_string();
    let before_keys = keys_uid(&client, &before_ref, Duration::from_secs(60)).await?;

    // Load: reads and writes, all the time, from here on.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let facade = &facade;
        let user = &user;
        let slug = slug.clone();
        let before_ref = before_ref.clone();
        async move {
            let mut seen = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let read = call(
                    facade,
                    user,
                    Method::GET,
                    &format!("/platform/projects/{before_ref}"),
                    None,
                )
                .await;
                let write = call(
                    facade,
                    user,
                    Method::PATCH,
                    &format!("/platform/organizations/{slug}"),
                    Some(json!({"name": format!("Steady {n}")})),
                )
                .await;
                seen.push(read);
                seen.push(write);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            seen
        }
    };
    let outage = async {
        tokio::time::sleep(Duration::from_secs(2)).await;
        // kube-apiserver shuts down gracefully (it first stops taking new
        // requests); the facade notices while that runs or just after.
        let asked = Instant::now();
        let stopping = tokio::task::spawn_blocking(|| ControlPlane::shared()?.stop_apiserver());
        let mut noticed = None;
        let mut stopped = None;
        while stopped.is_none_or(|at: Instant| at.elapsed() < OUTAGE) {
            if stopped.is_none() && stopping.is_finished() {
                stopped = Some(Instant::now());
            }
            let (status, _, _, _) = call(&facade, &user, Method::GET, "/readyz", None).await;
            if status == StatusCode::SERVICE_UNAVAILABLE && noticed.is_none() {
                noticed = Some((asked.elapsed(), stopped.map(|at| at.elapsed())));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        stopping.await??;
        tokio::task::spawn_blocking(|| ControlPlane::shared()?.start_apiserver()).await??;
        let started = Instant::now();
        // Ready again, without a restart.
        let mut recovered = None;
        while started.elapsed() < Duration::from_secs(60) {
            let (status, _, _, _) = call(&facade, &user, Method::GET, "/readyz", None).await;
            if status == StatusCode::OK {
                recovered = Some(started.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // Some more load on the recovered facade, then stop.
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, Ordering::Relaxed);
        anyhow::Ok((noticed, recovered))
    };
    let (seen, outcome) = tokio::join!(load, outage);
    let (noticed, recovered) = outcome?;
    let (since_asked, since_gone) =
        noticed.expect("/readyz never said not ready while the API server was away");
    // Two failed checks two seconds apart, from the moment it is gone.
    assert!(
        since_gone.is_none_or(|after| after < Duration::from_secs(10)),
        "noticed {since_gone:?} after it was gone"
    );
    let noticed = since_asked;
    let recovered = recovered.expect("/readyz never said ready again");
    eprintln!("outage noticed after {noticed:?}, recovered {recovered:?} after the restart");

    let mut unavailable = 0;
    for (status, retry_after, body, took) in &seen {
        assert!(
            status.is_success() || *status == StatusCode::SERVICE_UNAVAILABLE,
            "{status} {body}"
        );
        if *status == StatusCode::SERVICE_UNAVAILABLE {
            unavailable += 1;
            assert!(body["message"].is_string(), "{body}");
            assert_eq!(retry_after.as_deref(), Some("5"));
        }
        assert!(*took < Duration::from_secs(15), "a call took {took:?}");
    }
    assert!(unavailable > 0, "no call met the outage");
    assert!(
        seen.last().is_some_and(|(s, ..)| s.is_success()),
        "the last calls succeed again"
    );

    // After: the project from before is whole, and new work converges.
    let (status, _, after, _) = call(
        &facade,
        &user,
        Method::POST,
        "/platform/projects",
        Some(create("After")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{after}");
    let after_ref = after["ref"].as_str().expect("ref").to_string();
    keys_uid(&client, &after_ref, RESUMED_WITHIN)
        .await
        .context("the operator did not act on a new Project soon after the outage")?;
    assert_eq!(
        keys_uid(&client, &before_ref, Duration::from_secs(60)).await?,
        before_keys
    );
    let projects = Api::<Project>::all(client.clone())
        .list(&ListParams::default().labels(&format!("supaplane.io/organization={slug}")))
        .await?;
    let mut names: Vec<String> = projects
        .items
        .iter()
        .map(|p| p.spec.display_name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["After", "Before"]);
    operator.abort();
    Ok(())
}
