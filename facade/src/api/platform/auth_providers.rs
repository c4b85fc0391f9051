//! Third-party sign-in providers on Studio's Auth → Providers page: the
//! `EXTERNAL_<PROVIDER>_*` fields of `/platform/auth/{ref}/config`, kept in
//! the Project's `spec.auth.providers`, client secrets in the Secret
//! `auth-providers` beside the project (never in the spec, never read back:
//! Studio gets a mask, and a mask sent back means "unchanged").

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use supaplane_crds::{OAuthProvider, OAuthProviderSpec, Project, SecretKeyRef};

use crate::common::error::{ApiError, ApiResult};

/// The Secret, in the project namespace, holding the client secrets (one
/// key per provider, named as GoTrue names it).
pub const PROVIDERS_SECRET_NAME: &str = "auth-providers";
/// What Studio shows for a stored secret, and sends back untouched.
pub const SECRET_MASK: &str = "••••••••";
const URL_LIMIT: usize = 2048;
const CLIENT_IDS_LIMIT: usize = 20;

/// The providers Studio has a form for (the rest are set with kubectl).
const STUDIO_PROVIDERS: [OAuthProvider; 21] = [
    OAuthProvider::Apple,
    OAuthProvider::Azure,
    OAuthProvider::Bitbucket,
    OAuthProvider::Discord,
    OAuthProvider::Facebook,
    OAuthProvider::Figma,
    OAuthProvider::Github,
    OAuthProvider::Gitlab,
    OAuthProvider::Google,
    OAuthProvider::Kakao,
    OAuthProvider::Keycloak,
    OAuthProvider::LinkedinOidc,
    OAuthProvider::Notion,
    OAuthProvider::Slack,
    OAuthProvider::SlackOidc,
    OAuthProvider::Spotify,
    OAuthProvider::Twitch,
    OAuthProvider::Twitter,
    OAuthProvider::Workos,
    OAuthProvider::X,
    OAuthProvider::Zoom,
];

/// Providers whose form has a URL field.
const WITH_URL: [OAuthProvider; 4] = [
    OAuthProvider::Azure,
    OAuthProvider::Gitlab,
    OAuthProvider::Keycloak,
    OAuthProvider::Workos,
];

/// Providers that can sign in with ID tokens alone, so need no secret.
const SECRET_OPTIONAL: [OAuthProvider; 2] = [OAuthProvider::Apple, OAuthProvider::Google];

/// The `EXTERNAL_*` fields of `GoTrueConfigResponse` for Studio's providers.
pub fn config_fields(project: &Project) -> BTreeMap<String, Value> {
    let mut fields = BTreeMap::new();
    for provider in STUDIO_PROVIDERS {
        let stored = project
            .spec
            .auth
            .providers
            .iter()
            .find(|p| p.name == provider);
        let key = |field: &str| format!("EXTERNAL_{}_{field}", provider.env_name());
        fields.insert(key("ENABLED"), json!(stored.is_some_and(|p| p.enabled)));
        fields.insert(
            key("CLIENT_ID"),
            json!(stored.map(|p| p.client_ids.join(",")).unwrap_or_default()),
        );
        let has_secret = stored.is_some_and(|p| p.client_secret_ref.is_some());
        fields.insert(
            key("SECRET"),
            json!(if has_secret { SECRET_MASK } else { "" }),
        );
        fields.insert(
            key("EMAIL_OPTIONAL"),
            json!(stored.is_some_and(|p| p.email_optional)),
        );
        if WITH_URL.contains(&provider) {
            fields.insert(
                key("URL"),
                json!(stored.and_then(|p| p.url.clone()).unwrap_or_default()),
            );
        }
        if provider == OAuthProvider::Google {
            fields.insert(
                key("SKIP_NONCE_CHECK"),
                json!(stored.is_some_and(|p| p.skip_nonce_check)),
            );
        }
    }
    fields
}

/// What a settings update does to the providers: the new list, and the
/// client secrets to set (`Some`) or drop (`None`).
#[derive(Debug, Default, PartialEq)]
pub struct ProvidersChange {
    pub providers: Vec<OAuthProviderSpec>,
    pub secrets: BTreeMap<String, Option<String>>,
}

fn text(fields: &Map<String, Value>, key: &str) -> ApiResult<Option<Option<String>>> {
    match fields.get(key) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.trim().to_string()))),
        Some(_) => Err(ApiError::BadRequest(format!("{key} must be text or null"))),
    }
}

fn flag(fields: &Map<String, Value>, key: &str) -> ApiResult<Option<bool>> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::BadRequest(format!("{key} must be true or false"))),
    }
}

fn client_ids(key: &str, list: &str) -> ApiResult<Vec<String>> {
    let ids: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect();
    if ids.len() > CLIENT_IDS_LIMIT
        || ids
            .iter()
            .any(|id| id.len() > 256 || id.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        return Err(ApiError::BadRequest(format!(
            "{key} must be up to {CLIENT_IDS_LIMIT} comma-separated ids of at most 256 characters, without spaces"
        )));
    }
    Ok(ids)
}

/// Reads the `EXTERNAL_<PROVIDER>_*` fields of an update; None when it
/// touches no provider. Everything is checked before anything is written.
pub fn change(
    project: &Project,
    fields: &Map<String, Value>,
) -> ApiResult<Option<ProvidersChange>> {
    let mut providers = project.spec.auth.providers.clone();
    let mut secrets = BTreeMap::new();
    let mut touched = false;
    for provider in OAuthProvider::ALL {
        let key = |field: &str| format!("EXTERNAL_{}_{field}", provider.env_name());
        let given = [
            "ENABLED",
            "CLIENT_ID",
            "ADDITIONAL_CLIENT_IDS",
            "SECRET",
            "URL",
            "EMAIL_OPTIONAL",
            "SKIP_NONCE_CHECK",
        ]
        .iter()
        .any(|field| fields.contains_key(&key(field)));
        if !given {
            continue;
        }
        touched = true;
        let index = match providers.iter().position(|p| p.name == provider) {
            Some(index) => index,
            None => {
                providers.push(OAuthProviderSpec {
                    name: provider,
                    enabled: false,
                    client_ids: Vec::new(),
                    client_secret_ref: None,
                    url: None,
                    email_optional: false,
                    skip_nonce_check: false,
                });
                providers.len() - 1
            }
        };
        let entry = &mut providers[index];
        if let Some(enabled) = flag(fields, &key("ENABLED"))? {
            entry.enabled = enabled;
        }
        if let Some(list) = text(fields, &key("CLIENT_ID"))? {
            entry.client_ids = client_ids(&key("CLIENT_ID"), list.as_deref().unwrap_or(""))?;
        }
        if let Some(Some(more)) = text(fields, &key("ADDITIONAL_CLIENT_IDS"))? {
            for id in client_ids(&key("ADDITIONAL_CLIENT_IDS"), &more)? {
                if !entry.client_ids.contains(&id) {
                    entry.client_ids.push(id);
                }
            }
        }
        match text(fields, &key("SECRET"))? {
            // Studio sends back the mask it was shown: unchanged.
            Some(Some(secret)) if secret == SECRET_MASK => {}
            Some(Some(secret)) => {
                crate::common::validate::single_line(&key("SECRET"), &secret, 4096)?;
                entry.client_secret_ref = Some(SecretKeyRef {
                    name: PROVIDERS_SECRET_NAME.into(),
                    key: provider.name(),
                });
                secrets.insert(provider.name(), Some(secret));
            }
            Some(None) => {
                entry.client_secret_ref = None;
                secrets.insert(provider.name(), None);
            }
            None => {}
        }
        if let Some(url) = text(fields, &key("URL"))? {
            entry.url = match url {
                Some(url) => Some(check_url(&key("URL"), &url)?),
                None => None,
            };
        }
        if let Some(optional) = flag(fields, &key("EMAIL_OPTIONAL"))? {
            entry.email_optional = optional;
        }
        if let Some(skip) = flag(fields, &key("SKIP_NONCE_CHECK"))? {
            entry.skip_nonce_check = skip;
        }
        if entry.enabled {
            let title = provider.env_name();
            if entry.client_ids.is_empty() {
                return Err(ApiError::BadRequest(format!(
                    "EXTERNAL_{title}_CLIENT_ID is required to enable {title}"
                )));
            }
            if entry.client_secret_ref.is_none() && !SECRET_OPTIONAL.contains(&provider) {
                return Err(ApiError::BadRequest(format!(
                    "EXTERNAL_{title}_SECRET is required to enable {title}"
                )));
            }
            if provider == OAuthProvider::Keycloak && entry.url.is_none() {
                return Err(ApiError::BadRequest(
                    "EXTERNAL_KEYCLOAK_URL is required to enable KEYCLOAK: the realm URL, such as https://keycloak.example.com/realms/myrealm".into(),
                ));
            }
        }
    }
    if !touched {
        return Ok(None);
    }
    providers.sort_by_key(|p| p.name);
    Ok(Some(ProvidersChange { providers, secrets }))
}

fn check_url(key: &str, url: &str) -> ApiResult<String> {
    let valid = (url.starts_with("https://") || url.starts_with("http://"))
        && url.len() >= 8
        && url.len() <= URL_LIMIT
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(url.trim_end_matches('/').to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "{key} must be an http(s) URL of at most {URL_LIMIT} characters"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn project() -> Project {
        Project::test("abc")
    }

    fn fields(value: Value) -> Map<String, Value> {
        value.as_object().cloned().expect("object")
    }

    #[test]
    fn studios_github_save_becomes_a_provider_and_a_secret() {
        let project = project();
        let change = change(
            &project,
            &fields(
                json!({"EXTERNAL_GITHUB_ENABLED": true, "EXTERNAL_GITHUB_CLIENT_ID": "Iv1.abc",
                "EXTERNAL_GITHUB_SECRET": "s3cret", "EXTERNAL_GITHUB_EMAIL_OPTIONAL": false}),
            ),
        )
        .expect("valid")
        .expect("touched");
        assert_eq!(change.providers.len(), 1);
        assert_eq!(change.providers[0].client_ids, ["Iv1.abc"]);
        assert_eq!(change.secrets["github"].as_deref(), Some("s3cret"));
        // The spec holds a reference, not the secret.
        assert!(
            !serde_json::to_string(&change.providers)
                .expect("json")
                .contains("s3cret")
        );
    }

    #[test]
    fn the_mask_keeps_the_secret_and_null_clears_it() {
        let mut project = project();
        project.spec.auth.providers = change(
            &project,
            &fields(json!({"EXTERNAL_GITHUB_ENABLED": true, "EXTERNAL_GITHUB_CLIENT_ID": "a", "EXTERNAL_GITHUB_SECRET": "s"})),
        )
        .expect("valid")
        .expect("touched")
        .providers;
        assert_eq!(
            config_fields(&project)["EXTERNAL_GITHUB_SECRET"],
            SECRET_MASK
        );
        let kept = change(
            &project,
            &fields(json!({"EXTERNAL_GITHUB_ENABLED": true, "EXTERNAL_GITHUB_SECRET": SECRET_MASK, "EXTERNAL_GITHUB_EMAIL_OPTIONAL": true})),
        )
        .expect("valid")
        .expect("touched");
        assert!(kept.secrets.is_empty());
        assert!(kept.providers[0].email_optional);
        assert!(kept.providers[0].client_secret_ref.is_some());
        let cleared = change(
            &project,
            &fields(json!({"EXTERNAL_GITHUB_ENABLED": false, "EXTERNAL_GITHUB_CLIENT_ID": null, "EXTERNAL_GITHUB_SECRET": null})),
        )
        .expect("valid")
        .expect("touched");
        assert_eq!(cleared.secrets["github"], None);
        assert!(cleared.providers[0].client_secret_ref.is_none());
    }

    #[test]
    fn enabling_without_what_gotrue_needs_is_refused() {
        let project = project();
        for body in [
            json!({"EXTERNAL_GITHUB_ENABLED": true, "EXTERNAL_GITHUB_SECRET": "s"}),
            json!({"EXTERNAL_GITHUB_ENABLED": true, "EXTERNAL_GITHUB_CLIENT_ID": "a"}),
            json!({"EXTERNAL_KEYCLOAK_ENABLED": true, "EXTERNAL_KEYCLOAK_CLIENT_ID": "a", "EXTERNAL_KEYCLOAK_SECRET": "s"}),
            json!({"EXTERNAL_AZURE_URL": "javascript:alert(1)"}),
            json!({"EXTERNAL_GITHUB_CLIENT_ID": "a b"}),
            json!({"EXTERNAL_GITHUB_ENABLED": "yes"}),
        ] {
            assert!(change(&project, &fields(body.clone())).is_err(), "{body}");
        }
        // Google may sign in with ID tokens alone: no secret needed.
        assert!(change(&project, &fields(json!({"EXTERNAL_GOOGLE_ENABLED": true, "EXTERNAL_GOOGLE_CLIENT_ID": "x.apps.googleusercontent.com"}))).is_ok());
        assert_eq!(
            change(&project, &fields(json!({"SITE_URL": "https://a.example"}))).expect("ok"),
            None
        );
    }
}
