//! A project's keys Secret (written once by the operator), read on demand
//! and never cached, so secrets stay out of the facade's memory: the keys a
//! caller may see, and the service credentials the facade itself uses.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use supaplane_crds::constants::{KEYS_SECRET_NAME, keys_secret, project_namespace};

use crate::authorization::access::ProjectAccess;
use crate::authorization::permissions::{Action, allows};
use crate::common::error::{ApiError, ApiResult};
use crate::common::secrets::secret_text;
use crate::common::shapes;

/// The project's keys Secret as read now (absent until the operator made it).
pub struct KeysSecret(Option<Secret>);

impl KeysSecret {
    pub async fn read(client: &kube::Client, access: &ProjectAccess) -> ApiResult<KeysSecret> {
        let secrets: Api<Secret> =
            Api::namespaced(client.clone(), &project_namespace(&access.reference()));
        let secret = secrets
            .get_opt(KEYS_SECRET_NAME)
            .await
            .map_err(|e| ApiError::kube("reading the project keys", e))?;
        Ok(KeysSecret(secret))
    }

    pub fn entry(&self, key: &str) -> Option<String> {
        self.0
            .as_ref()
            .and_then(|secret| secret_text(secret, key))
            .map(str::to_string)
    }
}

/// The keys a caller may see.
pub struct ProjectKeys {
    pub anon_key: Option<String>,
    pub service_role_key: Option<String>,
    pub jwt_secret: Option<String>,
}

/// Reads the keys the caller may see: the anon key always (it is public),
/// the service_role key and JWT secret only for roles allowed secrets.
pub async fn read_keys(client: &kube::Client, access: &ProjectAccess) -> ApiResult<ProjectKeys> {
    let may_see_secrets = allows(access.role, Action::ReadSecrets);
    let anon_key = shapes::anon_key(&access.project);
    if anon_key.is_some() && !may_see_secrets {
        return Ok(ProjectKeys {
            anon_key,
            service_role_key: None,
            jwt_secret: None,
        });
    }
    let secret = KeysSecret::read(client, access).await?;
    Ok(ProjectKeys {
        anon_key: anon_key.or_else(|| secret.entry(keys_secret::ANON_KEY)),
        service_role_key: may_see_secrets
            .then(|| secret.entry(keys_secret::SERVICE_ROLE_KEY))
            .flatten(),
        jwt_secret: may_see_secrets
            .then(|| secret.entry(keys_secret::JWT_SECRET))
            .flatten(),
    })
}
