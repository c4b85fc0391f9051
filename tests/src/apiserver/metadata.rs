//! Object metadata rules every resource shares: name formats, labels,
//! system-set fields.

use serde_json::{Map, Value};

use super::schema::{FieldError, FieldErrorKind};

pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

pub fn name_of(object: &Value) -> &str {
    object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn namespace_of(object: &Value) -> &str {
    object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn uid_of(object: &Value) -> &str {
    object
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn resource_version_of(object: &Value) -> &str {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or("")
}

pub fn finalizers_of(object: &Value) -> Vec<String> {
    object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_terminating(object: &Value) -> bool {
    object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// The `metadata` map, created when missing or not an object.
pub fn metadata_mut(object: &mut Value) -> &mut Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = Value::Object(Map::new());
    }
    match object.get_mut("metadata") {
        Some(Value::Object(map)) => map,
        _ => unreachable!("metadata was just made an object"),
    }
}

/// Which name format a resource requires.
#[derive(Clone, Copy)]
pub enum NameFormat {
    /// RFC 1123 subdomain: most resources.
    Subdomain,
    /// RFC 1123 label: namespaces.
    Label,
    /// RFC 1035 label: services (the name becomes a DNS name and env var).
    Rfc1035Label,
}

pub fn validate_name(name: &str, format: NameFormat) -> Option<FieldError> {
    let invalid = |detail: &str| {
        Some(FieldError {
            field: "metadata.name".to_string(),
            kind: FieldErrorKind::Invalid,
            bad_value: Some(Value::String(name.to_string())),
            detail: detail.to_string(),
        })
    };
    let label_ok = |s: &str, first_alpha: bool| {
        !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && s.starts_with(|c: char| {
                if first_alpha {
                    c.is_ascii_lowercase()
                } else {
                    c.is_ascii_alphanumeric()
                }
            })
            && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    match format {
        NameFormat::Subdomain => {
            let ok = name.len() <= 253 && name.split('.').all(|part| label_ok(part, false));
            if ok {
                None
            } else {
                invalid(
                    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
                )
            }
        }
        NameFormat::Label => {
            if label_ok(name, false) {
                None
            } else {
                invalid(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
                )
            }
        }
        NameFormat::Rfc1035Label => {
            if label_ok(name, true) {
                None
            } else {
                invalid(
                    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
                )
            }
        }
    }
}

/// A label or annotation key: an optional DNS-subdomain prefix and a name.
pub fn qualified_name_ok(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    let prefix_ok = prefix.is_none_or(|p| validate_name(p, NameFormat::Subdomain).is_none());
    name_ok && prefix_ok
}

fn label_value_ok(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && value.starts_with(|c: char| c.is_ascii_alphanumeric())
            && value.ends_with(|c: char| c.is_ascii_alphanumeric()))
}

/// Label and annotation key/value rules (apimachinery ValidateObjectMeta).
pub fn validate_labels_and_annotations(object: &Value) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if let Some(labels) = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    {
        for (key, value) in labels {
            if !qualified_name_ok(key) {
                errors.push(FieldError {
                    field: "metadata.labels".to_string(),
                    kind: FieldErrorKind::Invalid,
                    bad_value: Some(Value::String(key.clone())),
                    detail: "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".to_string(),
                });
            }
            let text = value.as_str().unwrap_or_default();
            if !value.is_string() || !label_value_ok(text) {
                errors.push(FieldError {
                    field: "metadata.labels".to_string(),
                    kind: FieldErrorKind::Invalid,
                    bad_value: Some(value.clone()),
                    detail: "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character".to_string(),
                });
            }
        }
    }
    if let Some(annotations) = object
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    {
        let total: usize = annotations
            .iter()
            .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
            .sum();
        if annotations.keys().any(|k| !qualified_name_ok(k)) {
            errors.push(FieldError {
                field: "metadata.annotations".to_string(),
                kind: FieldErrorKind::Invalid,
                bad_value: None,
                detail: "annotation keys must be qualified names".to_string(),
            });
        }
        if total > 256 * 1024 {
            errors.push(FieldError {
                field: "metadata.annotations".to_string(),
                kind: FieldErrorKind::TooLong,
                bad_value: None,
                detail: "may not be more than 262144 bytes".to_string(),
            });
        }
    }
    errors
}

/// A random suffix for `generateName`, from the alphabet Kubernetes uses.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn name_formats() {
        assert!(validate_name("project-abc", NameFormat::Label).is_none());
        assert!(validate_name("a.b-c", NameFormat::Subdomain).is_none());
        assert!(validate_name("a.b", NameFormat::Label).is_some());
        assert!(validate_name("Upper", NameFormat::Subdomain).is_some());
        assert!(validate_name("1abc", NameFormat::Rfc1035Label).is_some());
        assert!(validate_name(&"a".repeat(64), NameFormat::Label).is_some());
        assert!(validate_name("", NameFormat::Subdomain).is_some());
    }

    #[test]
    fn labels() {
        let ok = json!({"metadata": {"labels": {"app.kubernetes.io/name": "x", "empty": ""}}});
        assert!(validate_labels_and_annotations(&ok).is_empty());
        let bad = json!({"metadata": {"labels": {"bad key": "x", "k": "-bad"}}});
        assert_eq!(validate_labels_and_annotations(&bad).len(), 2);
    }

    #[test]
    fn suffix_shape() {
        let suffix = random_suffix();
        assert_eq!(suffix.len(), 5);
        assert!(
            suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
    }
}
