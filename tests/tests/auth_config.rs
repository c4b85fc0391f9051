//! Auth settings round trip: Studio's PATCH through the facade changes the
//! Project's spec, and the running operator rolls it into GoTrue's env.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use supaplane_crds::constants::project_namespace;
use supaplane_crds::{OrganizationRole, Project};
use supaplane_operator::project_controller::{self, Context};
use supaplane_tests::facade::{TestFacade, User};
use supaplane_tests::harness::{unique_name, wait_for};

/// Marks the one Project the first test's operator reconciles.
const OPERATED_LABEL: &str = "supaplane.io/test-operated";

fn env_of(deployment: &Deployment, name: &str) -> Option<String> {
    deployment
        .spec
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .env
        .as_ref()?
        .iter()
        .find(|e| e.name == name)
        .and_then(|e| e.value.clone())
}

/// A Project of `organization` with an operator of its own (reconciling
/// only it: the other tests here make Projects whose namespaces they write
/// themselves, which an operator must not race), once the facade sees it
/// and the operator has made its namespace. Answers its name and the
/// operator's task.
async fn operated_project(
    facade: &TestFacade,
    organization: &str,
    display_name: &str,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let name = unique_name("p");
    let operator = tokio::spawn(project_controller::run(Arc::new(Context {
        client: facade.client(),
        metrics: Default::default(),
        settings: Default::default(),
        selector: Some(format!("{OPERATED_LABEL}={name}")),
        children: Default::default(),
    })));
    let project: Project = serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": name, "labels": {OPERATED_LABEL: name}},
        "spec": {"organization": organization, "displayName": display_name},
    }))?;
    Api::<Project>::all(facade.client())
        .create(&PostParams::default(), &project)
        .await?;
    let wanted = name.clone();
    facade
        .wait_until(move |s| {
            s.index
                .projects
                .get(&kube::runtime::reflector::ObjectRef::new(&wanted))
                .is_some()
        })
        .await?;
    wait_for(
        &Api::<k8s_openapi::api::core::v1::Namespace>::all(facade.client()),
        &project_namespace(&name),
        |n: Option<&k8s_openapi::api::core::v1::Namespace>| n.is_some(),
        Duration::from_secs(30),
    )
    .await?;
    Ok((name, operator))
}

#[tokio::test]
async fn a_studio_auth_settings_change_reaches_gotrue() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let reader = User::new("reader");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&reader, OrganizationRole::ReadOnly),
        ])
        .await?;
    // The operator makes the project's namespace, where the SMTP password goes.
    let (name, operator) = operated_project(&facade, &slug, "Auth").await?;
    let path = format!("/platform/auth/{name}/config");

    let (status, config) = facade.get(&reader, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["EXTERNAL_EMAIL_ENABLED"], true);
    assert_eq!(config["JWT_EXP"], 3600);
    // Without an SMTP server no confirmation mail can go out: sign-ups are
    // confirmed at once, and turning that off needs an SMTP server first.
    assert_eq!(config["MAILER_AUTOCONFIRM"], true);
    let (status, answer) = facade
        .send(
            &owner,
            Method::PATCH,
            &path,
            json!({"MAILER_AUTOCONFIRM": false}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .unwrap_or_default()
            .contains("SMTP")
    );

    let (status, _) = facade
        .send(
            &reader,
            Method::PATCH,
            &path,
            json!({"SITE_URL": "https://app.example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, updated) = facade
        .send(
            &owner,
            Method::PATCH,
            &path,
            json!({
                "SITE_URL": "https://app.example.com",
                "URI_ALLOW_LIST": "https://app.example.com/callback,https://staging.example.com/*",
                "DISABLE_SIGNUP": true,
                "JWT_EXP": "7200",
                "MAILER_AUTOCONFIRM": true,
                "SMTP_HOST": "smtp.example.com",
                "SMTP_PORT": "2525",
                "SMTP_USER": "mailer",
                "SMTP_ADMIN_EMAIL": "noreply@example.com",
                "SMTP_PASS": "smtp-secret-value",
                "EXTERNAL_GITHUB_ENABLED": false,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["SITE_URL"], "https://app.example.com");
    assert_eq!(updated["JWT_EXP"], 7200);
    assert_eq!(updated["SMTP_PORT"], "2525");
    assert!(
        updated["SMTP_PASS"].is_null(),
        "the SMTP password is never read back"
    );

    // Kubernetes holds it: the spec, and the password in a Secret only.
    let project = Api::<Project>::all(facade.client()).get(&name).await?;
    let auth = &project.spec.auth;
    assert_eq!(auth.site_url.as_deref(), Some("https://app.example.com"));
    assert_eq!(auth.additional_redirect_urls.len(), 2);
    assert!(auth.disable_signup && auth.mailer_autoconfirm);
    assert_eq!(auth.jwt_expiry_seconds, Some(7200));
    let smtp = auth.smtp.as_ref().expect("smtp");
    assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.example.com", 2525));
    assert!(!serde_json::to_string(&project.spec)?.contains("smtp-secret-value"));
    let reference = smtp
        .password_secret_ref
        .as_ref()
        .expect("password reference");
    let secret = Api::<Secret>::namespaced(facade.client(), &project_namespace(&name))
        .get(&reference.name)
        .await?;
    assert_eq!(
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(&reference.key))
            .map(|v| v.0.clone()),
        Some(b"smtp-secret-value".to_vec())
    );

    // The operator rolls the settings into GoTrue's environment.
    let deployments: Api<Deployment> = Api::namespaced(facade.client(), &project_namespace(&name));
    let gotrue = wait_for(
        &deployments,
        "auth",
        |d: Option<&Deployment>| {
            d.is_some_and(|d| {
                env_of(d, "GOTRUE_SITE_URL").as_deref() == Some("https://app.example.com")
            })
        },
        Duration::from_secs(30),
    )
    .await?;
    assert_eq!(
        env_of(&gotrue, "GOTRUE_DISABLE_SIGNUP").as_deref(),
        Some("true")
    );
    assert_eq!(env_of(&gotrue, "GOTRUE_JWT_EXP").as_deref(), Some("7200"));
    assert_eq!(
        env_of(&gotrue, "GOTRUE_MAILER_AUTOCONFIRM").as_deref(),
        Some("true")
    );
    assert_eq!(
        env_of(&gotrue, "GOTRUE_SMTP_HOST").as_deref(),
        Some("smtp.example.com")
    );
    assert_eq!(env_of(&gotrue, "GOTRUE_SMTP_PORT").as_deref(), Some("2525"));
    assert_eq!(
        env_of(&gotrue, "GOTRUE_URI_ALLOW_LIST").as_deref(),
        Some("https://app.example.com/callback,https://staging.example.com/*")
    );
    let pass = gotrue
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].env.as_ref())
        .and_then(|env| env.iter().find(|e| e.name == "GOTRUE_SMTP_PASS").cloned())
        .expect("GOTRUE_SMTP_PASS");
    assert!(pass.value.is_none(), "the password comes from the Secret");

    // Bad values are refused and change nothing.
    for bad in [
        json!({"SITE_URL": "javascript:alert(1)"}),
        json!({"JWT_EXP": -5}),
        json!({"SMTP_PORT": "many"}),
        json!({"URI_ALLOW_LIST": "not a url"}),
    ] {
        let (status, answer) = facade.send(&owner, Method::PATCH, &path, bad.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} → {answer}");
    }
    let after = Api::<Project>::all(facade.client()).get(&name).await?;
    assert_eq!(after.spec.auth, project.spec.auth);

    // With SMTP, confirmation mail is sent unless autoconfirm is asked for.
    let (status, manual) = facade
        .send(
            &owner,
            Method::PATCH,
            &path,
            json!({"MAILER_AUTOCONFIRM": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{manual}");
    assert_eq!(manual["MAILER_AUTOCONFIRM"], false);
    wait_for(
        &deployments,
        "auth",
        |d: Option<&Deployment>| {
            d.is_some_and(|d| env_of(d, "GOTRUE_MAILER_AUTOCONFIRM").as_deref() == Some("false"))
        },
        Duration::from_secs(30),
    )
    .await?;

    // Emptying the host removes the SMTP settings.
    let (status, cleared) = facade
        .send(&owner, Method::PATCH, &path, json!({"SMTP_HOST": ""}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(cleared["SMTP_HOST"].is_null());
    assert_eq!(
        cleared["MAILER_AUTOCONFIRM"], true,
        "no SMTP, no mail to wait for"
    );
    operator.abort();
    Ok(())
}

#[tokio::test]
async fn a_refused_auth_change_writes_nothing_and_bad_smtp_text_is_refused() -> anyhow::Result<()> {
    use k8s_openapi::api::admissionregistration::v1::{
        ValidatingAdmissionPolicy, ValidatingAdmissionPolicyBinding,
    };
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let slug = facade
        .organization_with(&[(&owner, OrganizationRole::Owner)])
        .await?;
    let name = facade.apply_project(&slug).await?;
    // The project namespace, as the operator would have made it.
    facade.write_keys(&name, &[]).await?;

    // A cluster admission policy that refuses SMTP port 2526 on this
    // project: the facade's own checks pass, the API server says no.
    let client = facade.client();
    let policy: ValidatingAdmissionPolicy = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": ["supaplane.io"], "apiVersions": ["*"],
                "operations": ["UPDATE"], "resources": ["projects"]}]},
            "matchConditions": [{"name": "this-project", "expression": format!("object.metadata.name == '{name}'")}],
            "validations": [{
                "expression": "!has(object.spec.auth.smtp) || object.spec.auth.smtp.port != 2526",
                "message": "port 2526 is not allowed here"}],
        },
    }))?;
    Api::<ValidatingAdmissionPolicy>::all(client.clone())
        .create(&PostParams::default(), &policy)
        .await?;
    let binding: ValidatingAdmissionPolicyBinding = serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": ["Deny"]},
    }))?;
    Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
        .create(&PostParams::default(), &binding)
        .await?;

    let path = format!("/platform/auth/{name}/config");
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &project_namespace(&name));
    let refused_port = json!({
        "SMTP_HOST": "smtp.example.com", "SMTP_PORT": "2526",
        "SMTP_ADMIN_EMAIL": "noreply@example.com", "SMTP_PASS": "never-stored"});
    // Policies take a moment to reach the admission plugin.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (status, answer) = facade
            .send(&owner, Method::PATCH, &path, refused_port.clone())
            .await;
        if status == StatusCode::BAD_REQUEST {
            assert!(
                answer["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("2526"),
                "{answer}"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the policy never applied: {status} {answer}"
        );
        // Accepted before the policy applied: undo, and try again.
        let (status, _) = facade
            .send(&owner, Method::PATCH, &path, json!({"SMTP_HOST": ""}))
            .await;
        assert_eq!(status, StatusCode::OK);
        secrets.delete("auth-smtp", &Default::default()).await.ok();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        secrets.get_opt("auth-smtp").await?.is_none(),
        "a refused change leaves no SMTP password behind"
    );

    for (field, value) in [
        ("SMTP_HOST", "smtp.example.com\u{0}evil"),
        ("SMTP_SENDER_NAME", "Support\r\nBcc: all@example.com"),
        ("SMTP_USER", "mailer\u{7}"),
    ] {
        let mut body = json!({
            "SMTP_HOST": "smtp.example.com", "SMTP_PORT": "587",
            "SMTP_ADMIN_EMAIL": "noreply@example.com", "SMTP_PASS": "never-stored"});
        body[field] = json!(value);
        let (status, answer) = facade.send(&owner, Method::PATCH, &path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{field}: {answer}");
        assert!(
            answer["message"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{answer}"
        );
    }
    assert!(secrets.get_opt("auth-smtp").await?.is_none());
    let project = Api::<Project>::all(client.clone()).get(&name).await?;
    assert!(project.spec.auth.smtp.is_none());
    Api::<ValidatingAdmissionPolicyBinding>::all(client.clone())
        .delete(&name, &Default::default())
        .await?;
    Api::<ValidatingAdmissionPolicy>::all(client)
        .delete(&name, &Default::default())
        .await?;
    Ok(())
}

/// Studio's Auth → Providers: enabling GitHub with the exact body Studio
/// sends, the secret masked when read back and kept when the mask comes
/// back, and GoTrue's environment as the operator renders it.
#[tokio::test]
async fn studio_enables_github_sign_in_and_gotrue_is_configured() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let owner = User::new("owner");
    let developer = User::new("developer");
    let slug = facade
        .organization_with(&[
            (&owner, OrganizationRole::Owner),
            (&developer, OrganizationRole::Developer),
        ])
        .await?;
    let (name, operator) = operated_project(&facade, &slug, "Providers").await?;
    let namespace = project_namespace(&name);
    let path = format!("/platform/auth/{name}/config");

    // The page first: every provider of Studio's, off and empty.
    let (status, config) = facade.get(&owner, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["EXTERNAL_GITHUB_ENABLED"], false);
    assert_eq!(config["EXTERNAL_GITHUB_SECRET"], "");
    assert_eq!(config["EXTERNAL_KEYCLOAK_URL"], "");
    assert_eq!(config["EXTERNAL_LINKEDIN_OIDC_CLIENT_ID"], "");

    // Only those who manage the project change it.
    let studio_save = json!({
        "EXTERNAL_GITHUB_ENABLED": true,
        "EXTERNAL_GITHUB_CLIENT_ID": "Iv1.0123456789abcdef",
        "EXTERNAL_GITHUB_SECRET": "0123456789abcdef0123456789abcdef01234567",
        "EXTERNAL_GITHUB_EMAIL_OPTIONAL": false,
    });
    let (status, _) = facade
        .send(&developer, Method::PATCH, &path, studio_save.clone())
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, saved) = facade.send(&owner, Method::PATCH, &path, studio_save).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["EXTERNAL_GITHUB_ENABLED"], true);
    assert_eq!(saved["EXTERNAL_GITHUB_CLIENT_ID"], "Iv1.0123456789abcdef");
    let mask = saved["EXTERNAL_GITHUB_SECRET"].clone();
    assert!(
        mask.as_str()
            .is_some_and(|m| !m.is_empty() && !m.contains("0123")),
        "{mask}"
    );

    // The spec points at the Secret; the Secret holds the client secret.
    let stored = Api::<Project>::all(facade.client()).get(&name).await?;
    assert!(!serde_json::to_string(&stored.spec)?.contains("0123456789abcdef0123"));
    let github = stored
        .spec
        .auth
        .providers
        .iter()
        .find(|p| p.name == supaplane_crds::OAuthProvider::Github)
        .expect("github");
    let reference = github.client_secret_ref.clone().expect("secret reference");
    let secret = Api::<Secret>::namespaced(facade.client(), &namespace)
        .get(&reference.name)
        .await?;
    let held = |secret: &Secret| {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(&reference.key))
            .map(|v| v.0.clone())
    };
    assert_eq!(
        held(&secret),
        Some(b"0123456789abcdef0123456789abcdef01234567".to_vec())
    );

    // Studio re-saves the whole sheet with the mask it was shown: kept.
    let (status, _) = facade
        .send(
            &owner,
            Method::PATCH,
            &path,
            json!({
            "EXTERNAL_GITHUB_ENABLED": true, "EXTERNAL_GITHUB_CLIENT_ID": "Iv1.0123456789abcdef",
            "EXTERNAL_GITHUB_SECRET": mask, "EXTERNAL_GITHUB_EMAIL_OPTIONAL": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let secret = Api::<Secret>::namespaced(facade.client(), &namespace)
        .get(&reference.name)
        .await?;
    assert_eq!(
        held(&secret),
        Some(b"0123456789abcdef0123456789abcdef01234567".to_vec())
    );

    // Enabling without what GoTrue needs is refused, and writes nothing.
    let before = Api::<Project>::all(facade.client()).get(&name).await?;
    let (status, refused) = facade
        .send(
            &owner,
            Method::PATCH,
            &path,
            json!({
            "EXTERNAL_KEYCLOAK_ENABLED": true, "EXTERNAL_KEYCLOAK_CLIENT_ID": "supabase",
            "EXTERNAL_KEYCLOAK_SECRET": "kc-secret", "EXTERNAL_KEYCLOAK_URL": null}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("EXTERNAL_KEYCLOAK_URL")
    );
    let after = Api::<Project>::all(facade.client()).get(&name).await?;
    assert_eq!(after.spec.auth, before.spec.auth);
    let secret = Api::<Secret>::namespaced(facade.client(), &namespace)
        .get(&reference.name)
        .await?;
    assert!(
        secret
            .data
            .as_ref()
            .is_some_and(|d| !d.contains_key("keycloak"))
    );

    // GoTrue's environment, as the operator renders it.
    let deployments: Api<Deployment> = Api::namespaced(facade.client(), &namespace);
    let gotrue = wait_for(
        &deployments,
        "auth",
        |d: Option<&Deployment>| {
            d.is_some_and(|d| {
                env_of(d, "GOTRUE_EXTERNAL_GITHUB_EMAIL_OPTIONAL").as_deref() == Some("true")
            })
        },
        Duration::from_secs(30),
    )
    .await?;
    assert_eq!(
        env_of(&gotrue, "GOTRUE_EXTERNAL_GITHUB_ENABLED").as_deref(),
        Some("true")
    );
    assert_eq!(
        env_of(&gotrue, "GOTRUE_EXTERNAL_GITHUB_CLIENT_ID").as_deref(),
        Some("Iv1.0123456789abcdef")
    );
    let callback = env_of(&gotrue, "GOTRUE_EXTERNAL_GITHUB_REDIRECT_URI").expect("redirect URI");
    assert!(callback.ends_with("/auth/v1/callback"), "{callback}");
    assert_eq!(
        Some(callback.trim_end_matches("/auth/v1/callback").to_string()),
        env_of(&gotrue, "API_EXTERNAL_URL")
    );
    let secret_env = gotrue
        .spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.containers[0].env.as_ref())
        .and_then(|env| {
            env.iter()
                .find(|e| e.name == "GOTRUE_EXTERNAL_GITHUB_SECRET")
                .cloned()
        })
        .expect("GOTRUE_EXTERNAL_GITHUB_SECRET");
    assert!(
        secret_env.value.is_none(),
        "the secret comes from the Secret"
    );
    let selector = secret_env
        .value_from
        .and_then(|v| v.secret_key_ref)
        .expect("by reference");
    assert_eq!(
        (selector.name, selector.key),
        (reference.name.clone(), reference.key.clone())
    );

    // Turning it off and clearing it, as Studio does: the secret goes.
    let (status, off) = facade
        .send(
            &owner,
            Method::PATCH,
            &path,
            json!({
            "EXTERNAL_GITHUB_ENABLED": false, "EXTERNAL_GITHUB_CLIENT_ID": null,
            "EXTERNAL_GITHUB_SECRET": null, "EXTERNAL_GITHUB_EMAIL_OPTIONAL": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["EXTERNAL_GITHUB_SECRET"], "");
    let secret = Api::<Secret>::namespaced(facade.client(), &namespace)
        .get(&reference.name)
        .await?;
    assert_eq!(held(&secret), None);
    operator.abort();
    Ok(())
}
