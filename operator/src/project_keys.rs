//! A project's keys Secret: generated once, read back on every reconcile,
//! and taken back by a new Project of the same ref after a Retain.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use supaplane_crds::Project;
use supaplane_crds::constants::{
    FIELD_MANAGER_OPERATOR, KEYS_SECRET_NAME, LABEL_RETAINED, project_namespace,
};
use tracing::info;

use crate::error::{Error, Result};
use crate::events;
use crate::keys::ProjectKeys;
use crate::render;

/// Why a project's keys cannot be had yet, in words for its status.
pub type Unavailable = String;

/// Reads the project's keys, generating them only when the Secret does not
/// exist yet. A create (never an apply) guarantees two racing reconciles
/// cannot both write keys.
pub async fn ensure_keys(
    project: &Project,
    client: &Client,
) -> Result<std::result::Result<ProjectKeys, Unavailable>> {
    let namespace_name = project_namespace(&project.name_any());
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace_name);
    if let Some(existing) = read_secret(&secrets, KEYS_SECRET_NAME).await? {
        adopt_retained(&secrets, &existing, project).await?;
        let existing = add_late_entries(&secrets, existing).await?;
        return keys_from(&existing).map(Ok);
    }
    let password = match database_password(project, &secrets).await? {
        Ok(password) => password,
        Err(why) => return Ok(Err(why)),
    };
    let issued_at = chrono::Utc::now().timestamp();
    let keys = ProjectKeys::generate(&mut rand::rng(), issued_at, password)?;
    let secret = render::keys_secret::keys_secret(project, &keys);
    let params = PostParams {
        field_manager: Some(FIELD_MANAGER_OPERATOR.into()),
        ..Default::default()
    };
    match secrets.create(&params, &secret).await {
        Ok(_) => {
            info!("generated the project's keys");
            events::publish(
                client,
                project,
                "KeysGenerated",
                "Create",
                "generated the project's JWT secret, API keys and service passwords".into(),
            )
            .await;
            Ok(Ok(keys))
        }
        Err(kube::Error::Api(status)) if status.code == 409 => {
            let existing = read_secret(&secrets, KEYS_SECRET_NAME)
                .await?
                .ok_or(Error::MissingField("keys Secret"))?;
            keys_from(&existing).map(Ok)
        }
        Err(source) => Err(Error::applying("Secret", KEYS_SECRET_NAME)(source)),
    }
}

/// Adds the entries a Secret written by an older operator lacks (only those
/// no database role depends on), keeping every existing entry as it is.
/// The patch is conditional on the resourceVersion read, so two reconciles
/// cannot both add them.
async fn add_late_entries(secrets: &Api<Secret>, existing: Secret) -> Result<Secret> {
    let missing = ProjectKeys::missing_late_entries(&mut rand::rng(), &secret_data(&existing));
    if missing.is_empty() {
        return Ok(existing);
    }
    let added: std::collections::BTreeMap<String, k8s_openapi::ByteString> = missing
        .into_iter()
        .map(|(key, value)| (key, k8s_openapi::ByteString(value)))
        .collect();
    let patch = json!({
        "metadata": {"resourceVersion": existing.metadata.resource_version},
        "data": added,
    });
    let updated = merge_into_keys_secret(secrets, &patch).await?;
    info!("added the keys this operator version needs to the project's keys Secret");
    Ok(updated)
}

/// A merge patch of the keys Secret, as the operator.
async fn merge_into_keys_secret(
    secrets: &Api<Secret>,
    patch: &serde_json::Value,
) -> Result<Secret> {
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER_OPERATOR.to_string()),
        ..Default::default()
    };
    secrets
        .patch(KEYS_SECRET_NAME, &params, &Patch::Merge(patch))
        .await
        .map_err(Error::applying("Secret", KEYS_SECRET_NAME))
}

/// A Secret's entries as bytes.
fn secret_data(secret: &Secret) -> std::collections::BTreeMap<String, Vec<u8>> {
    secret
        .data
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect()
}

fn keys_from(secret: &Secret) -> Result<ProjectKeys> {
    Ok(ProjectKeys::from_secret_data(&secret_data(secret))?)
}

async fn read_secret(secrets: &Api<Secret>, name: &str) -> Result<Option<Secret>> {
    secrets
        .get_opt(name)
        .await
        .map_err(Error::reading("Secret", name.to_string()))
}

/// The password from the Secret the Project references; none (to be
/// generated) when it references none. A reference to a Secret or key that
/// does not exist is waited for, with a message saying what to create.
async fn database_password(
    project: &Project,
    secrets: &Api<Secret>,
) -> Result<std::result::Result<Option<String>, Unavailable>> {
    let Some(reference) = &project.spec.database.password_secret_ref else {
        return Ok(Ok(None));
    };
    let namespace = project_namespace(&project.name_any());
    let Some(secret) = read_secret(secrets, &reference.name).await? else {
        return Ok(Err(format!(
            "waiting for Secret {namespace}/{} named by spec.database.passwordSecretRef",
            reference.name
        )));
    };
    let value = secret
        .data
        .unwrap_or_default()
        .get(&reference.key)
        .and_then(|value| String::from_utf8(value.0.clone()).ok())
        .filter(|password| !password.is_empty());
    Ok(match value {
        Some(password) => Ok(Some(password)),
        None => Err(format!(
            "Secret {namespace}/{} has no non-empty text entry {:?} (spec.database.passwordSecretRef.key)",
            reference.name, reference.key
        )),
    })
}

/// A keys Secret kept from a deleted Project (Retain) is taken back by the
/// new Project of the same ref.
async fn adopt_retained(secrets: &Api<Secret>, existing: &Secret, project: &Project) -> Result<()> {
    let owned = existing
        .owner_references()
        .iter()
        .any(|r| Some(&r.uid) == project.metadata.uid.as_ref());
    if owned {
        return Ok(());
    }
    let patch = json!({
        "metadata": {
            "ownerReferences": render::owner_reference(project).map(|r| vec![r]),
            "labels": {LABEL_RETAINED: null},
        }
    });
    merge_into_keys_secret(secrets, &patch).await?;
    Ok(())
}
