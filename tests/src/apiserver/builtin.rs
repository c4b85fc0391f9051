//! What the real API server does to built-in kinds on write beyond the
//! generic rules: defaulting, stringData folding, cluster IPs, and the few
//! validations our binaries could trip over.

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use serde_json::{Value, json};

use super::registry::ResourceType;
use super::schema::{FieldError, FieldErrorKind};

static NEXT_CLUSTER_IP: AtomicU32 = AtomicU32::new(10);

fn allocate_cluster_ip() -> String {
    let n = NEXT_CLUSTER_IP.fetch_add(1, Ordering::Relaxed);
    format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 1)
}

fn default_if_absent(object: &mut Value, pointer: &str, value: Value) {
    if object.pointer(pointer).is_none_or(Value::is_null) {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(Value::Object(map)) = object.pointer_mut(parent) {
            map.insert(key.to_string(), value);
        }
    }
}

/// Defaulting on create (and on update where the defaulted field was cleared).
pub fn apply_defaults(resource: &ResourceType, object: &mut Value, creating: bool) {
    match (resource.group.as_str(), resource.plural.as_str()) {
        ("", "namespaces") => {
            let name = object
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or(Value::Null);
            if !object
                .pointer("/metadata/labels")
                .is_some_and(Value::is_object)
            {
                object["metadata"]["labels"] = json!({});
            }
            object["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
            if creating {
                object["spec"] = json!({"finalizers": ["kubernetes"]});
                object["status"] = json!({"phase": "Active"});
            }
        }
        ("", "secrets") => {
            fold_string_data(object);
            default_if_absent(object, "/type", json!("Opaque"));
        }
        ("", "services") => {
            if !object.get("spec").is_some_and(Value::is_object) {
                object["spec"] = json!({});
            }
            default_if_absent(object, "/spec/type", json!("ClusterIP"));
            default_if_absent(object, "/spec/sessionAffinity", json!("None"));
            if creating && object.pointer("/spec/clusterIP").is_none_or(Value::is_null) {
                let ip = allocate_cluster_ip();
                object["spec"]["clusterIP"] = json!(ip);
                object["spec"]["clusterIPs"] = json!([ip]);
            }
            if let Some(Value::Array(ports)) = object.pointer_mut("/spec/ports") {
                for port in ports {
                    default_if_absent(port, "/protocol", json!("TCP"));
                    if port.get("targetPort").is_none_or(Value::is_null) {
                        port["targetPort"] = port.get("port").cloned().unwrap_or(Value::Null);
                    }
                }
            }
            if creating {
                object["status"] = json!({"loadBalancer": {}});
            }
        }
        ("apps", "deployments") | ("apps", "statefulsets") => {
            if object.get("spec").is_some_and(Value::is_object) {
                default_if_absent(object, "/spec/replicas", json!(1));
                default_if_absent(object, "/spec/revisionHistoryLimit", json!(10));
            }
            default_pod_template(object);
        }
        ("", "persistentvolumeclaims") if creating => {
            object["status"] = json!({"phase": "Pending"});
        }
        _ => {}
    }
}

fn default_pod_template(object: &mut Value) {
    if let Some(Value::Array(containers)) = object.pointer_mut("/spec/template/spec/containers") {
        for container in containers {
            if let Some(Value::Array(ports)) = container.get_mut("ports") {
                for port in ports {
                    default_if_absent(port, "/protocol", json!("TCP"));
                }
            }
        }
    }
}

/// `stringData` is write-only: the server folds it into `data`.
fn fold_string_data(object: &mut Value) {
    let Some(Value::Object(string_data)) =
        object.as_object_mut().and_then(|o| o.remove("stringData"))
    else {
        return;
    };
    if !object.get("data").is_some_and(Value::is_object) {
        object["data"] = json!({});
    }
    for (key, value) in string_data {
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(value.as_str().unwrap_or_default());
        object["data"][key] = Value::String(encoded);
    }
}

fn invalid(field: &str, value: Option<Value>, detail: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        kind: FieldErrorKind::Invalid,
        bad_value: value,
        detail: detail.to_string(),
    }
}

fn required(field: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        kind: FieldErrorKind::Required,
        bad_value: None,
        detail: String::new(),
    }
}

/// The validations of built-in kinds that a controller's output can fail.
pub fn validate(resource: &ResourceType, object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match (resource.group.as_str(), resource.plural.as_str()) {
        ("apps", "deployments") | ("apps", "statefulsets") => {
            let selector = object
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object);
            let template_labels = object
                .pointer("/spec/template/metadata/labels")
                .and_then(Value::as_object);
            match selector {
                None => errors.push(required("spec.selector")),
                Some(selector) => {
                    let matches = selector
                        .iter()
                        .all(|(k, v)| template_labels.and_then(|l| l.get(k)) == Some(v));
                    if !matches {
                        errors.push(invalid(
                            "spec.template.metadata.labels",
                            template_labels.cloned().map(Value::Object),
                            "`selector` does not match template `labels`",
                        ));
                    }
                }
            }
            validate_pod_spec(
                object.pointer("/spec/template/spec"),
                "spec.template.spec",
                &mut errors,
            );
            if resource.plural == "statefulsets" && object.pointer("/spec/serviceName").is_none() {
                // serviceName became optional in 1.33 but our stacks need the
                // headless service; nothing to enforce server-side.
            }
        }
        ("", "services") => {
            if let Some(ports) = object.pointer("/spec/ports").and_then(Value::as_array) {
                for (index, port) in ports.iter().enumerate() {
                    let number = port.get("port").and_then(Value::as_i64).unwrap_or(0);
                    if !(1..=65535).contains(&number) {
                        errors.push(invalid(
                            &format!("spec.ports[{index}].port"),
                            port.get("port").cloned(),
                            "must be between 1 and 65535, inclusive",
                        ));
                    }
                    if ports.len() > 1
                        && port
                            .get("name")
                            .and_then(Value::as_str)
                            .is_none_or(str::is_empty)
                    {
                        errors.push(required(&format!("spec.ports[{index}].name")));
                    }
                }
            }
        }
        ("", "secrets") | ("", "configmaps") => {
            for field in ["data", "binaryData"] {
                if let Some(map) = object.get(field).and_then(Value::as_object) {
                    for key in map.keys() {
                        let ok = !key.is_empty()
                            && key.len() <= 253
                            && key
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
                        if !ok {
                            errors.push(invalid(&format!("{field}[{key}]"), Some(json!(key)), "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"));
                        }
                    }
                }
            }
        }
        _ => {}
    }
    errors
}

fn validate_pod_spec(pod_spec: Option<&Value>, path: &str, errors: &mut Vec<FieldError>) {
    let containers = pod_spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match containers {
        None => errors.push(required(&format!("{path}.containers"))),
        Some(containers) if containers.is_empty() => {
            errors.push(required(&format!("{path}.containers")))
        }
        Some(containers) => {
            // A template's image may be empty (config management may fill
            // it in later); only Pods require one, and we validate templates.
            for (index, container) in containers.iter().enumerate() {
                if container
                    .get("name")
                    .and_then(Value::as_str)
                    .is_none_or(str::is_empty)
                {
                    errors.push(required(&format!("{path}.containers[{index}].name")));
                }
            }
        }
    }
}
