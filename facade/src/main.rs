//! supaplane-facade: the REST API Supabase Studio and Management API clients
//! talk to, backed by the Organization and Project resources.

mod config;
mod health;

use std::sync::Arc;

use clap::Parser;
use tracing::info;

use config::FacadeConfig;
use health::Readiness;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = FacadeConfig::parse();
    init_tracing(&config.log_format);
    let readiness = Arc::new(Readiness::default());

    let client = kube::Client::try_default().await;
    match &client {
        Ok(client) => match client.apiserver_version().await {
            Ok(version) => {
                info!(kubernetes = %version.git_version, "connected to the Kubernetes API");
                readiness.mark_ready();
            }
            Err(error) => tracing::warn!(%error, "the Kubernetes API did not answer yet"),
        },
        Err(error) => tracing::warn!(%error, "no Kubernetes configuration found"),
    }

    let listener = tokio::net::TcpListener::bind(config.health_address).await?;
    info!(address = %config.health_address, "serving /healthz and /readyz");
    axum::serve(listener, health::routes(readiness))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
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
