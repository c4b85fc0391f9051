//! supaplane-operator: reconciles Organizations and Projects into
//! per-project Supabase stacks.

mod config;
mod health;

use supaplane_operator::{organization_controller, project_controller};

use std::sync::Arc;

use clap::Parser;
use tracing::info;

use config::OperatorConfig;
use health::Readiness;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = OperatorConfig::parse();
    init_tracing(&config.log_format);
    let readiness = Arc::new(Readiness::default());

    let client = kube::Client::try_default().await?;
    let version = client.apiserver_version().await?;
    info!(kubernetes = %version.git_version, "connected to the Kubernetes API");
    readiness.mark_ready();

    let listener = tokio::net::TcpListener::bind(config.health_address).await?;
    info!(address = %config.health_address, "serving /healthz and /readyz");
    let health_server =
        axum::serve(listener, health::routes(readiness)).with_graceful_shutdown(shutdown_signal());
    let projects = project_controller::run(Arc::new(project_controller::Context {
        client: client.clone(),
    }));
    let organizations =
        organization_controller::run(Arc::new(organization_controller::Context { client }));
    tokio::select! {
        result = health_server => result?,
        _ = futures::future::join(projects, organizations) => info!("the controllers stopped"),
    }
    Ok(())
}

fn init_tracing(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
    info!("shutting down");
}
