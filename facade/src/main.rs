//! supaplane-facade: the REST API Supabase Studio and Management API clients
//! talk to, backed by the Organization and Project resources.

#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use tracing::info;

use supaplane_crds::serving::{Readiness, init_tracing, shutdown_signal};
use supaplane_facade::common::config::FacadeConfig;
use supaplane_facade::health::WAITING_FOR;
use supaplane_facade::router;
use supaplane_facade::server::{self, ConnectionLimits};
use supaplane_facade::state::AppState;

/// jemalloc rather than glibc's allocator: a request's allocations are often
/// freed on another worker thread, and glibc then takes the other arena's
/// lock (about one futex call per request under load, measured).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = FacadeConfig::parse();
    init_tracing(&config.log_format);
    let readiness = Arc::new(Readiness::waiting_for(WAITING_FOR));
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
