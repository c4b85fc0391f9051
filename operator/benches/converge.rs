//! How fast the operator turns new Projects into applied stacks, how much
//! memory it needs for them, and that a resync of settled Projects writes
//! nothing. Runs the real operator binary (a separate process, so its
//! memory is its own) against the in-process test API server.
//!
//! `cargo bench -p supaplane-operator --bench converge` (set
//! `SUPAPLANE_BENCH_SIZES=100,1000` to choose the fleet sizes).

use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use supaplane_crds::{Project, SupabaseStatus};
use supaplane_tests::bench::{kubeconfig, peak_rss_mb};
use supaplane_tests::harness::TestCluster;

/// Targets from the operator issue.
const CONVERGE_TARGET: Duration = Duration::from_secs(60);
const RSS_TARGET_MB: f64 = 150.0;

struct Measurement {
    projects: usize,
    converged_in: Duration,
    peak_rss_mb: f64,
    resync_writes: u64,
}

fn spawn_operator(
    kubeconfig_path: &std::path::Path,
    port: u16,
) -> std::io::Result<std::process::Child> {
    std::process::Command::new(env!("CARGO_BIN_EXE_supaplane-operator"))
        .env("KUBECONFIG", kubeconfig_path)
        .env("SUPAPLANE_HEALTH_ADDRESS", format!("127.0.0.1:{port}"))
        .env("POD_NAMESPACE", "supaplane-system")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
}

async fn settled(projects: &Api<Project>, expected: usize) -> anyhow::Result<usize> {
    let listed = projects.list(&ListParams::default()).await?;
    Ok(listed
        .items
        .iter()
        .filter(|p| {
            p.status.as_ref().is_some_and(|s| {
                s.status == Some(SupabaseStatus::ComingUp)
                    && s.observed_generation == p.metadata.generation
                    && s.conditions.len() > 2
            })
        })
        .count()
        .min(expected))
}

async fn measure(count: usize) -> anyhow::Result<Measurement> {
    let cluster = TestCluster::start().await?;
    let server = cluster
        .test_server()
        .expect("the in-process test API server");
    let client: Client = cluster.client();
    Api::<Namespace>::all(client.clone())
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "supaplane-system"}}))?,
        )
        .await?;
    let directory = std::env::temp_dir().join(format!("supaplane-bench-{}", std::process::id()));
    std::fs::create_dir_all(&directory)?;
    let kubeconfig_path = directory.join(format!("kubeconfig-{count}"));
    std::fs::write(&kubeconfig_path, kubeconfig(&server.url()))?;

    let mut operator = spawn_operator(&kubeconfig_path, 18080)?;
    let projects: Api<Project> = Api::all(client.clone());
    let started = Instant::now();
    for index in 0..count {
        let project: Project = serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
            "metadata": {"name": format!("bench-{index:05}")},
            "spec": {"organization": format!("org-{}", index % 10), "displayName": format!("Bench {index}")},
        }))?;
        projects.create(&PostParams::default(), &project).await?;
    }
    loop {
        let done = settled(&projects, count).await?;
        if done == count {
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("only {done} of {count} projects converged in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let converged_in = started.elapsed();
    let peak_rss_mb = peak_rss_mb(operator.id());
    operator.kill()?;
    operator.wait()?;

    // A fresh operator reconciles every Project once more; nothing changed,
    // so nothing may be written.
    // The Lease is renewed every few seconds by design; it is a heartbeat,
    // not a write of the resync.
    let heartbeat = ["coordination.k8s.io/leases"];
    let writes_before = server.counters().writes_excluding(&heartbeat);
    let reads_before = server.counters().count("get");
    let mut restarted = spawn_operator(&kubeconfig_path, 18081)?;
    let resync_started = Instant::now();
    // Each reconcile reads every child; wait until the whole fleet was read.
    while server.counters().count("get") < reads_before + (count as u64) * 20 {
        if resync_started.elapsed() > Duration::from_secs(600) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let resync_writes = server.counters().writes_excluding(&heartbeat) - writes_before;
    restarted.kill()?;
    restarted.wait()?;
    let _ = std::fs::remove_dir_all(&directory);
    Ok(Measurement {
        projects: count,
        converged_in,
        peak_rss_mb,
        resync_writes,
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sizes: Vec<usize> = std::env::var("SUPAPLANE_BENCH_SIZES")
        .unwrap_or_else(|_| "100,1000".to_string())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("| Projects | All children applied | Operator peak RSS | Writes on resync |");
    println!("|---:|---:|---:|---:|");
    let mut missed = Vec::new();
    for count in sizes {
        let m = measure(count).await?;
        println!(
            "| {} | {:.1} s | {:.0} MB | {} |",
            m.projects,
            m.converged_in.as_secs_f64(),
            m.peak_rss_mb,
            m.resync_writes
        );
        if m.projects >= 1000 && m.converged_in > CONVERGE_TARGET {
            missed.push(format!("{} projects took {:?}", m.projects, m.converged_in));
        }
        if m.peak_rss_mb > RSS_TARGET_MB {
            missed.push(format!("peak RSS {:.0} MB", m.peak_rss_mb));
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
