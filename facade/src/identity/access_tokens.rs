//! Personal access tokens (`sbp_…`): each is a Secret in the facade's
//! namespace holding only the token's SHA-256 hash and who it belongs to.
//! Here they are recognised; `api::platform::access_tokens` makes, lists
//! and revokes them.

use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::common::error::{ApiError, ApiResult};
use crate::common::secrets::secret_text;
use crate::identity::caller::{AuthMethod, Caller};

pub const TOKEN_PREFIX: &str = "sbp_";
/// Marks the facade's access-token Secrets (the cache watches only these).
pub const LABEL_ACCESS_TOKEN: &str = "supaplane.io/access-token";
const SECRET_NAME_PREFIX: &str = "access-token-";

/// The Secret name a token is stored under: derived from its hash, so a
/// request finds its token in the cache by name.
pub fn secret_name(token: &str) -> String {
    format!("{SECRET_NAME_PREFIX}{}", &hash_hex(token)[..40])
}

pub fn hash_hex(token: &str) -> String {
    crate::common::ids::sha256_hex(token)
}

fn expired(secret: &Secret) -> bool {
    secret_text(secret, "expires-at")
        .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
        .is_some_and(|at| at < chrono::Utc::now())
}

/// The access tokens there are: the cache of their Secrets in the facade's
/// namespace.
#[derive(Clone)]
pub struct AccessTokens {
    pub store: Store<Secret>,
    /// Shared, not copied: the middleware's state is cloned per request.
    pub namespace: std::sync::Arc<str>,
}

impl AccessTokens {
    /// The caller a presented access token stands for.
    pub fn caller_for(&self, token: &str) -> ApiResult<Caller> {
        caller_for(&self.store, &self.namespace, token)
    }
}

fn caller_for(store: &Store<Secret>, namespace: &str, token: &str) -> ApiResult<Caller> {
    let refused = || ApiError::Unauthorized("Invalid or revoked access token".into());
    let secret = store
        .get(&ObjectRef::new(&secret_name(token)).within(namespace))
        .ok_or_else(refused)?;
    // The name holds part of the hash; the whole hash must match too.
    if secret_text(&secret, "hash") != Some(hash_hex(token).as_str()) || expired(&secret) {
        return Err(refused());
    }
    Ok(Caller {
        user_id: secret_text(&secret, "user-id")
            .ok_or_else(refused)?
            .to_string(),
        email: secret_text(&secret, "email").map(str::to_string),
        full_name: None,
        method: AuthMethod::AccessToken,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_come_from_the_hash_and_are_valid_names() {
        let name = secret_name("sbp_abc");
        assert!(name.starts_with(SECRET_NAME_PREFIX));
        assert_eq!(name.len(), SECRET_NAME_PREFIX.len() + 40);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert_ne!(name, secret_name("sbp_abd"));
    }
}
