//! Third-party sign-in for a project's GoTrue: the OAuth providers of the
//! pinned GoTrue (`internal/conf/configuration.go`, `ProviderConfiguration`
//! at v2.186.0), each with the settings GoTrue reads for it. Client secrets
//! stay in a Secret beside the project; the spec only points at them.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A provider GoTrue signs in with. The names are GoTrue's (`/authorize?provider=`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OAuthProvider {
    Apple,
    Azure,
    Bitbucket,
    Discord,
    Facebook,
    Figma,
    Fly,
    Github,
    Gitlab,
    Google,
    Kakao,
    Keycloak,
    Linkedin,
    LinkedinOidc,
    Notion,
    Slack,
    SlackOidc,
    Snapchat,
    Spotify,
    Twitch,
    Twitter,
    VercelMarketplace,
    Workos,
    X,
    Zoom,
}

impl OAuthProvider {
    pub const ALL: [OAuthProvider; 25] = [
        OAuthProvider::Apple,
        OAuthProvider::Azure,
        OAuthProvider::Bitbucket,
        OAuthProvider::Discord,
        OAuthProvider::Facebook,
        OAuthProvider::Figma,
        OAuthProvider::Fly,
        OAuthProvider::Github,
        OAuthProvider::Gitlab,
        OAuthProvider::Google,
        OAuthProvider::Kakao,
        OAuthProvider::Keycloak,
        OAuthProvider::Linkedin,
        OAuthProvider::LinkedinOidc,
        OAuthProvider::Notion,
        OAuthProvider::Slack,
        OAuthProvider::SlackOidc,
        OAuthProvider::Snapchat,
        OAuthProvider::Spotify,
        OAuthProvider::Twitch,
        OAuthProvider::Twitter,
        OAuthProvider::VercelMarketplace,
        OAuthProvider::Workos,
        OAuthProvider::X,
        OAuthProvider::Zoom,
    ];

    /// GoTrue's name: `github`, `linkedin_oidc`, …
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The name in GoTrue's env (`GOTRUE_EXTERNAL_<this>_…`) and in
    /// Studio's settings (`EXTERNAL_<this>_…`).
    pub fn env_name(self) -> String {
        self.name().to_uppercase()
    }
}

/// A key of a Secret in the project's namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret in namespace `project-<ref>`.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// The key in it.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// One provider's settings, as GoTrue reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = kube::core::Rule::new("self.name != 'keycloak' || !self.enabled || has(self.url)").message("keycloak needs url: the realm URL, such as https://keycloak.example.com/realms/myrealm"))]
#[serde(rename_all = "camelCase")]
pub struct OAuthProviderSpec {
    pub name: OAuthProvider,
    #[serde(default)]
    pub enabled: bool,
    /// OAuth client ids: sign-in uses the first; ID tokens for any are
    /// accepted (Apple, Google and other OIDC providers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(
        length(max = 20),
        inner(length(min = 1, max = 256), regex(pattern = r"^[^,\s]+$"))
    )]
    pub client_ids: Vec<String>,
    /// The client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_ref: Option<SecretKeyRef>,
    /// The provider's address where it varies: Keycloak's realm URL,
    /// Azure's tenant URL, a self-hosted GitLab, WorkOS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 8, max = 2048), regex(pattern = r"^https?://\S+$"))]
    pub url: Option<String>,
    /// Let users without an email address sign in.
    #[serde(default)]
    pub email_optional: bool,
    /// Accept ID tokens without a nonce (sign-in with an ID token only).
    #[serde(default)]
    pub skip_nonce_check: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_gotrue() {
        assert_eq!(OAuthProvider::LinkedinOidc.name(), "linkedin_oidc");
        assert_eq!(
            OAuthProvider::VercelMarketplace.env_name(),
            "VERCEL_MARKETPLACE"
        );
        assert_eq!(OAuthProvider::Workos.env_name(), "WORKOS");
        assert_eq!(OAuthProvider::X.env_name(), "X");
        // ALL lists each once.
        let mut names: Vec<String> = OAuthProvider::ALL.iter().map(|p| p.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 25);
    }
}
