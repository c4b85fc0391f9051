//! Throughput, latency and memory of the facade's hottest reads with 1,000
//! projects (`SUPAPLANE_BENCH_PROJECTS`), 100 to an organization (so an
//! organization's page, 96 of them, holds the same at every size). Runs the real
//! facade binary (its own process, so its memory is its own) against the
//! real kube-apiserver of the test control plane, and loads it over HTTP at
//! a fixed concurrency, alternating, round by round, with a bare axum
//! server answering the same bytes loaded the same way: the ratio is the
//! limit that does not depend on the machine. The bare server is this bench
//! binary started again as a process of its own, as the facade is, so both
//! answer across the same process boundary on the same cores.
//!
//! `cargo bench -p supaplane-facade --bench requests`
//! (`SUPAPLANE_BENCH_CONCURRENCY`, `SUPAPLANE_BENCH_SECONDS` and
//! `SUPAPLANE_BENCH_ROUNDS` tune the load).

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::PostParams;
use kube::{Api, Client};
use serde_json::json;
use supaplane_crds::{Organization, Project};
use supaplane_tests::bench::peak_rss_mb;
use supaplane_tests::harness::TestCluster;

const PROJECTS_PER_ORGANIZATION: usize = 100;
const JWT_SECRET: &str = "bench-dashboard-jwt-secret-of-enough-length";
const PORT: u16 = 18090;
const BARE_PORT: u16 = 18091;

/// Targets from the facade issue.
const THROUGHPUT_TARGET: f64 = 5000.0;
const P99_TARGET: Duration = Duration::from_millis(5);
const RSS_TARGET_MB: f64 = 60.0;
/// The facade's share of a bare server's throughput on the same bytes,
/// measured in the same run (the scale issue).
const ORG_PAGE_RATIO_TARGET: f64 = 0.4;
const DETAIL_RATIO_TARGET: f64 = 0.6;

fn organizations_for(projects: usize) -> usize {
    (projects / PROJECTS_PER_ORGANIZATION).max(1)
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn token(user_id: &str) -> String {
    let claims = json!({"sub": user_id, "email": "bench@example.com", "aud": "authenticated",
        "exp": chrono::Utc::now().timestamp() + 3600});
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("token")
}

async fn populate(client: &Client, user_id: &str, count: usize) -> anyhow::Result<()> {
    let organizations: Api<Organization> = Api::all(client.clone());
    for index in 0..organizations_for(count) {
        let organization: Organization = serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization",
            "metadata": {"name": format!("org-{index:02}")},
            "spec": {"displayName": format!("Org {index}"),
                     "members": [{"userId": user_id, "email": "bench@example.com", "role": "Owner"}]},
        }))?;
        organizations
            .create(&PostParams::default(), &organization)
            .await?;
    }
    let projects: Api<Project> = Api::all(client.clone());
    futures::stream::iter(0..count)
        .map(|index| {
            let projects = projects.clone();
            async move {
                let project: Project = serde_json::from_value(json!({
                    "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
                    "metadata": {"name": format!("bench{index:05}")},
                    "spec": {"organization": format!("org-{:02}", index % organizations_for(count)),
                             "displayName": format!("Bench {index}")},
                }))?;
                projects.create(&PostParams::default(), &project).await?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Set, in the bench binary started again, to the directory holding the
/// bare server's answers: one file per path prefix.
const BARE_ANSWERS: &str = "SUPAPLANE_BENCH_BARE_ANSWERS";

/// The bare server's answers and the path prefixes they answer, as files.
const BARE_PREFIXES: [(&str, &str); 2] = [
    ("organization-page.json", "/platform/organizations/"),
    ("project-detail.json", "/platform/projects/"),
];

/// Starts the bench binary again as the bare server answering `bodies`
/// (in [`BARE_PREFIXES`] order).
fn spawn_bare_server(bodies: [Bytes; 2]) -> anyhow::Result<std::process::Child> {
    let directory = std::env::temp_dir().join(format!("supaplane-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    for ((file, _), body) in BARE_PREFIXES.iter().zip(bodies) {
        std::fs::write(directory.join(file), body)?;
    }
    Ok(std::process::Command::new(std::env::current_exe()?)
        .env(BARE_ANSWERS, &directory)
        .stdout(Stdio::null())
        .spawn()?)
}

/// The bare server's process: answers from the files in `directory`.
async fn run_bare_server(directory: &str) -> anyhow::Result<()> {
    let mut bodies = Vec::new();
    for (file, prefix) in BARE_PREFIXES {
        let body = std::fs::read(std::path::Path::new(directory).join(file))?;
        bodies.push((prefix.to_string(), Bytes::from(body)));
    }
    bare_server(Arc::new(bodies)).await
}

/// A bare axum server answering `body` to every GET: what the machine
/// allows for the same bytes over the same HTTP stack.
async fn bare_server(bodies: Arc<Vec<(String, Bytes)>>) -> anyhow::Result<()> {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let bodies = bodies.clone();
        async move {
            let body = bodies
                .iter()
                .find(|(prefix, _)| uri.path().starts_with(prefix.as_str()))
                .map(|(_, body)| body.clone())
                .unwrap_or_default();
            ([("content-type", "application/json")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", BARE_PORT)).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

type Http = HttpClient<HttpConnector, Empty<Bytes>>;

async fn get(http: &Http, url: &str, bearer: &str) -> anyhow::Result<(u16, Bytes)> {
    let request = hyper::Request::get(url)
        .header("authorization", format!("Bearer {bearer}"))
        .body(Empty::<Bytes>::new())?;
    let response = http.request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

struct Load {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// Runs `concurrency` clients for `seconds`, each requesting the URLs
/// `paths` gives, round robin.
async fn load(
    http: &Http,
    bearer: &str,
    paths: Arc<Vec<String>>,
    concurrency: usize,
    seconds: u64,
) -> anyhow::Result<Load> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..concurrency {
        let http = http.clone();
        let bearer = bearer.to_string();
        let paths = paths.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut next = worker;
            while Instant::now() < deadline {
                let url = &paths[next % paths.len()];
                next += concurrency;
                let sent = Instant::now();
                let (status, _) = get(&http, url, &bearer).await?;
                anyhow::ensure!(status == 200, "{url} answered {status}");
                latencies.push(sent.elapsed());
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok(Load {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Ok(directory) = std::env::var(BARE_ANSWERS) {
        return run_bare_server(&directory).await;
    }
    let concurrency = env_number("SUPAPLANE_BENCH_CONCURRENCY", 16) as usize;
    let projects = env_number("SUPAPLANE_BENCH_PROJECTS", 1000) as usize;
    let seconds = env_number("SUPAPLANE_BENCH_SECONDS", 10);
    let cluster = TestCluster::start().await?;
    let client = cluster.client();
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "supaplane-system"}}))?,
        )
        .await?;
    let user_id = uuid::Uuid::new_v4().to_string();
    populate(&client, &user_id, projects).await?;

    let kubeconfig_path = cluster.kubeconfig();
    let mut facade = std::process::Command::new(env!("CARGO_BIN_EXE_supaplane-facade"))
        .env("KUBECONFIG", kubeconfig_path)
        .env("SUPAPLANE_JWT_SECRET", JWT_SECRET)
        .env("SUPAPLANE_LISTEN_ADDRESS", format!("127.0.0.1:{PORT}"))
        .env("POD_NAMESPACE", "supaplane-system")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()?;

    let http: Http = HttpClient::builder(TokioExecutor::new()).build_http();
    let bearer = token(&user_id);
    let base = format!("http://127.0.0.1:{PORT}");
    // Ready once the caches hold every project.
    let started = Instant::now();
    loop {
        if let Ok((200, body)) =
            get(&http, &format!("{base}/platform/projects?limit=1"), &bearer).await
        {
            let listed: serde_json::Value = serde_json::from_slice(&body)?;
            if listed["pagination"]["count"] == projects {
                break;
            }
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(300),
            "the facade never listed every project"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let organization_pages: Arc<Vec<String>> = Arc::new(
        (0..organizations_for(projects))
            .map(|i| format!("{base}/platform/organizations/org-{i:02}/projects?limit=96&offset=0&sort=name_asc"))
            .collect(),
    );
    let project_pages: Arc<Vec<String>> = Arc::new(
        (0..projects)
            .map(|i| format!("{base}/platform/projects/bench{i:05}"))
            .collect(),
    );
    // The bare server answers the facade's own bytes, and both stay up:
    // each round loads the facade and then the bare server, endpoint by
    // endpoint, so the machine's noise falls on both alike and each
    // round's ratio is measured under the same conditions.
    let (_, org_body) = get(&http, &organization_pages[0], &bearer).await?;
    let (_, project_body) = get(&http, &project_pages[0], &bearer).await?;
    let mut bare = spawn_bare_server([org_body, project_body])?;
    let bare_base = format!("http://127.0.0.1:{BARE_PORT}");
    let started = Instant::now();
    while get(&http, &format!("{bare_base}/platform/projects/x"), &bearer)
        .await
        .is_err()
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the bare server never answered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rebase = |urls: &Arc<Vec<String>>| -> Arc<Vec<String>> {
        Arc::new(urls.iter().map(|u| u.replace(&base, &bare_base)).collect())
    };
    let endpoints = [
        (
            "GET /platform/organizations/{slug}/projects",
            organization_pages.clone(),
            ORG_PAGE_RATIO_TARGET,
        ),
        (
            "GET /platform/projects/{ref}",
            project_pages.clone(),
            DETAIL_RATIO_TARGET,
        ),
    ];
    let rounds = env_number("SUPAPLANE_BENCH_ROUNDS", 3).max(1) as usize;
    let mut measured: Vec<Vec<(Load, Load)>> = endpoints.iter().map(|_| Vec::new()).collect();
    for _ in 0..rounds {
        for ((_, pages, _), runs) in endpoints.iter().zip(&mut measured) {
            let facade_load = load(&http, &bearer, pages.clone(), concurrency, seconds).await?;
            let bare_load = load(&http, &bearer, rebase(pages), concurrency, seconds).await?;
            runs.push((facade_load, bare_load));
        }
    }
    let rss = peak_rss_mb(facade.id());
    facade.kill()?;
    facade.wait()?;
    bare.kill()?;
    bare.wait()?;

    println!(
        "{projects} projects in {} organizations, {concurrency} concurrent clients, {rounds} rounds of {seconds} s per endpoint and server:",
        organizations_for(projects)
    );
    println!(
        "| endpoint | requests/s | p50 | p99 | bare axum, same bytes | ratio per round (median) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    let mut missed = Vec::new();
    for ((name, _, ratio_target), runs) in endpoints.iter().zip(&measured) {
        let range = |values: Vec<f64>, unit: &dyn Fn(f64) -> String| {
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            format!("{}–{}", unit(low), unit(high))
        };
        let per_second = |v: f64| format!("{v:.0}");
        let millis = |v: f64| format!("{:.2} ms", v * 1000.0);
        let mut ratios: Vec<f64> = runs
            .iter()
            .map(|(facade, bare)| facade.per_second / bare.per_second)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let median = ratios[ratios.len() / 2];
        println!(
            "| `{name}` | {} | {} | {} | {} | {} ({median:.2}) |",
            range(
                runs.iter().map(|(f, _)| f.per_second).collect(),
                &per_second
            ),
            range(
                runs.iter().map(|(f, _)| f.p50.as_secs_f64()).collect(),
                &millis
            ),
            range(
                runs.iter().map(|(f, _)| f.p99.as_secs_f64()).collect(),
                &millis
            ),
            range(
                runs.iter().map(|(_, b)| b.per_second).collect(),
                &per_second
            ),
            range(ratios.clone(), &|v| format!("{v:.2}")),
        );
        let slowest = runs
            .iter()
            .map(|(f, _)| f.per_second)
            .fold(f64::INFINITY, f64::min);
        if slowest < THROUGHPUT_TARGET {
            missed.push(format!("{name}: {slowest:.0} requests/s"));
        }
        let worst_p99 = runs.iter().map(|(f, _)| f.p99).max().unwrap_or_default();
        if worst_p99 > P99_TARGET {
            missed.push(format!("{name}: p99 {worst_p99:?}"));
        }
        if median < *ratio_target {
            missed.push(format!(
                "{name}: median ratio {median:.2} to the bare server (target {ratio_target})"
            ));
        }
    }
    println!(
        "facade peak RSS: {rss:.0} MB ({:.1} KB per project)",
        rss * 1024.0 / projects as f64
    );
    // 60 MB at 1,000 projects, and under 5 KB for each project beyond.
    let rss_target = RSS_TARGET_MB + 5.0 * projects.saturating_sub(1000) as f64 / 1024.0;
    if rss > rss_target {
        missed.push(format!("peak RSS {rss:.0} MB"));
    }
    if !missed.is_empty() {
        anyhow::bail!("targets missed: {}", missed.join("; "));
    }
    Ok(())
}
