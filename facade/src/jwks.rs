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

use crate::state::UpstreamClient;

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
    at: Option<Instant>,
}

pub struct Jwks {
    url: String,
    http: UpstreamClient,
    fetched: Mutex<Fetched>,
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
        }
    }

    fn cached(&self, kid: &str) -> (Option<SigningKey>, bool) {
        let fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
        let fresh = fetched.at.is_some_and(|at| at.elapsed() < MAX_AGE);
        let may_refetch = fetched.at.is_none_or(|at| at.elapsed() >= REFETCH_INTERVAL);
        let key = fresh.then(|| fetched.keys.get(kid).cloned()).flatten();
        (key, may_refetch)
    }

    /// The key a token's `kid` names, fetching the set when needed.
    pub async fn key(&self, kid: &str) -> Result<SigningKey, String> {
        let (key, may_refetch) = self.cached(kid);
        if let Some(key) = key {
            return Ok(key);
        }
        if may_refetch {
            match self.fetch().await {
                Ok(keys) => {
                    let mut fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
                    fetched.keys = keys;
                    fetched.at = Some(Instant::now());
                }
                Err(error) => {
                    tracing::warn!(url = %self.url, %error, "fetching the dashboard GoTrue's JWKS failed");
                    let mut fetched = self.fetched.lock().unwrap_or_else(|p| p.into_inner());
                    fetched.at = Some(Instant::now() - MAX_AGE + REFETCH_INTERVAL);
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
