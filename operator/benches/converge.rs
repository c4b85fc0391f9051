//! How fast the operator turns new Projects into healthy stacks (the
//! harness playing the workload controllers: each workload is reported
//! ready as it appears), how many reconciles that takes, how much memory it
//! needs, and that a resync of settled Projects writes nothing. Runs the
//! real operator binary (a separate process, so its memory is its own)
//! against the real kube-apiserver of the test control plane, whose audit
//! log counts the writes.
//!
//! Beside it, in the same run with the same binaries, the physical limit:
//! the time a plain bulk client takes to create the same objects
//! (namespace, keys Secret and every rendered child of each project, 16 at
//! a time, as the operator reconciles), with no operator logic at all. Each
//! of the two starts on an empty control plane of its own.
//!
//! `cargo bench -p supaplane-operator --bench converge` (set
//! `SUPAPLANE_BENCH_SIZES=100,1000` to choose the fleet sizes).

use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::PostParams;
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::constants::{LABEL_MANAGED_BY, project_namespace};
use supaplane_crds::{Project, SupabaseStatus};
use supaplane_operator::keys::ProjectKeys;
use supaplane_operator::render;
use supaplane_tests::bench::{peak_rss_mb, rss_mb};
use supaplane_tests::controlplane::ControlPlane;

/// Targets: converging may take at most this many times the bulk create of
/// the same objects measured in the same run (the physical limit of this
/// machine and API server); memory and resync as the operator issue set.
const RATIO_TARGET: f64 = 2.5;
/// Memory per project (the peak above the idle operator, over the
/// projects), judged from 10,000 projects up, where the moment's peaks of
/// a list page no longer dominate it...
const RSS_TARGET_KB_PER_PROJECT: f64 = 10.0;
const RSS_PER_PROJECT_JUDGED_FROM: usize = 10_000;
/// ...and below it a bound on the whole.
const RSS_TARGET_MB: f64 = 150.0;

struct Measurement {
    projects: usize,
    /// None when not every project converged within the limit.
    converged_in: Option<Duration>,
    converged_count: usize,
    reconciles_per_project: f64,
    bulk_created_in: Duration,
    /// The operator's RSS before any project exists.
    idle_rss_mb: f64,
    peak_rss_mb: f64,
    /// The peak of the operator restarted for the resync.
    resync_peak_rss_mb: f64,
    resync_writes: usize,
}

fn env_seconds(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Projects reconciled (and, for the limit, created) at once.
const CONCURRENCY: usize = 16;

/// The operator binary, run as its own process (under a profiler when
/// `SUPAPLANE_BENCH_OPERATOR_WRAPPER` names one, e.g. `heaptrack`).
struct Operator {
    /// The process started: the operator, or the profiler running it.
    started: std::process::Child,
}

impl Operator {
    fn spawn(
        kubeconfig_path: &std::path::Path,
        port: u16,
        selector: &str,
        count: usize,
    ) -> std::io::Result<Self> {
        use std::os::unix::process::CommandExt;
        let binary = env!("CARGO_BIN_EXE_supaplane-operator");
        let mut command = match std::env::var("SUPAPLANE_BENCH_OPERATOR_WRAPPER") {
            Ok(wrapper) if !wrapper.trim().is_empty() => {
                let mut words = wrapper.split_whitespace();
                let mut command = std::process::Command::new(words.next().unwrap_or_default());
                command.args(words).arg(binary);
                command
            }
            _ => std::process::Command::new(binary),
        };
        let started = command
            .env("KUBECONFIG", kubeconfig_path)
            .env("SUPAPLANE_HEALTH_ADDRESS", format!("127.0.0.1:{port}"))
            .env("POD_NAMESPACE", format!("supaplane-system-{count}"))
            .env("POD_NAME", format!("bench-operator-{port}"))
            .env("SUPAPLANE_SELECTOR", selector)
            .env("RUST_LOG", "error")
            // A group of its own, so a stop reaches a profiled operator too.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()?;
        Ok(Operator { started })
    }

    /// The operator's own process: under a profiler, the descendant
    /// running the binary, so that its memory is the operator's.
    fn pid(&self) -> u32 {
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_supaplane-operator"));
        let mut pending = vec![self.started.id()];
        while let Some(pid) = pending.pop() {
            if std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary) {
                return pid;
            }
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            pending.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        self.started.id()
    }

    /// Stops the operator (and a profiler, which then writes its report)
    /// and waits for it.
    fn stop(mut self) -> anyhow::Result<()> {
        let group = nix::unistd::Pid::from_raw(self.started.id() as i32);
        nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGTERM)?;
        self.started.wait()?;
        Ok(())
    }
}

/// How many of the watched Projects are healthy at their generation, kept
/// from a watch: polling the fleet with a LIST every few seconds would be a
/// load of the bench's own, growing with the fleet, on the server it
/// measures.
fn watch_settled(projects: Api<Project>, selector: &str) -> reflector::Store<Project> {
    use futures::StreamExt;
    let (reader, writer) = reflector::store();
    let stream = reflector(
        writer,
        watcher(projects, watcher::Config::default().labels(selector)),
    )
    .default_backoff()
    .applied_objects();
    tokio::spawn(stream.for_each(|_| futures::future::ready(())));
    reader
}

fn settled(store: &reflector::Store<Project>) -> usize {
    store
        .state()
        .iter()
        .filter(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.status == Some(SupabaseStatus::ActiveHealthy)
                    && s.observed_generation == p.metadata.generation
            })
        })
        .count()
}

fn bench_project(prefix: &str, index: usize) -> anyhow::Result<Project> {
    Ok(serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": format!("{prefix}-{index:05}")},
        "spec": {"organization": format!("org-{}", index % 10), "displayName": format!("Bench {index}")},
    }))?)
}

/// Creates, with no operator, what the operator creates for `count`
/// projects: the Project, its namespace, keys Secret and rendered stack.
async fn bulk_create(client: &Client, count: usize) -> anyhow::Result<Duration> {
    use futures::{StreamExt, TryStreamExt};
    let settings = render::stack::StackSettings::default();
    let started = Instant::now();
    let created = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let progress = tokio::spawn({
        let created = created.clone();
        async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                eprintln!(
                    "bulk create: {} of {count} projects after {:.0} s",
                    created.load(std::sync::atomic::Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                );
            }
        }
    });
    let result = futures::stream::iter(0..count)
        .map(|index| {
            let client = client.clone();
            let settings = settings.clone();
            let created = created.clone();
            async move {
                let project = Api::<Project>::all(client.clone())
                    .create(
                        &PostParams::default(),
                        &bench_project(&format!("bulk{count}"), index)?,
                    )
                    .await?;
                let keys = ProjectKeys::generate(&mut rand::rng(), 0, None)?;
                let stack = render::stack::render(&project, &keys, &settings);
                let mut namespace = render::namespace::namespace(&project);
                outside_the_operators_view(&mut namespace);
                let name = namespace.metadata.name.clone().unwrap_or_default();
                let post = PostParams::default();
                Api::<Namespace>::all(client.clone())
                    .create(&post, &namespace)
                    .await?;
                create_all(
                    client.clone(),
                    &name,
                    &[render::keys_secret::keys_secret(&project, &keys)],
                )
                .await?;
                create_all(client.clone(), &name, &[stack.network_policy]).await?;
                create_all(client.clone(), &name, &[stack.resource_quota]).await?;
                create_all(client.clone(), &name, &[stack.limit_range]).await?;
                create_all(client.clone(), &name, &stack.config_maps).await?;
                create_all(client.clone(), &name, &stack.secrets).await?;
                create_all(client.clone(), &name, &stack.claims).await?;
                create_all(client.clone(), &name, &stack.stateful_sets).await?;
                create_all(client.clone(), &name, &stack.services).await?;
                create_all(client.clone(), &name, &stack.deployments).await?;
                create_all(client.clone(), &name, &stack.ingresses).await?;
                created.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                anyhow::Ok(())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await;
    progress.abort();
    result?;
    Ok(started.elapsed())
}

/// The limit's objects carry another managed-by value, so the operator's
/// watches (which select its own) neither list nor remember them: on a
/// real cluster it sees only its own projects' children.
fn outside_the_operators_view(object: &mut impl kube::Resource) {
    object
        .labels_mut()
        .insert(LABEL_MANAGED_BY.into(), "supaplane-bench-limit".into());
}

async fn create_all<K>(client: Client, namespace: &str, objects: &[K]) -> anyhow::Result<()>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let api: Api<K> = Api::namespaced(client, namespace);
    for object in objects {
        let mut object = object.clone();
        outside_the_operators_view(&mut object);
        api.create(&PostParams::default(), &object).await?;
    }
    Ok(())
}

/// The operator's RSS once it serves its metrics and has settled, before
/// any project exists: what the memory per project is counted above.
async fn idle_rss_mb(operator: &Operator, port: u16) -> anyhow::Result<f64> {
    let started = Instant::now();
    while metrics(port).await.is_err() {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the operator did not serve its metrics within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok(rss_mb(operator.pid()))
}

/// A client of `plane`'s administrator.
async fn client_of(plane: &ControlPlane) -> anyhow::Result<Client> {
    let kubeconfig = kube::config::Kubeconfig::read_from(plane.kubeconfig())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default()).await?;
    Ok(Client::try_from(config)?)
}

/// A control plane of the run's own, started off the async runtime (the
/// launcher blocks until the API server answers).
async fn start_control_plane() -> anyhow::Result<ControlPlane> {
    tokio::task::spawn_blocking(ControlPlane::dedicated).await?
}

async fn measure(count: usize) -> anyhow::Result<Measurement> {
    // The limit first, on an empty control plane of its own, stopped once
    // measured: the operator's run then starts from an empty one too, and
    // neither pays for the other's objects (at 10,000 projects the two
    // fleets together would hold ~20 GB in the API server).
    let bulk_created_in = {
        let plane = start_control_plane().await?;
        let client = client_of(&plane).await?;
        bulk_create(&client, count).await?
    };
    eprintln!(
        "bulk create of {count} projects' objects: {:.1} s",
        bulk_created_in.as_secs_f64()
    );

    let plane = start_control_plane().await?;
    let audit = plane.audit();
    let client = client_of(&plane).await?;
    let system: Namespace =
        serde_json::from_value(json!({"metadata": {"name": format!("supaplane-system-{count}")}}))?;
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &system)
        .await?;
    let kubeconfig_path = plane.kubeconfig();
    let selector = format!("supaplane.io/bench=run-{count}");
    let operator = Operator::spawn(kubeconfig_path, 18080, &selector, count)?;
    let idle_rss_mb = idle_rss_mb(&operator, 18080).await?;
    // The harness plays the workload controllers this control plane lacks.
    let workload_controllers = tokio::spawn(supaplane_tests::harness::keep_workloads_ready(
        client.clone(),
        |namespace| namespace.starts_with(&project_namespace("bench")),
    ));
    let projects: Api<Project> = Api::all(client.clone());
    let converge_mark = audit.mark();
    let started = Instant::now();
    for index in 0..count {
        let mut project = bench_project(&format!("bench{count}"), index)?;
        project
            .metadata
            .labels
            .get_or_insert_default()
            .insert("supaplane.io/bench".into(), format!("run-{count}"));
        projects.create(&PostParams::default(), &project).await?;
    }
    let fleet = watch_settled(projects.clone(), &selector);
    let limit = Duration::from_secs(env_seconds("SUPAPLANE_BENCH_CONVERGE_LIMIT_SECONDS", 900));
    let mut last_report = Instant::now();
    let converged = loop {
        let done = settled(&fleet).min(count);
        if done == count {
            break Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            break Err(done);
        }
        if last_report.elapsed() > Duration::from_secs(60) {
            // The operator's memory as the fleet grows: its slope is the
            // memory each project costs, apart from the peaks of a moment.
            eprintln!(
                "{done} of {count} converged after {:.0} s; operator RSS {:.0} MB",
                started.elapsed().as_secs_f64(),
                rss_mb(operator.pid())
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    workload_controllers.abort();
    let converged_in = match converged {
        Ok(time) => time,
        Err(done) => {
            operator.stop()?;
            return Ok(Measurement {
                projects: count,
                converged_in: None,
                converged_count: done,
                reconciles_per_project: f64::NAN,
                bulk_created_in,
                idle_rss_mb,
                peak_rss_mb: f64::NAN,
                resync_peak_rss_mb: f64::NAN,
                resync_writes: 0,
            });
        }
    };
    print_requests_served(&audit.since(converge_mark)?, count);
    let peak_rss_mb = peak_rss_mb(operator.pid());
    let reconciles_per_project = project_reconciles(18080).await? / count as f64;
    operator.stop()?;

    // A fresh operator reconciles every Project once more; nothing changed,
    // so nothing may be written. The Lease is renewed every few seconds by
    // design; it is a heartbeat, not a write of the resync.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mark = audit.mark();
    let restarted = Operator::spawn(kubeconfig_path, 18081, &selector, count)?;
    let resync_started = Instant::now();
    // Until the fresh operator has reconciled as many times as there are
    // projects (its own count), with room for a slow machine.
    let resync_limit = Duration::from_secs(600).max(Duration::from_millis(count as u64 * 200));
    while resync_started.elapsed() < resync_limit {
        let reconciled = project_reconciles(18081).await.unwrap_or(0.0);
        if reconciled >= count as f64 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!(
        "resync of {count} projects: {:.0} s",
        resync_started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resync_writes = audit
        .since(mark)?
        .iter()
        .filter(|e| e.is_write() && e.object().resource != "leases")
        .count();
    // A restart lists every child at once: its peak is the operator's too.
    let resync_peak_rss_mb = supaplane_tests::bench::peak_rss_mb(restarted.pid());
    restarted.stop()?;
    Ok(Measurement {
        projects: count,
        converged_in: Some(converged_in),
        converged_count: count,
        reconciles_per_project,
        bulk_created_in,
        idle_rss_mb,
        peak_rss_mb,
        resync_peak_rss_mb,
        resync_writes,
    })
}

fn print_requests_served(events: &[supaplane_tests::controlplane::AuditEvent], count: usize) {
    let mut served = std::collections::BTreeMap::<String, usize>::new();
    for event in events {
        *served
            .entry(format!("{} {}", event.verb, event.resource()))
            .or_default() += 1;
    }
    let mut served: Vec<_> = served.into_iter().collect();
    served.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    let top: Vec<String> = served
        .iter()
        .take(12)
        .map(|(what, n)| format!("{what} {:.1}", *n as f64 / count as f64))
        .collect();
    eprintln!(
        "requests served per project while converging ({} in all): {}",
        events.len(),
        top.join(", ")
    );
}

/// The operator's metrics on `port`, as text.
async fn metrics(port: u16) -> anyhow::Result<String> {
    use http_body_util::{BodyExt, Empty};
    use hyper_util::client::legacy::Client as HttpClient;
    use hyper_util::rt::TokioExecutor;
    let http: HttpClient<_, Empty<hyper::body::Bytes>> =
        HttpClient::builder(TokioExecutor::new()).build_http();
    let response = http
        .get(format!("http://127.0.0.1:{port}/metrics").parse()?)
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "metrics: {}",
        response.status()
    );
    let body = response.into_body().collect().await?.to_bytes();
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// Project reconciles the operator on `port` has completed, from its
/// metrics (none before its first).
async fn project_reconciles(port: u16) -> anyhow::Result<f64> {
    let text = metrics(port).await?;
    Ok(text
        .lines()
        .find_map(|line| {
            line.strip_prefix("supaplane_reconciles_total{controller=\"project\"} ")
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0.0))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::var("SUPAPLANE_BENCH_SIZES")
        .unwrap_or_else(|_| "100,1000".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "| Projects | All healthy | Bulk create of the same objects (limit) | Ratio | Reconciles per project | Idle RSS | Peak RSS (converging / restarted) | Per project above idle | Writes on resync |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut missed = Vec::new();
    for count in sizes {
        let m = measure(count).await?;
        let bulk = m.bulk_created_in.as_secs_f64();
        let Some(converged_in) = m.converged_in else {
            println!(
                "| {} | not converged: {} of {} | {bulk:.1} s | — | — | {:.0} MB | — | — | — |",
                m.projects, m.converged_count, m.projects, m.idle_rss_mb
            );
            missed.push(format!(
                "{} of {} projects converged within the limit",
                m.converged_count, m.projects
            ));
            continue;
        };
        let ratio = converged_in.as_secs_f64() / bulk;
        let peak_mb = m.peak_rss_mb.max(m.resync_peak_rss_mb);
        // What each project costs: the peak above the idle operator.
        let kb_per_project = (peak_mb - m.idle_rss_mb) * 1024.0 / m.projects as f64;
        println!(
            "| {} | {:.1} s | {bulk:.1} s | {ratio:.2} | {:.1} | {:.0} MB | {:.0} MB / {:.0} MB | {kb_per_project:.1} KB | {} |",
            m.projects,
            converged_in.as_secs_f64(),
            m.reconciles_per_project,
            m.idle_rss_mb,
            m.peak_rss_mb,
            m.resync_peak_rss_mb,
            m.resync_writes
        );
        if ratio > RATIO_TARGET {
            missed.push(format!(
                "{} projects took {ratio:.1}x the bulk create",
                m.projects
            ));
        }
        if m.projects >= RSS_PER_PROJECT_JUDGED_FROM {
            if kb_per_project > RSS_TARGET_KB_PER_PROJECT {
                missed.push(format!(
                    "{kb_per_project:.1} KB per project at {}",
                    m.projects
                ));
            }
        } else if peak_mb > RSS_TARGET_MB {
            missed.push(format!("peak RSS {peak_mb:.0} MB at {}", m.projects));
        }
        if m.resync_writes != 0 {
            missed.push(format!("{} writes on resync", m.resync_writes));
        }
    }
    if !missed.is_empty() {
        anyhow::bail!("targets missed: {}", missed.join("; "));
    }
    Ok(())
}
