//! The dashboard GoTrue's published signing keys (its JWKS), for access
//! tokens signed with asymmetric keys. Fetched on first use and again when
//! a token names a key we do not know (at most every few seconds, so bad
//! tokens cannot make us hammer the issuer).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::common::http::UpstreamClient;

/// Least time between two fetches of the key set.
const REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Keys are refreshed this often even when every kid is known (rotation).
const MAX_AGE: Duration = Duration::from_secs(600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
const BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
pub struct SigningKey {
    pub key: DecodingKey,
    pub algorithm: Algorithm,
}

#[derive(Default)]
struct Fetched {
    keys: HashMap<String, SigningKey>,
    /// When the keys were last fetched successfully.
    at: Option<Instant>,
    /// When a fetch was last tried, whatever came of it.
    tried: Option<Instant>,
}

pub struct Jwks {
    url: String,
    http: UpstreamClient,
    fetched: Mutex<Fetched>,
    fetch_count: std::sync::atomic::AtomicU64,
    /// Held while one fetch runs: the callers that need it meanwhile wait
    /// for its outcome instead of fetching too (single flight).
    fetching: tokio::sync::Mutex<()>,
}

fn asymmetric(algorithm: Algorithm) -> bool {
    !matches!(
        algorithm,
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
    )
}

impl Jwks {
    pub fn new(url: &str, http: UpstreamClient) -> Jwks {
        Jwks {
            url: url.to_string(),
            http,
            fetched: Mutex::new(Fetched::default()),
            fetch_count: Default::default(),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    /// The cached key `kid` names while the set is fresh, and whether a
    /// fetch may be tried now (none in the last `REFETCH_INTERVAL`).
    fn cached(&self, kid: &str) -> (Option<SigningKey>, bool) {
        let fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = fetched.at.is_some_and(|at| at.elapsed() < MAX_AGE);
        let may_refetch = fetched
            .tried
            .is_none_or(|tried| tried.elapsed() >= REFETCH_INTERVAL);
        let key = fresh.then(|| fetched.keys.get(kid).cloned()).flatten();
        (key, may_refetch)
    }

    /// How many fetches were tried (for tests and metrics).
    pub fn fetches(&self) -> u64 {
        self.fetch_count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The key a token's `kid` names, fetching the set when needed: at most
    /// one fetch at a time and one per `REFETCH_INTERVAL`, however many
    /// tokens with unknown kids arrive, and whether or not it succeeds.
    pub async fn key(&self, kid: &str) -> Result<SigningKey, String> {
        let (key, may_refetch) = self.cached(kid);
        if let Some(key) = key {
            return Ok(key);
        }
        if may_refetch {
            let _only_fetch = self.fetching.lock().await;
            // Another caller may have fetched while this one waited.
            let (key, may_refetch) = self.cached(kid);
            if let Some(key) = key {
                return Ok(key);
            }
            if may_refetch {
                self.fetched.lock().unwrap_or_else(|p| p.into_inner()).tried = Some(Instant::now());
                self.fetch_count
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                match self.fetch().await {
                    Ok(keys) => {
                        let mut fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
                        fetched.keys = keys;
                        fetched.at = Some(Instant::now());
                    }
                    Err(error) => {
                        tracing::warn!(url = %self.url, %error, "fetching the dashboard GoTrue's JWKS failed");
                    }
                }
            }
        }
        let fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        fetched
            .keys
            .get(kid)
            .cloned()
            .ok_or_else(|| format!("no signing key {kid:?} is published by the issuer"))
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, SigningKey>> {
        let request = hyper::Request::get(&self.url).body(Full::new(Bytes::new()))?;
        let response = tokio::time::timeout(FETCH_TIMEOUT, self.http.request(request)).await??;
        anyhow::ensure!(
            response.status().is_success(),
            "the JWKS answered {}",
            response.status()
        );
        let body = Limited::new(response.into_body(), BODY_LIMIT)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the JWKS: {e}"))?
            .to_bytes();
        let set: JwkSet = serde_json::from_slice(&body)?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            let (Some(kid), Some(algorithm)) = (&jwk.common.key_id, jwk.common.key_algorithm)
            else {
                continue;
            };
            let Ok(algorithm) = algorithm.to_string().parse::<Algorithm>() else {
                continue;
            };
            // Only asymmetric keys come from a published set: accepting an
            // HMAC "key" from it would let anyone mint tokens.
            if !asymmetric(algorithm) {
                continue;
            }
            if let Ok(key) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid.clone(), SigningKey { key, algorithm });
            }
        }
        Ok(keys)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use axum::Router;
    use axum::http::StatusCode;
    use axum::routing::get;

    /// A JWKS endpoint that counts its requests, answering `status` after
    /// `delay` with an empty key set.
    async fn issuer(status: StatusCode, delay: Duration) -> (String, Arc<AtomicU64>) {
        let hits = Arc::new(AtomicU64::new(0));
        let counted = hits.clone();
        let app = Router::new().route(
            "/jwks",
            get(move || {
                let counted = counted.clone();
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(delay).await;
                    (status, r#"{"keys": []}"#)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{address}/jwks"), hits)
    }

    #[tokio::test]
    async fn a_failing_issuer_is_asked_once_per_interval_however_many_tokens_arrive() {
        let (url, hits) = issuer(StatusCode::SERVICE_UNAVAILABLE, Duration::ZERO).await;
        let jwks = Jwks::new(
            &url,
            crate::common::http::upstream_client().expect("client"),
        );
        for n in 0..50 {
            assert!(jwks.key(&format!("unknown-{n}")).await.is_err());
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        assert_eq!(jwks.fetches(), 1);
    }

    #[tokio::test]
    async fn concurrent_unknown_kids_share_one_fetch_of_a_slow_issuer() {
        let (url, hits) = issuer(StatusCode::OK, Duration::from_millis(300)).await;
        let jwks = Arc::new(Jwks::new(
            &url,
            crate::common::http::upstream_client().expect("client"),
        ));
        let lookups = (0..40).map(|n| {
            let jwks = jwks.clone();
            tokio::spawn(async move { jwks.key(&format!("unknown-{n}")).await })
        });
        for lookup in futures::future::join_all(lookups).await {
            assert!(lookup.expect("task").is_err());
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
    }
}
