//! CustomResourceDefinitions: what the apiextensions server checks on write,
//! and the establishing controller that starts serving a CRD's resources.

use std::sync::Arc;

use serde_json::{Value, json};

use super::metadata::{name_of, now};
use super::objects::ServerState;
use super::registry::ResourceType;
use super::schema::{CrdSchema, FieldError, FieldErrorKind};
use super::store::Write;

fn error(field: &str, kind: FieldErrorKind, bad_value: Option<Value>, detail: &str) -> FieldError {
    FieldError {
        field: field.into(),
        kind,
        bad_value,
        detail: detail.into(),
    }
}

/// A CRD's API group and plural resource name.
pub fn group_and_plural(crd: &Value) -> (&str, &str) {
    let text = |pointer: &str| crd.pointer(pointer).and_then(Value::as_str).unwrap_or("");
    (text("/spec/group"), text("/spec/names/plural"))
}

/// The checks of apiextensions' CRD validation that a generated CRD can fail.
pub fn validate(crd: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let (group, plural) = group_and_plural(crd);
    if group.is_empty() {
        errors.push(error("spec.group", FieldErrorKind::Required, None, ""));
    }
    if plural.is_empty() {
        errors.push(error(
            "spec.names.plural",
            FieldErrorKind::Required,
            None,
            "",
        ));
    }
    if crd
        .pointer("/spec/names/kind")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        errors.push(error("spec.names.kind", FieldErrorKind::Required, None, ""));
    }
    let expected = format!("{plural}.{group}");
    if name_of(crd) != expected {
        errors.push(error(
            "metadata.name",
            FieldErrorKind::Invalid,
            Some(json!(name_of(crd))),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    match crd.pointer("/spec/scope").and_then(Value::as_str) {
        Some("Namespaced") | Some("Cluster") => {}
        other => errors.push(error(
            "spec.scope",
            FieldErrorKind::NotSupported,
            other.map(|s| json!(s)),
            "supported values: \"Cluster\", \"Namespaced\"",
        )),
    }
    let versions = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if versions.is_empty() {
        errors.push(error(
            "spec.versions",
            FieldErrorKind::Invalid,
            None,
            "must have exactly one version marked as storage version",
        ));
    }
    let storage_versions = versions
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .count();
    if !versions.is_empty() && storage_versions != 1 {
        errors.push(error(
            "spec.versions",
            FieldErrorKind::Invalid,
            None,
            "must have exactly one version marked as storage version",
        ));
    }
    for (index, version) in versions.iter().enumerate() {
        match version.pointer("/schema/openAPIV3Schema") {
            None => errors.push(error(
                &format!("spec.versions[{index}].schema.openAPIV3Schema"),
                FieldErrorKind::Required,
                None,
                "schemas are required",
            )),
            Some(schema) => {
                if let Err(why) = CrdSchema::new(schema) {
                    errors.push(error(
                        &format!("spec.versions[{index}].schema.openAPIV3Schema"),
                        FieldErrorKind::Invalid,
                        None,
                        &why,
                    ));
                }
            }
        }
    }
    errors
}

/// Registers the CRD's served versions and marks it Established, as the
/// apiextensions controllers do right after a CRD is written.
pub fn establish(state: &ServerState, crd: &Value) {
    let spec = crd.get("spec").cloned().unwrap_or(Value::Null);
    let text = |pointer: &str| {
        spec.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let group = text("/group");
    let plural = text("/names/plural");
    let kind = text("/names/kind");
    let singular = match text("/names/singular") {
        s if s.is_empty() => kind.to_lowercase(),
        s => s,
    };
    let short_names: Vec<String> = spec
        .pointer("/names/shortNames")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let namespaced = text("/scope") == "Namespaced";
    let mut stored_versions = Vec::new();
    state.registry.remove_group_resource(&group, &plural);
    for version in spec
        .get("versions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let name = version
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if version.get("storage").and_then(Value::as_bool) == Some(true) {
            stored_versions.push(name.clone());
        }
        if version.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let Some(schema) = version
            .pointer("/schema/openAPIV3Schema")
            .and_then(|s| CrdSchema::new(s).ok())
        else {
            continue;
        };
        state.registry.insert(ResourceType {
            group: group.clone(),
            version: name,
            kind: kind.clone(),
            plural: plural.clone(),
            singular: singular.clone(),
            short_names: short_names.clone(),
            namespaced,
            status_subresource: version.pointer("/subresources/status").is_some(),
            tracks_generation: true,
            allow_unconditional_update: false,
            codec: None,
            schema: Some(Arc::new(schema)),
        });
    }
    let crd_name = name_of(crd).to_string();
    let accepted_names = spec.get("names").cloned().unwrap_or(json!({}));
    let _ = state.store.write("apiextensions.k8s.io/customresourcedefinitions", "", &crd_name, |current| {
        let Some(current) = current else { return Ok((Write::Unchanged, ())) };
        let mut updated = current.clone();
        let time = now();
        let condition = |kind: &str, reason: &str, message: &str| {
            json!({"type": kind, "status": "True", "lastTransitionTime": time, "reason": reason, "message": message})
        };
        let desired_status = json!({
            "conditions": [
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ],
            "acceptedNames": accepted_names,
            "storedVersions": stored_versions,
        });
        let unchanged = current.get("status").is_some_and(|status| {
            status.get("acceptedNames") == desired_status.get("acceptedNames")
                && status.get("storedVersions") == desired_status.get("storedVersions")
                && status.get("conditions").and_then(Value::as_array).map(Vec::len) == Some(2)
        });
        if unchanged {
            return Ok((Write::Unchanged, ()));
        }
        updated["status"] = desired_status;
        Ok((Write::Put(updated), ()))
    });
}
