//! Dashboard GoTrue sessions: a bearer JWT verified with the shared HS256
//! secret or the issuer's published keys, its expiry and audience.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::common::config::FacadeConfig;
use crate::common::error::ApiError;
use crate::common::http::UpstreamClient;
use crate::identity::caller::{AuthMethod, Caller};
use crate::identity::jwks::Jwks;

/// The claims of a GoTrue access token that we use.
#[derive(Debug, Deserialize)]
struct SessionClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    is_anonymous: bool,
    #[serde(default)]
    user_metadata: UserMetadata,
}

#[derive(Debug, Default, Deserialize)]
struct UserMetadata {
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

pub struct TokenVerifier {
    /// Sessions verified lately: Studio sends the same token with every
    /// call until it refreshes it, so its signature is checked once.
    verified: std::sync::Mutex<std::collections::HashMap<String, (Caller, i64)>>,
    /// The shared HS256 secret, when the dashboard GoTrue signs with one.
    secret: Option<DecodingKey>,
    /// The issuer's published keys, when it signs with asymmetric keys.
    jwks: Option<Jwks>,
    audience: String,
    issuer: Option<String>,
}

impl TokenVerifier {
    pub fn new(config: &FacadeConfig, http: UpstreamClient) -> anyhow::Result<Self> {
        let secret = config
            .jwt_secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| DecodingKey::from_secret(s.as_bytes()));
        let jwks = config.jwks_url.as_deref().map(|url| Jwks::new(url, http));
        anyhow::ensure!(
            secret.is_some() || jwks.is_some(),
            "set SUPAPLANE_JWT_SECRET or SUPAPLANE_JWKS_URL: access tokens cannot be verified otherwise"
        );
        Ok(TokenVerifier {
            verified: Default::default(),
            secret,
            jwks,
            audience: config.jwt_audience.clone(),
            issuer: config.jwt_issuer.clone(),
        })
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&[self.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "sub", "aud"]);
        // A token not valid yet is refused like an expired one.
        validation.validate_nbf = true;
        if let Some(issuer) = &self.issuer {
            validation.set_issuer(&[issuer.as_str()]);
        }
        validation
    }

    /// The caller a session token proves, verified at most once per
    /// [`VERIFIED_FOR_SECONDS`] (and never past the token's expiry).
    pub async fn verify_session(&self, token: &str) -> Result<Caller, ApiError> {
        let now = chrono::Utc::now().timestamp();
        if let Some(caller) = self.recently_verified(token, now) {
            return Ok(caller);
        }
        let (caller, expires) = self.verify_signature_and_claims(token).await?;
        let mut verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if verified.len() >= VERIFIED_SESSIONS {
            verified.clear();
        }
        verified.insert(
            token.to_string(),
            (caller.clone(), expires.min(now + VERIFIED_FOR_SECONDS)),
        );
        Ok(caller)
    }

    fn recently_verified(&self, token: &str, now: i64) -> Option<Caller> {
        let verified = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        verified
            .get(token)
            .filter(|(_, until)| now < *until)
            .map(|(caller, _)| caller.clone())
    }

    async fn verify_signature_and_claims(&self, token: &str) -> Result<(Caller, i64), ApiError> {
        let invalid = |why: String| ApiError::Unauthorized(format!("Invalid access token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(e.to_string()))?;
        let (key, algorithm) = match (header.alg, &self.secret, &self.jwks, &header.kid) {
            (Algorithm::HS256, Some(secret), _, _) => (secret.clone(), Algorithm::HS256),
            (algorithm, _, Some(jwks), Some(kid)) => {
                let published = jwks.key(kid).await.map_err(invalid)?;
                // The token must use the algorithm its key was published for.
                if published.algorithm != algorithm {
                    return Err(invalid(format!(
                        "key {kid:?} is for {:?}, not {algorithm:?}",
                        published.algorithm
                    )));
                }
                (published.key, algorithm)
            }
            (algorithm, _, _, _) => {
                return Err(invalid(format!(
                    "{algorithm:?} tokens are not accepted here"
                )));
            }
        };
        let claims =
            jsonwebtoken::decode::<SessionClaims>(token, &key, &self.validation(algorithm))
                .map_err(|e| invalid(e.to_string()))?
                .claims;
        if claims.is_anonymous {
            return Err(ApiError::Unauthorized(
                "Anonymous sessions cannot use the dashboard".into(),
            ));
        }
        let caller = Caller {
            user_id: claims.sub,
            email: claims.email.filter(|e| !e.is_empty()),
            full_name: claims.user_metadata.full_name.or(claims.user_metadata.name),
            method: AuthMethod::Session,
        };
        Ok((caller, claims.exp))
    }
}

/// Verified sessions kept at most (the map is emptied when it is full).
const VERIFIED_SESSIONS: usize = 10_000;
/// How long a verified session is taken on trust before its signature is
/// checked again (a JWKS key withdrawn stops being accepted within this).
const VERIFIED_FOR_SECONDS: i64 = 300;

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    fn verifier() -> TokenVerifier {
        TokenVerifier::new(
            &FacadeConfig::for_tests("a-secret-of-enough-length", "ns"),
            crate::common::http::upstream_client().expect("client"),
        )
        .expect("verifier")
    }

    fn token(claims: serde_json::Value, secret: &str) -> String {
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .expect("token")
    }

    fn in_an_hour() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[tokio::test]
    async fn a_gotrue_session_token_names_the_caller() {
        let jwt = token(
            json!({"sub": "u1", "aud": "authenticated", "exp": in_an_hour(), "email": "a@example.com",
                   "role": "authenticated", "user_metadata": {"full_name": "Ada"}}),
            "a-secret-of-enough-length",
        );
        let caller = verifier().verify_session(&jwt).await.expect("valid");
        assert_eq!(caller.user_id, "u1");
        assert_eq!(caller.email.as_deref(), Some("a@example.com"));
        assert_eq!(caller.full_name.as_deref(), Some("Ada"));
    }

    #[tokio::test]
    async fn wrong_secret_expired_or_wrong_audience_are_refused() {
        let good = json!({"sub": "u1", "aud": "authenticated", "exp": in_an_hour()});
        assert!(
            verifier()
                .verify_session(&token(good.clone(), "another-secret"))
                .await
                .is_err()
        );
        let expired = json!({"sub": "u1", "aud": "authenticated", "exp": 1_000});
        assert!(
            verifier()
                .verify_session(&token(expired, "a-secret-of-enough-length"))
                .await
                .is_err()
        );
        let audience = json!({"sub": "u1", "aud": "other", "exp": in_an_hour()});
        assert!(
            verifier()
                .verify_session(&token(audience, "a-secret-of-enough-length"))
                .await
                .is_err()
        );
        let anonymous =
            json!({"sub": "u1", "aud": "authenticated", "exp": in_an_hour(), "is_anonymous": true});
        assert!(
            verifier()
                .verify_session(&token(anonymous, "a-secret-of-enough-length"))
                .await
                .is_err()
        );
    }

    #[tokio::test]
    async fn a_verified_session_is_trusted_until_its_expiry_or_five_minutes() {
        let verifier = verifier();
        let now = chrono::Utc::now().timestamp();
        let jwt = token(
            json!({"sub": "u1", "aud": "authenticated", "exp": now + 3600}),
            "a-secret-of-enough-length",
        );
        assert_eq!(verifier.recently_verified(&jwt, now), None, "not yet");
        let caller = verifier.verify_session(&jwt).await.expect("valid");
        assert_eq!(verifier.recently_verified(&jwt, now), Some(caller));
        assert_eq!(
            verifier.recently_verified(&jwt, now + VERIFIED_FOR_SECONDS + 1),
            None,
            "checked again after five minutes"
        );
        let soon = token(
            json!({"sub": "u2", "aud": "authenticated", "exp": now + 30}),
            "a-secret-of-enough-length",
        );
        verifier.verify_session(&soon).await.expect("valid");
        assert!(verifier.recently_verified(&soon, now + 29).is_some());
        assert_eq!(
            verifier.recently_verified(&soon, now + 31),
            None,
            "never past its expiry"
        );
        // A refused token is never kept.
        let forged = token(
            json!({"sub": "u1", "aud": "authenticated", "exp": now + 3600}),
            "another-secret",
        );
        assert!(verifier.verify_session(&forged).await.is_err());
        assert_eq!(verifier.recently_verified(&forged, now), None);
    }
}
