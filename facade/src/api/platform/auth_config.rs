//! A project's auth (GoTrue) settings, as Studio's authentication pages
//! read and change them. They live in the Project's `spec.auth` (the SMTP
//! password in a Secret beside the project), and the operator rolls them
//! into GoTrue's environment: Kubernetes stays the only store.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, ResourceExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use supaplane_crds::Project;
use supaplane_crds::constants::{FIELD_MANAGER_FACADE, project_namespace};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::auth_providers::{self, PROVIDERS_SECRET_NAME};
use crate::authorization::access;
use crate::authorization::permissions::Action;
use crate::common::error::{ApiError, ApiResult, ErrorBody, JsonBody};
use crate::identity::caller::Caller;
use crate::index::cache::includes_write;
use crate::state::AppState;

/// The Secret, in the project namespace, holding the SMTP password.
pub const SMTP_SECRET_NAME: &str = "auth-smtp";
const SMTP_SECRET_KEY: &str = "password";
const URL_LIMIT: usize = 2048;
const REDIRECT_URL_LIMIT: usize = 100;

/// The part of `GoTrueConfigResponse` a project's settings back. The SMTP
/// password is never read back.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct GoTrueConfig {
    SITE_URL: String,
    URI_ALLOW_LIST: String,
    DISABLE_SIGNUP: bool,
    JWT_EXP: i32,
    EXTERNAL_EMAIL_ENABLED: bool,
    MAILER_AUTOCONFIRM: bool,
    EXTERNAL_ANONYMOUS_USERS_ENABLED: bool,
    EXTERNAL_PHONE_ENABLED: bool,
    SMTP_HOST: Option<String>,
    SMTP_PORT: Option<String>,
    SMTP_USER: Option<String>,
    SMTP_ADMIN_EMAIL: Option<String>,
    SMTP_SENDER_NAME: Option<String>,
    SMTP_PASS: Option<String>,
    /// `EXTERNAL_<PROVIDER>_{ENABLED,CLIENT_ID,SECRET,EMAIL_OPTIONAL,URL,…}`
    /// of Studio's sign-in providers; a stored secret reads as a mask.
    #[serde(flatten)]
    providers: BTreeMap<String, Value>,
}

fn config_of(project: &Project) -> GoTrueConfig {
    let auth = &project.spec.auth;
    let smtp = auth.smtp.as_ref();
    GoTrueConfig {
        SITE_URL: auth.site_url.clone().unwrap_or_default(),
        URI_ALLOW_LIST: auth.additional_redirect_urls.join(","),
        DISABLE_SIGNUP: auth.disable_signup,
        JWT_EXP: auth.jwt_expiry(),
        EXTERNAL_EMAIL_ENABLED: auth.email_enabled,
        MAILER_AUTOCONFIRM: auth.confirms_email_automatically(),
        EXTERNAL_ANONYMOUS_USERS_ENABLED: auth.anonymous_users_enabled,
        EXTERNAL_PHONE_ENABLED: false,
        SMTP_HOST: smtp.map(|s| s.host.clone()),
        SMTP_PORT: smtp.map(|s| s.port.to_string()),
        SMTP_USER: smtp.and_then(|s| s.user.clone()),
        SMTP_ADMIN_EMAIL: smtp.map(|s| s.admin_email.clone()),
        SMTP_SENDER_NAME: smtp.and_then(|s| s.sender_name.clone()),
        SMTP_PASS: None,
        providers: auth_providers::config_fields(project),
    }
}

#[utoipa::path(get, path = "/platform/auth/{ref}/config", tag = "auth",
    responses((status = 200, body = GoTrueConfig), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
async fn get_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
) -> ApiResult<Json<GoTrueConfig>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    Ok(Json(config_of(&access.project)))
}

/// A number Studio may send as a number or as text.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum NumberOrText {
    Number(i64),
    Text(String),
}

impl NumberOrText {
    fn parse(&self, field: &str) -> ApiResult<i64> {
        match self {
            NumberOrText::Number(n) => Ok(*n),
            NumberOrText::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| ApiError::BadRequest(format!("{field} must be a number"))),
        }
    }
}

/// `UpdateGoTrueConfigBody`: the settings we back; Studio's other fields
/// are accepted and ignored.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[allow(non_snake_case)]
pub struct UpdateGoTrueConfig {
    SITE_URL: Option<String>,
    URI_ALLOW_LIST: Option<String>,
    DISABLE_SIGNUP: Option<bool>,
    JWT_EXP: Option<NumberOrText>,
    EXTERNAL_EMAIL_ENABLED: Option<bool>,
    MAILER_AUTOCONFIRM: Option<bool>,
    EXTERNAL_ANONYMOUS_USERS_ENABLED: Option<bool>,
    SMTP_HOST: Option<String>,
    SMTP_PORT: Option<NumberOrText>,
    SMTP_USER: Option<String>,
    SMTP_ADMIN_EMAIL: Option<String>,
    SMTP_SENDER_NAME: Option<String>,
    SMTP_PASS: Option<String>,
    /// Everything else: the sign-in providers' `EXTERNAL_<PROVIDER>_*`
    /// fields are read from here; the rest is ignored.
    #[serde(flatten)]
    others: serde_json::Map<String, Value>,
}

fn check_url(field: &str, url: &str) -> ApiResult<String> {
    let url = url.trim();
    let valid = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && url.len() <= URL_LIMIT
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(url.to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "{field} must be an http(s) URL of at most {URL_LIMIT} characters, without spaces"
        )))
    }
}

/// The merge patch of `spec.auth` an update asks for, checked field by
/// field; fields not given are left out.
fn auth_patch(
    project: &Project,
    body: &UpdateGoTrueConfig,
) -> ApiResult<serde_json::Map<String, Value>> {
    let mut patch = serde_json::Map::new();
    if let Some(site) = &body.SITE_URL {
        let value = if site.trim().is_empty() {
            Value::Null
        } else {
            json!(check_url("SITE_URL", site)?)
        };
        patch.insert("siteUrl".into(), value);
    }
    if let Some(list) = &body.URI_ALLOW_LIST {
        let urls: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(|u| {
                // Redirect URLs may hold wildcards; they must still be URLs.
                check_url("URI_ALLOW_LIST", u)
            })
            .collect::<ApiResult<_>>()?;
        if urls.len() > REDIRECT_URL_LIMIT {
            return Err(ApiError::BadRequest(format!(
                "URI_ALLOW_LIST may hold at most {REDIRECT_URL_LIMIT} URLs"
            )));
        }
        patch.insert("additionalRedirectUrls".into(), json!(urls));
    }
    if let Some(disable) = body.DISABLE_SIGNUP {
        patch.insert("disableSignup".into(), json!(disable));
    }
    if let Some(expiry) = &body.JWT_EXP {
        let seconds = expiry.parse("JWT_EXP")?;
        if !(30..=604_800).contains(&seconds) {
            return Err(ApiError::BadRequest(
                "JWT_EXP must be between 30 and 604800 seconds".into(),
            ));
        }
        patch.insert("jwtExpirySeconds".into(), json!(seconds));
    }
    for (value, key) in [
        (body.EXTERNAL_EMAIL_ENABLED, "emailEnabled"),
        (body.MAILER_AUTOCONFIRM, "mailerAutoconfirm"),
        (
            body.EXTERNAL_ANONYMOUS_USERS_ENABLED,
            "anonymousUsersEnabled",
        ),
    ] {
        if let Some(value) = value {
            patch.insert(key.into(), json!(value));
        }
    }
    let smtp = smtp_patch(project, body)?;
    let smtp_after = match &smtp {
        Some(value) => !value.is_null(),
        None => project.spec.auth.smtp.is_some(),
    };
    if body.MAILER_AUTOCONFIRM == Some(false) && !smtp_after {
        return Err(ApiError::BadRequest(
            "MAILER_AUTOCONFIRM can be turned off only with an SMTP server (SMTP_HOST): \
             without one no confirmation mail could be sent"
                .into(),
        ));
    }
    if let Some(smtp) = smtp {
        patch.insert("smtp".into(), smtp);
    }
    Ok(patch)
}

/// The SMTP part: set when a host is given, removed when the host is
/// emptied; other SMTP fields change the current settings.
fn smtp_patch(project: &Project, body: &UpdateGoTrueConfig) -> ApiResult<Option<Value>> {
    let current = project.spec.auth.smtp.as_ref();
    let touched = body.SMTP_HOST.is_some()
        || body.SMTP_PORT.is_some()
        || body.SMTP_USER.is_some()
        || body.SMTP_ADMIN_EMAIL.is_some()
        || body.SMTP_SENDER_NAME.is_some()
        || body.SMTP_PASS.as_deref().is_some_and(|p| !p.is_empty());
    if !touched {
        return Ok(None);
    }
    let host = body
        .SMTP_HOST
        .clone()
        .or_else(|| current.map(|s| s.host.clone()))
        .unwrap_or_default();
    let host = host.trim().to_string();
    if host.is_empty() {
        return Ok(Some(Value::Null));
    }
    let is_host_name = host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !is_host_name {
        return Err(ApiError::BadRequest(
            "SMTP_HOST must be a host name or IP address (letters, digits, . - : [ ])".into(),
        ));
    }
    let port = match &body.SMTP_PORT {
        Some(port) => port.parse("SMTP_PORT")?,
        None => current.map(|s| i64::from(s.port)).unwrap_or(587),
    };
    if !(1..=65_535).contains(&port) {
        return Err(ApiError::BadRequest("SMTP_PORT must be 1 to 65535".into()));
    }
    let admin_email = body
        .SMTP_ADMIN_EMAIL
        .clone()
        .or_else(|| current.map(|s| s.admin_email.clone()))
        .ok_or_else(|| {
            ApiError::BadRequest("SMTP_ADMIN_EMAIL is required with SMTP_HOST".into())
        })?;
    let admin_email = crate::common::validate::email(&admin_email)
        .map_err(|_| ApiError::BadRequest("SMTP_ADMIN_EMAIL must be an email address".into()))?;
    let text = |field: &str, given: &Option<String>, kept: Option<&String>| {
        let value = given
            .clone()
            .or_else(|| kept.cloned())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty());
        match value {
            Some(value) => crate::common::validate::single_line(field, &value, 128).map(Some),
            None => Ok(None),
        }
    };
    if let Some(password) = body.SMTP_PASS.as_deref() {
        crate::common::validate::single_line("SMTP_PASS", password, 512)?;
    }
    let password_secret_ref = if body.SMTP_PASS.as_deref().is_some_and(|p| !p.is_empty()) {
        Some(json!({"name": SMTP_SECRET_NAME, "key": SMTP_SECRET_KEY}))
    } else {
        current
            .and_then(|s| s.password_secret_ref.as_ref())
            .map(|r| json!({"name": r.name, "key": r.key}))
    };
    Ok(Some(json!({
        "host": host,
        "port": port,
        "user": text("SMTP_USER", &body.SMTP_USER, current.and_then(|s| s.user.as_ref()))?,
        "adminEmail": admin_email,
        "senderName": text(
            "SMTP_SENDER_NAME",
            &body.SMTP_SENDER_NAME,
            current.and_then(|s| s.sender_name.as_ref())
        )?,
        "passwordSecretRef": password_secret_ref,
    })))
}

/// Server-side applies Secret `name` beside the project with exactly
/// `data` (keys the facade wrote before and not in `data` go).
async fn apply_secret(
    secrets: &Api<Secret>,
    name: &str,
    data: BTreeMap<String, ByteString>,
) -> Result<(), kube::Error> {
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    secrets
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER_FACADE).force(),
            &Patch::Apply(&secret),
        )
        .await
        .map(|_| ())
}

/// Changes keys of Secret `name` beside the project (`None` removes one);
/// answers what the Secret held before, to put back should the Project
/// write fail.
async fn store_secret_keys(
    state: &AppState,
    project_ref: &str,
    name: &str,
    changes: &BTreeMap<String, Option<String>>,
) -> ApiResult<Option<Secret>> {
    let namespace = project_namespace(project_ref);
    let secrets: Api<Secret> = Api::namespaced(state.client.clone(), &namespace);
    let previous = secrets
        .get_opt(name)
        .await
        .map_err(|e| ApiError::kube("reading the auth secrets", e))?;
    let mut data = previous
        .as_ref()
        .and_then(|p| p.data.clone())
        .unwrap_or_default();
    for (key, value) in changes {
        match value {
            Some(value) => {
                data.insert(key.clone(), ByteString(value.as_bytes().to_vec()));
            }
            None => {
                data.remove(key);
            }
        }
    }
    apply_secret(&secrets, name, data)
        .await
        .map_err(|e| match e {
            kube::Error::Api(status) if status.code == 404 => ApiError::Unavailable(format!(
                "Project {project_ref} is still being set up; try again in a moment"
            )),
            other => ApiError::kube("storing the auth secrets", other),
        })?;
    Ok(previous)
}

/// Puts Secret `name` back as it was before a write whose Project change
/// was then refused: as it was, or gone when there was none (a refused
/// change leaves nothing behind).
async fn restore_secret(state: &AppState, project_ref: &str, name: &str, previous: Option<Secret>) {
    let secrets: Api<Secret> =
        Api::namespaced(state.client.clone(), &project_namespace(project_ref));
    let restored = match previous {
        Some(previous) => apply_secret(&secrets, name, previous.data.unwrap_or_default()).await,
        None => supaplane_crds::gone::delete_if_present(&secrets, name, &Default::default())
            .await
            .map(|_| ()),
    };
    if let Err(error) = restored {
        tracing::error!(project = %project_ref, secret = name, %error, "could not put an auth Secret back after a refused change");
    }
}

#[utoipa::path(patch, path = "/platform/auth/{ref}/config", tag = "auth",
    request_body = UpdateGoTrueConfig,
    responses((status = 200, body = GoTrueConfig), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
async fn update_config(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    JsonBody(body): JsonBody<UpdateGoTrueConfig>,
) -> ApiResult<Json<GoTrueConfig>> {
    let access = access::project(&state.index, &caller, &project_ref)?;
    access.require(Action::ManageProject)?;
    // Everything is checked before anything is written.
    let mut patch = auth_patch(&access.project, &body)?;
    let providers = auth_providers::change(&access.project, &body.others)?;
    if let Some(providers) = &providers {
        patch.insert("providers".into(), json!(providers.providers));
    }
    if patch.is_empty() {
        return Ok(Json(config_of(&access.project)));
    }
    let projects: Api<Project> = Api::all(state.client.clone());
    let change = Patch::Merge(json!({"spec": {"auth": Value::Object(patch)}}));
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER_FACADE.to_string()),
        ..Default::default()
    };
    // The API server judges the change first (its schema and rules), so a
    // refused change writes nothing, the Secrets included.
    projects
        .patch(
            &project_ref,
            &PatchParams {
                dry_run: true,
                ..params.clone()
            },
            &change,
        )
        .await
        .map_err(|e| ApiError::kube("updating the auth settings", e))?;
    let mut written_secrets: Vec<(&str, Option<Secret>)> = Vec::new();
    if let Some(password) = body.SMTP_PASS.as_deref().filter(|p| !p.is_empty()) {
        let keys = BTreeMap::from([(SMTP_SECRET_KEY.to_string(), Some(password.to_string()))]);
        let previous = store_secret_keys(&state, &project_ref, SMTP_SECRET_NAME, &keys).await?;
        written_secrets.push((SMTP_SECRET_NAME, previous));
    }
    if let Some(providers) = providers.filter(|p| !p.secrets.is_empty()) {
        match store_secret_keys(
            &state,
            &project_ref,
            PROVIDERS_SECRET_NAME,
            &providers.secrets,
        )
        .await
        {
            Ok(previous) => written_secrets.push((PROVIDERS_SECRET_NAME, previous)),
            Err(error) => {
                for (name, previous) in written_secrets {
                    restore_secret(&state, &project_ref, name, previous).await;
                }
                return Err(error);
            }
        }
    }
    let written = match projects.patch(&project_ref, &params, &change).await {
        Ok(written) => written,
        Err(error) => {
            for (name, previous) in written_secrets {
                restore_secret(&state, &project_ref, name, previous).await;
            }
            return Err(ApiError::kube("updating the auth settings", error));
        }
    };
    state
        .index
        .projects
        .wait_for(ObjectRef::from_obj(&written), |cached| {
            includes_write(cached, &written)
        })
        .await;
    tracing::info!(project = %written.name_any(), "auth settings changed");
    Ok(Json(config_of(&written)))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_config, update_config))
}
