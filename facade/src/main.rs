//! supaplane-facade: the REST API Supabase Studio and Management API clients
//! talk to, backed by the Organization and Project resources.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tracing::info;

use supaplane_facade::config::FacadeConfig;
use supaplane_facade::health::Readiness;
use supaplane_facade::router;
use supaplane_facade::server::{self, ConnectionLimits};
use supaplane_facade::state::AppState;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = FacadeConfig::parse();
    init_tracing(&config.log_format);
    let readiness = Arc::new(Readiness::default());
    let client = kube::Client::try_default().await?;
    let address = config.listen_address;
    let header_read_timeout_seconds = config.header_read_timeout_seconds;
    let (state, _caches) = AppState::start(client, config)?;

    let caches_ready = state.clone();
    let ready_flag = readiness.clone();
    tokio::spawn(async move {
        match caches_ready.ready().await {
            Ok(()) => {
                info!("organization, project and access-token caches are filled");
                ready_flag.mark_ready();
            }
            Err(error) => tracing::error!(%error, "the caches never filled"),
        }
    });

    tokio::spawn(supaplane_facade::health::watch_api_server(
        state.client.clone(),
        readiness.clone(),
    ));
    let listener = tokio::net::TcpListener::bind(address).await?;
    info!(%address, "serving the platform and management APIs");
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(header_read_timeout_seconds),
        max_header_bytes: 64 * 1024,
    };
    server::serve(
        listener,
        router(state, readiness),
        limits,
        shutdown_signal(),
    )
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
