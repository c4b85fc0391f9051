//! The operator's client of the Kubernetes API: kube's own stack (TLS, auth,
//! base URI, impersonation headers, retries) over a hyper client whose
//! per-connection read buffer is capped.
//!
//! Why: hyper grows each connection's read buffer up to ~400 KB while it
//! reads a large body (a list page) and keeps that capacity while the
//! connection lives or idles in the pool. The operator holds a few dozen
//! connections (one per watch, more while reconciles run), so at a restart
//! those buffers were ~40% of the heap. Bodies larger than the cap are still
//! read whole, in more reads.

use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::retry::RetryPolicy;
use kube::client::{ClientBuilder, ConfigExt};
use tower::ServiceBuilder;
use tower::retry::RetryLayer;
use tower_http::trace::TraceLayer;

/// The most a connection's read buffer holds: a TLS record's worth of
/// plaintext, so one read fills it; response headers fit many times over.
pub const READ_BUFFER_LIMIT: usize = 16 * 1024;

/// The client of the cluster that `kube::Config::infer` finds (in-cluster
/// service account, or `KUBECONFIG`).
pub async fn infer() -> Result<kube::Client, kube::Error> {
    let config = kube::Config::infer()
        .await
        .map_err(kube::Error::InferConfig)?;
    from_config(config)
}

/// A client of `config`'s cluster with the read buffer capped.
///
/// Falls back to kube's default client where it does what this stack does
/// not: through a proxy, and for exec credentials (kube rebuilds the client
/// when an exec-issued client certificate expires).
pub fn from_config(config: kube::Config) -> Result<kube::Client, kube::Error> {
    if config.proxy_url.is_some() || config.auth_info.exec.is_some() {
        return kube::Client::try_from(config);
    }
    let mut http = HttpConnector::new();
    // The TLS connector wrapping it decides the scheme.
    http.enforce_http(false);
    let mut connector = TimeoutConnector::new(config.rustls_https_connector_with_connector(http)?);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http_client = hyper_util::client::legacy::Builder::new(TokioExecutor::new())
        .http1_max_buf_size(READ_BUFFER_LIMIT)
        .build(connector);

    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(
            config
                .default_retry
                .then(|| RetryLayer::new(RetryPolicy::server_retry())),
        )
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .layer(TraceLayer::new_for_http())
        .map_err(tower::BoxError::from)
        .service(http_client);
    Ok(ClientBuilder::new(service, config.default_namespace).build())
}
