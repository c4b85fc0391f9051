//! supaplane-operator: reconciles Organizations and Projects into
//! per-project Supabase stacks.

#![forbid(unsafe_code)]

mod config;
mod health;

use std::time::Duration;

use supaplane_operator::leader::LeaderElector;
use supaplane_operator::metrics::Metrics;
use supaplane_operator::{
    backup_controller, bucket_purge, organization_controller, orphans, project_controller,
    restore_controller,
};

use std::sync::Arc;

use clap::Parser;
use tracing::info;

use config::OperatorConfig;
use supaplane_crds::serving::{Readiness, init_tracing, shutdown_signal};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = OperatorConfig::parse();
    init_tracing(&config.log_format);
    let readiness = Arc::new(Readiness::waiting_for(health::WAITING_FOR));
    let metrics = Arc::new(Metrics::default());

    let client = supaplane_operator::api_client::infer().await?;
    let version = client.apiserver_version().await?;
    info!(kubernetes = %version.git_version, "connected to the Kubernetes API");
    readiness.mark_ready();

    let listener = tokio::net::TcpListener::bind(config.health_address).await?;
    info!(address = %config.health_address, "serving /healthz and /readyz");
    let health_server = axum::serve(listener, health::routes(readiness, metrics.clone()))
        .with_graceful_shutdown(shutdown_signal());
    // Only the Lease holder reconciles; losing the Lease ends the process so
    // that a restarted replica rejoins the election cleanly.
    let elector = LeaderElector::new(
        client.clone(),
        &config.leader_namespace,
        "supaplane-operator",
        &config.identity,
        Duration::from_secs(15),
    );
    info!(identity = %config.identity, "waiting to lead");
    elector.acquire(Duration::from_secs(2)).await?;
    info!("leading: starting the controllers");
    let projects = project_controller::run(Arc::new(project_controller::Context {
        client: client.clone(),
        metrics: metrics.clone(),
        settings: config.stack_settings(),
        selector: config.selector.clone(),
        children: Default::default(),
    }));
    let sweep = orphans::run(
        client.clone(),
        Duration::from_secs(60),
        Duration::from_secs(config.unfinished_create_grace_seconds),
    );
    let backups = backup_controller::run(Arc::new(backup_controller::Context {
        client: client.clone(),
        metrics: metrics.clone(),
        selector: config.selector.clone(),
    }));
    let restores = restore_controller::run(Arc::new(restore_controller::Context {
        client: client.clone(),
        metrics: metrics.clone(),
        selector: config.selector.clone(),
    }));
    let purges = bucket_purge::run(Arc::new(bucket_purge::Context {
        client: client.clone(),
        namespace: config.leader_namespace.clone(),
    }));
    let organizations = organization_controller::run(Arc::new(organization_controller::Context {
        client,
        metrics,
        selector: config.selector.clone(),
        projects: Default::default(),
    }));
    tokio::select! {
        result = health_server => result?,
        _ = futures::future::join5(projects, organizations, backups, restores, purges) => info!("the controllers stopped"),
        () = sweep => info!("the sweep stopped"),
        () = elector.hold(Duration::from_secs(5)) => anyhow::bail!("lost the leader lease"),
    }
    Ok(())
}
