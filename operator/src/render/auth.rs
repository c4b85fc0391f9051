//! GoTrue: the project's auth server, behind `/auth/v1`.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use supaplane_crds::Project;

use super::database::{DATABASE_NAME, database_host, database_port};
use super::ingress::IngressSettings;
use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, SecretKeySelector};
use supaplane_crds::{OAuthProviderSpec, SmtpSpec};

use super::workload::{
    Addressing, StatelessComponent, deployment, env, env_from_keys, http_probe, service,
};
use crate::images::{PINNED, image_or_pinned};
use crate::keys::secret_keys;

pub const NAME: &str = "auth";
pub const PORT: i32 = 9999;
/// GoTrue's default access-token lifetime, as the self-hosting stack sets it.
/// Where GoTrue sends users when no redirect is given and none is configured.
const DEFAULT_SITE_URL: &str = "http://localhost:3000";
/// The paths in GoTrue's emails, relative to the API URL.
const MAILER_PATH: &str = "/auth/v1/verify";

/// GoTrue's SMTP settings; the password by reference to its Secret.
fn smtp_env(smtp: Option<&SmtpSpec>) -> Vec<EnvVar> {
    let Some(smtp) = smtp else {
        return Vec::new();
    };
    let mut vars = vec![
        env("GOTRUE_SMTP_HOST", smtp.host.clone()),
        env("GOTRUE_SMTP_PORT", smtp.port.to_string()),
        env("GOTRUE_SMTP_ADMIN_EMAIL", smtp.admin_email.clone()),
    ];
    if let Some(user) = &smtp.user {
        vars.push(env("GOTRUE_SMTP_USER", user.clone()));
    }
    if let Some(name) = &smtp.sender_name {
        vars.push(env("GOTRUE_SMTP_SENDER_NAME", name.clone()));
    }
    if let Some(reference) = &smtp.password_secret_ref {
        vars.push(EnvVar {
            name: "GOTRUE_SMTP_PASS".to_string(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: reference.name.clone(),
                    key: reference.key.clone(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    vars
}

/// Where providers send users back: GoTrue's callback on the project's
/// public API URL (what Studio shows as the callback URL to register).
pub fn oauth_callback_url(api_url: &str) -> String {
    format!("{}/auth/v1/callback", api_url.trim_end_matches('/'))
}

/// GoTrue's settings for each third-party provider (the same eight for
/// every one, `OAuthProviderConfiguration`); the client secret by reference.
/// A missing secret does not stop GoTrue: that provider alone then fails
/// with "missing OAuth secret".
fn providers_env(providers: &[OAuthProviderSpec], callback: &str) -> Vec<EnvVar> {
    let mut vars = Vec::new();
    for provider in providers {
        let prefix = format!("GOTRUE_EXTERNAL_{}", provider.name.env_name());
        vars.push(env(
            &format!("{prefix}_ENABLED"),
            provider.enabled.to_string(),
        ));
        // GoTrue splits on commas and trims nothing.
        vars.push(env(
            &format!("{prefix}_CLIENT_ID"),
            provider.client_ids.join(","),
        ));
        vars.push(env(&format!("{prefix}_REDIRECT_URI"), callback));
        vars.push(env(
            &format!("{prefix}_EMAIL_OPTIONAL"),
            provider.email_optional.to_string(),
        ));
        vars.push(env(
            &format!("{prefix}_SKIP_NONCE_CHECK"),
            provider.skip_nonce_check.to_string(),
        ));
        if let Some(url) = &provider.url {
            vars.push(env(&format!("{prefix}_URL"), url.clone()));
        }
        if let Some(reference) = &provider.client_secret_ref {
            vars.push(EnvVar {
                name: format!("{prefix}_SECRET"),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: reference.name.clone(),
                        key: reference.key.clone(),
                        optional: Some(true),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
    }
    vars
}

pub fn render(project: &Project, ingress: &IngressSettings) -> Option<(Deployment, Service)> {
    let settings = &project.spec.components.auth;
    if !settings.enabled {
        return None;
    }
    let auth = &project.spec.auth;
    let project_ref = super::project_ref(project);
    let mut env = vec![
        env("GOTRUE_API_HOST", "0.0.0.0"),
        env("GOTRUE_API_PORT", PORT.to_string()),
        env("API_EXTERNAL_URL", ingress.api_url(project_ref)),
        env("GOTRUE_DB_DRIVER", "postgres"),
        env_from_keys("AUTH_ADMIN_PASSWORD", secret_keys::AUTH_ADMIN_PASSWORD),
        // Kubernetes expands $(AUTH_ADMIN_PASSWORD) from the entry above.
        env(
            "GOTRUE_DB_DATABASE_URL",
            format!(
                "postgres://supabase_auth_admin:$(AUTH_ADMIN_PASSWORD)@{}:{}/{DATABASE_NAME}",
                database_host(project),
                database_port()
            ),
        ),
        env(
            "GOTRUE_SITE_URL",
            auth.site_url.as_deref().unwrap_or(DEFAULT_SITE_URL),
        ),
        env(
            "GOTRUE_URI_ALLOW_LIST",
            auth.additional_redirect_urls.join(","),
        ),
        env("GOTRUE_DISABLE_SIGNUP", auth.disable_signup.to_string()),
        env("GOTRUE_JWT_ADMIN_ROLES", "service_role"),
        env("GOTRUE_JWT_AUD", "authenticated"),
        env("GOTRUE_JWT_DEFAULT_GROUP_NAME", "authenticated"),
        env("GOTRUE_JWT_EXP", auth.jwt_expiry().to_string()),
        env_from_keys("GOTRUE_JWT_SECRET", secret_keys::JWT_SECRET),
        env(
            "GOTRUE_EXTERNAL_EMAIL_ENABLED",
            auth.email_enabled.to_string(),
        ),
        env(
            "GOTRUE_EXTERNAL_ANONYMOUS_USERS_ENABLED",
            auth.anonymous_users_enabled.to_string(),
        ),
        env(
            "GOTRUE_MAILER_AUTOCONFIRM",
            auth.confirms_email_automatically().to_string(),
        ),
        env("GOTRUE_MAILER_URLPATHS_INVITE", MAILER_PATH),
        env("GOTRUE_MAILER_URLPATHS_CONFIRMATION", MAILER_PATH),
        env("GOTRUE_MAILER_URLPATHS_RECOVERY", MAILER_PATH),
        env("GOTRUE_MAILER_URLPATHS_EMAIL_CHANGE", MAILER_PATH),
        env("GOTRUE_EXTERNAL_PHONE_ENABLED", "false"),
        env("GOTRUE_SMS_AUTOCONFIRM", "false"),
    ];
    env.extend(smtp_env(auth.smtp.as_deref()));
    env.extend(providers_env(
        &auth.providers,
        &oauth_callback_url(&ingress.api_url(project_ref)),
    ));
    let component = StatelessComponent {
        name: NAME,
        settings,
        image: image_or_pinned(settings.image.as_ref(), PINNED.auth),
        port: PORT,
        env,
        args: None,
        probe: http_probe("/health", PORT),
        liveness: None,
        waits_for_database: true,
        pod: Default::default(),
    };
    Some((
        deployment(project, component),
        service(project, NAME, PORT, Addressing::Headless),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;

    #[test]
    fn sign_ups_are_confirmed_at_once_when_no_mail_can_be_sent() {
        let autoconfirm = |project: &Project| {
            let (deployment, _) = render(project, &IngressSettings::default()).expect("auth");
            deployment.spec.template.spec.expect("pod").containers[0]
                .env
                .clone()
                .expect("env")
                .into_iter()
                .find(|e| e.name == "GOTRUE_MAILER_AUTOCONFIRM")
                .and_then(|e| e.value)
        };
        let mut project = Project::test("abc");
        assert_eq!(autoconfirm(&project).as_deref(), Some("true"));
        project.spec.auth.smtp = Some(Box::new(supaplane_crds::SmtpSpec {
            host: "smtp.example.com".into(),
            port: 587,
            user: None,
            admin_email: "noreply@example.com".into(),
            sender_name: None,
            password_secret_ref: None,
        }));
        assert_eq!(autoconfirm(&project).as_deref(), Some("false"));
        project.spec.auth.mailer_autoconfirm = true;
        assert_eq!(autoconfirm(&project).as_deref(), Some("true"));
    }

    #[test]
    fn each_provider_gets_gotrues_eight_settings_and_its_secret_by_reference() {
        let mut project = Project::test("abc");
        project.spec.auth.providers = vec![supaplane_crds::OAuthProviderSpec {
            name: supaplane_crds::OAuthProvider::LinkedinOidc,
            enabled: true,
            client_ids: vec!["one".into(), "two".into()],
            client_secret_ref: Some(supaplane_crds::SecretKeyRef {
                name: "auth-providers".into(),
                key: "linkedin_oidc".into(),
            }),
            url: None,
            email_optional: true,
            skip_nonce_check: false,
        }];
        let ingress = IngressSettings::default();
        let (deployment, _) = render(&project, &ingress).expect("auth");
        let env = deployment.spec.template.spec.expect("pod").containers[0]
            .env
            .clone()
            .expect("env");
        let value = |name: &str| {
            env.iter()
                .find(|e| e.name == name)
                .and_then(|e| e.value.clone())
        };
        assert_eq!(
            value("GOTRUE_EXTERNAL_LINKEDIN_OIDC_ENABLED").as_deref(),
            Some("true")
        );
        assert_eq!(
            value("GOTRUE_EXTERNAL_LINKEDIN_OIDC_CLIENT_ID").as_deref(),
            Some("one,two")
        );
        assert_eq!(
            value("GOTRUE_EXTERNAL_LINKEDIN_OIDC_REDIRECT_URI"),
            Some(format!("{}/auth/v1/callback", ingress.api_url("abc")))
        );
        assert_eq!(
            value("GOTRUE_EXTERNAL_LINKEDIN_OIDC_EMAIL_OPTIONAL").as_deref(),
            Some("true")
        );
        assert_eq!(value("GOTRUE_EXTERNAL_LINKEDIN_OIDC_URL"), None);
        let secret = env
            .iter()
            .find(|e| e.name == "GOTRUE_EXTERNAL_LINKEDIN_OIDC_SECRET")
            .and_then(|e| e.value_from.clone())
            .and_then(|source| source.secret_key_ref)
            .expect("the secret by reference");
        assert_eq!(
            (secret.name.as_str(), secret.key.as_str()),
            ("auth-providers", "linkedin_oidc")
        );
    }
}
