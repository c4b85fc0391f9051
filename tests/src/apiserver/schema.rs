//! Custom resources against their CRD's structural schema, as the
//! apiextensions-apiserver treats them: pruning of unknown fields,
//! defaulting, OpenAPI validation (through the `jsonschema` crate) and CEL
//! rules (through `kube-cel`), reported as Kubernetes field errors.

use std::fmt;

use serde_json::{Map, Value, json};

/// How a list merges under server-side apply (`x-kubernetes-list-type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    Atomic,
    Set,
    Map(Vec<String>),
}

/// The kinds of `field.Error` the API server reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldErrorKind {
    Invalid,
    Required,
    NotSupported,
    TypeInvalid,
    TooLong,
    TooMany,
    Duplicate,
    Forbidden,
}

impl FieldErrorKind {
    /// The `reason` of a `StatusCause`.
    pub fn reason(&self) -> &'static str {
        match self {
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::TypeInvalid => "FieldValueTypeInvalid",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
        }
    }

    fn label(&self) -> &'static str {
        match self {
            FieldErrorKind::Invalid | FieldErrorKind::TypeInvalid => "Invalid value",
            FieldErrorKind::Required => "Required value",
            FieldErrorKind::NotSupported => "Unsupported value",
            FieldErrorKind::TooLong => "Too long",
            FieldErrorKind::TooMany => "Too many",
            FieldErrorKind::Duplicate => "Duplicate value",
            FieldErrorKind::Forbidden => "Forbidden",
        }
    }
}

/// One field error, rendered as apimachinery's `field.Error` renders.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
    pub bad_value: Option<Value>,
    pub detail: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.kind.label())?;
        let shows_value = !matches!(
            self.kind,
            FieldErrorKind::Required
                | FieldErrorKind::Forbidden
                | FieldErrorKind::TooLong
                | FieldErrorKind::TooMany
        );
        if shows_value && let Some(value) = &self.bad_value {
            write!(f, ": {value}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A compiled CRD version schema.
pub struct CrdSchema {
    openapi: Value,
    structural: jsonschema::Validator,
    rules: kube_cel::CompiledSchema,
    cel: kube_cel::Validator,
}

impl CrdSchema {
    pub fn new(open_api_v3_schema: &Value) -> Result<Self, String> {
        let translated = to_json_schema(open_api_v3_schema);
        let structural =
            jsonschema::draft4::new(&translated).map_err(|e| format!("invalid schema: {e}"))?;
        let rules = kube_cel::compile_schema(open_api_v3_schema);
        if rules.has_errors() {
            let errors: Vec<String> = rules
                .compilation_errors()
                .iter()
                .map(|e| e.to_string())
                .collect();
            return Err(format!("compilation failed: {}", errors.join("; ")));
        }
        Ok(CrdSchema {
            openapi: open_api_v3_schema.clone(),
            structural,
            rules,
            cel: kube_cel::Validator::new(),
        })
    }

    /// Drops every field the schema does not specify; returns their paths.
    pub fn prune(&self, object: &mut Value) -> Vec<String> {
        let mut pruned = Vec::new();
        if let Value::Object(map) = object {
            let properties = self.openapi.get("properties").and_then(Value::as_object);
            for (key, value) in map.iter_mut() {
                if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                if let Some(schema) = properties.and_then(|p| p.get(key)) {
                    prune_value(schema, value, &format!(".{key}"), &mut pruned);
                }
            }
            map.retain(|key, _| {
                let known = matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
                    || properties.is_some_and(|p| p.contains_key(key));
                if !known {
                    pruned.push(format!(".{key}"));
                }
                known
            });
        }
        pruned
    }

    /// Applies schema defaults where fields are absent (or null and not nullable).
    pub fn apply_defaults(&self, object: &mut Value) {
        default_value(&self.openapi, object);
    }

    /// OpenAPI and CEL validation; `old` is the stored object on update.
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errors: Vec<FieldError> = self
            .structural
            .iter_errors(object)
            .map(|e| field_error(object, &e))
            .collect();
        errors.extend(list_type_errors(&self.openapi, object, String::new()));
        if errors.is_empty() {
            // CEL rules run on a structurally valid object only, as in the API server.
            if let Err(failures) = self.cel.validate_compiled(&self.rules, object, old) {
                for failure in failures.iter() {
                    let field = failure.field_path.trim_start_matches('.').to_string();
                    let bad_value = lookup(object, &field).map(|v| json!(type_name(v)));
                    errors.push(FieldError {
                        field,
                        kind: FieldErrorKind::Invalid,
                        bad_value,
                        detail: failure.message.clone(),
                    });
                }
            }
        }
        errors
    }

    pub fn list_type_at(&self, path: &[&str]) -> ListType {
        let Some(schema) = schema_at(&self.openapi, path) else {
            return ListType::Atomic;
        };
        match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(
                schema
                    .get("x-kubernetes-list-map-keys")
                    .and_then(Value::as_array)
                    .map(|keys| {
                        keys.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            _ => ListType::Atomic,
        }
    }

    pub fn is_atomic_map_at(&self, path: &[&str]) -> bool {
        schema_at(&self.openapi, path)
            .and_then(|s| s.get("x-kubernetes-map-type"))
            .and_then(Value::as_str)
            == Some("atomic")
    }
}

/// The schema node for a path of field names (list items are stepped into).
fn schema_at<'a>(schema: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut node = schema;
    for field in path {
        while node.get("type").and_then(Value::as_str) == Some("array") {
            node = node.get("items")?;
        }
        node = node
            .get("properties")
            .and_then(|p| p.get(*field))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
    }
    Some(node)
}

/// OpenAPI v3 (Kubernetes flavour) to JSON Schema draft 4: `nullable` and
/// `x-kubernetes-int-or-string` become type unions; extensions are dropped.
fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                match key.as_str() {
                    k if k.starts_with("x-kubernetes-") => {}
                    "nullable" | "format" | "default" | "description" | "example"
                    | "externalDocs" => {}
                    "properties" | "patternProperties" | "definitions" => {
                        let children = value
                            .as_object()
                            .map(|m| {
                                m.iter()
                                    .map(|(k, v)| (k.clone(), to_json_schema(v)))
                                    .collect()
                            })
                            .unwrap_or_default();
                        out.insert(key.clone(), Value::Object(children));
                    }
                    "required" | "enum" | "type" => {
                        out.insert(key.clone(), value.clone());
                    }
                    _ => {
                        out.insert(key.clone(), to_json_schema(value));
                    }
                }
            }
            if map
                .get("x-kubernetes-int-or-string")
                .and_then(Value::as_bool)
                == Some(true)
            {
                out.insert("type".into(), json!(["integer", "string"]));
                out.remove("anyOf");
            }
            let embedded_or_free = map
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true)
                || map
                    .get("x-kubernetes-embedded-resource")
                    .and_then(Value::as_bool)
                    == Some(true);
            if embedded_or_free && !out.contains_key("type") {
                // Free-form: any type.
            }
            if map.get("nullable").and_then(Value::as_bool) == Some(true) {
                match out.get("type").cloned() {
                    Some(Value::String(kind)) => {
                        out.insert("type".into(), json!([kind, "null"]));
                    }
                    Some(Value::Array(mut kinds)) => {
                        kinds.push(json!("null"));
                        out.insert("type".into(), Value::Array(kinds));
                    }
                    _ => {}
                }
                if let Some(Value::Array(options)) = out.get_mut("enum") {
                    options.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn prune_value(schema: &Value, value: &mut Value, path: &str, pruned: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let embedded = schema
                .get("x-kubernetes-embedded-resource")
                .and_then(Value::as_bool)
                == Some(true);
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keep_unknown = preserves_unknown(schema)
                || schema.get("additionalProperties") == Some(&Value::Bool(true));
            map.retain(|key, _| {
                let known = properties.is_some_and(|p| p.contains_key(key))
                    || additional.is_some()
                    || keep_unknown
                    || (embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"));
                if !known {
                    pruned.push(format!("{path}.{key}"));
                }
                known
            });
            for (key, child) in map.iter_mut() {
                let child_schema = properties.and_then(|p| p.get(key)).or(additional);
                if let Some(child_schema) = child_schema {
                    prune_value(child_schema, child, &format!("{path}.{key}"), pruned);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter_mut().enumerate() {
                    prune_value(item_schema, item, &format!("{path}[{index}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

fn default_value(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, child_schema) in properties {
                    let nullable =
                        child_schema.get("nullable").and_then(Value::as_bool) == Some(true);
                    let absent = match map.get(key) {
                        None => true,
                        Some(Value::Null) => !nullable,
                        Some(_) => false,
                    };
                    if absent && let Some(default) = child_schema.get("default") {
                        map.insert(key.clone(), default.clone());
                    }
                    if let Some(child) = map.get_mut(key) {
                        default_value(child_schema, child);
                    }
                }
            }
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                for child in map.values_mut() {
                    default_value(additional, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    default_value(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

/// Turns a JSON pointer into a Kubernetes field path (`spec.members[0].role`).
fn field_path(object: &Value, pointer: &str) -> String {
    let mut path = String::new();
    let mut node = Some(object);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        match node {
            Some(Value::Array(items)) => {
                path.push_str(&format!("[{segment}]"));
                node = segment.parse::<usize>().ok().and_then(|i| items.get(i));
            }
            _ => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&segment);
                node = node.and_then(|n| n.get(&segment));
            }
        }
    }
    path
}

fn lookup<'a>(object: &'a Value, field: &str) -> Option<&'a Value> {
    let mut node = object;
    for part in field.split('.').filter(|p| !p.is_empty()) {
        let (name, index) = match part.split_once('[') {
            Some((name, rest)) => (name, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        node = node.get(name)?;
        if let Some(index) = index {
            node = node.get(index)?;
        }
    }
    Some(node)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn quoted_options(options: &Value) -> String {
    options
        .as_array()
        .map(|o| {
            o.iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Maps a JSON Schema error onto the field error kube-openapi would report.
fn field_error(object: &Value, error: &jsonschema::ValidationError<'_>) -> FieldError {
    use jsonschema::error::ValidationErrorKind as Kind;
    let field = field_path(object, error.instance_path().as_str());
    let value = error.instance().clone().into_owned();
    let invalid = |detail: String| FieldError {
        field: field.clone(),
        kind: FieldErrorKind::Invalid,
        bad_value: Some(value.clone()),
        detail: format!("{field} in body {detail}"),
    };
    match error.kind() {
        Kind::Required { property } => FieldError {
            field: if field.is_empty() {
                property.as_str().unwrap_or_default().to_string()
            } else {
                format!("{field}.{}", property.as_str().unwrap_or_default())
            },
            kind: FieldErrorKind::Required,
            bad_value: None,
            detail: String::new(),
        },
        Kind::Type { kind } => FieldError {
            field: field.clone(),
            kind: FieldErrorKind::TypeInvalid,
            bad_value: Some(json!(type_name(&value))),
            detail: format!(
                "{field} in body must be of type {}: {}",
                type_list(kind),
                json!(type_name(&value))
            ),
        },
        Kind::Enum { options } => FieldError {
            field: field.clone(),
            kind: FieldErrorKind::NotSupported,
            bad_value: Some(value.clone()),
            detail: format!("supported values: {}", quoted_options(options)),
        },
        Kind::Pattern { pattern } => invalid(format!("should match '{pattern}'")),
        Kind::MaxLength { limit } => FieldError {
            field: field.clone(),
            kind: FieldErrorKind::TooLong,
            bad_value: Some(value.clone()),
            detail: format!("may not be more than {limit} bytes"),
        },
        Kind::MinLength { limit } => invalid(format!("should be at least {limit} chars long")),
        Kind::Maximum { limit } => invalid(format!("should be less than or equal to {limit}")),
        Kind::Minimum { limit } => invalid(format!("should be greater than or equal to {limit}")),
        Kind::ExclusiveMaximum { limit } => invalid(format!("should be less than {limit}")),
        Kind::ExclusiveMinimum { limit } => invalid(format!("should be greater than {limit}")),
        Kind::MaxItems { limit } => FieldError {
            field: field.clone(),
            kind: FieldErrorKind::TooMany,
            bad_value: Some(value.clone()),
            detail: format!("must have at most {limit} items"),
        },
        Kind::MinItems { limit } => invalid(format!("should have at least {limit} items")),
        Kind::MaxProperties { limit } => FieldError {
            field: field.clone(),
            kind: FieldErrorKind::TooMany,
            bad_value: Some(value.clone()),
            detail: format!("must have at most {limit} items"),
        },
        Kind::MinProperties { limit } => {
            invalid(format!("should have at least {limit} properties"))
        }
        Kind::UniqueItems => FieldError {
            field: field.clone(),
            kind: FieldErrorKind::Duplicate,
            bad_value: Some(value.clone()),
            detail: String::new(),
        },
        _ => invalid(error.to_string()),
    }
}

fn type_list(kind: &jsonschema::error::TypeKind) -> String {
    match kind {
        jsonschema::error::TypeKind::Single(t) => t.to_string(),
        jsonschema::error::TypeKind::Multiple(types) => {
            let names: Vec<String> = types
                .iter()
                .map(|t| t.to_string())
                .filter(|t| t != "null")
                .collect();
            names.join(",")
        }
    }
}

/// `x-kubernetes-list-type: set|map` uniqueness, which JSON Schema cannot say.
fn list_type_errors(schema: &Value, value: &Value, path: String) -> Vec<FieldError> {
    let mut errors = Vec::new();
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, child) in map {
                if let Some(child_schema) = properties.and_then(|p| p.get(key)).or(additional) {
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    errors.extend(list_type_errors(child_schema, child, child_path));
                }
            }
        }
        Value::Array(items) => {
            let list_type = schema.get("x-kubernetes-list-type").and_then(Value::as_str);
            let keys: Vec<&str> = schema
                .get("x-kubernetes-list-map-keys")
                .and_then(Value::as_array)
                .map(|k| k.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut seen: Vec<Value> = Vec::new();
            for (index, item) in items.iter().enumerate() {
                let identity = match list_type {
                    Some("set") => Some(item.clone()),
                    Some("map") => Some(json!(
                        keys.iter()
                            .map(|k| item.get(*k).cloned())
                            .collect::<Vec<_>>()
                    )),
                    _ => None,
                };
                if let Some(identity) = identity {
                    if seen.contains(&identity) {
                        errors.push(FieldError {
                            field: format!("{path}[{index}]"),
                            kind: FieldErrorKind::Duplicate,
                            bad_value: Some(if list_type == Some("map") {
                                identity.clone()
                            } else {
                                item.clone()
                            }),
                            detail: String::new(),
                        });
                    }
                    seen.push(identity);
                }
                if let Some(item_schema) = schema.get("items") {
                    errors.extend(list_type_errors(
                        item_schema,
                        item,
                        format!("{path}[{index}]"),
                    ));
                }
            }
        }
        _ => {}
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> CrdSchema {
        CrdSchema::new(&json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
                        "size": {"type": "string", "enum": ["small", "large"], "default": "small"},
                        "paused": {"type": "boolean", "default": false},
                        "owner": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "owner is immutable"}]},
                        "quantity": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                        "note": {"type": "string", "nullable": true},
                        "members": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["email"],
                            "items": {"type": "object", "properties": {"email": {"type": "string"}, "role": {"type": "string", "default": "Developer"}}},
                        },
                        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
                "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
            },
        }))
        .expect("schema compiles")
    }

    fn object(spec: Value) -> Value {
        json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n"}, "spec": spec})
    }

    #[test]
    fn pruning_drops_unknown_fields_but_keeps_preserved_ones() {
        let mut obj = object(
            json!({"name": "a", "bogus": 1, "members": [{"email": "e", "extra": true}], "free": {"any": {"thing": 1}}, "labels": {"k": "v"}}),
        );
        obj["unknownTop"] = json!(1);
        let pruned = schema().prune(&mut obj);
        assert_eq!(pruned.len(), 3, "{pruned:?}");
        assert!(pruned.contains(&".spec.bogus".to_string()));
        assert!(pruned.contains(&".spec.members[0].extra".to_string()));
        assert!(obj.get("unknownTop").is_none());
        assert_eq!(obj["spec"]["free"]["any"]["thing"], 1);
        assert_eq!(obj["spec"]["labels"]["k"], "v");
        assert_eq!(obj["metadata"]["name"], "n");
    }

    #[test]
    fn defaults_fill_absent_fields_and_list_items() {
        let mut obj = object(json!({"name": "a", "size": "large", "members": [{"email": "e"}]}));
        schema().apply_defaults(&mut obj);
        assert_eq!(obj["spec"]["size"], "large", "present values are kept");
        assert_eq!(obj["spec"]["paused"], false);
        assert_eq!(obj["spec"]["members"][0]["role"], "Developer");
        assert!(obj.get("status").is_none(), "no parent, no defaults");
    }

    #[test]
    fn errors_have_kubernetes_paths_kinds_and_messages() {
        let s = schema();
        let errors = s.validate(
            &object(json!({"name": "Abc", "size": "huge", "paused": "yes"})),
            None,
        );
        let rendered: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            rendered.contains(
                &"spec.name: Invalid value: \"Abc\": spec.name in body should match '^[a-z]+$'"
                    .to_string()
            ),
            "{rendered:?}"
        );
        assert!(
            rendered.contains(
                &"spec.size: Unsupported value: \"huge\": supported values: \"small\", \"large\""
                    .to_string()
            ),
            "{rendered:?}"
        );
        assert!(rendered.contains(&"spec.paused: Invalid value: \"string\": spec.paused in body must be of type boolean: \"string\"".to_string()), "{rendered:?}");
        let missing = s.validate(&object(json!({})), None);
        assert_eq!(missing[0].to_string(), "spec.name: Required value");
        assert_eq!(missing[0].kind.reason(), "FieldValueRequired");
        let long = s.validate(&object(json!({"name": "abcdefg"})), None);
        assert_eq!(long[0].kind, FieldErrorKind::TooLong);
    }

    #[test]
    fn int_or_string_and_nullable() {
        let s = schema();
        assert!(
            s.validate(
                &object(json!({"name": "a", "quantity": 5, "note": null})),
                None
            )
            .is_empty()
        );
        assert!(
            s.validate(&object(json!({"name": "a", "quantity": "1Gi"})), None)
                .is_empty()
        );
        assert!(
            !s.validate(&object(json!({"name": "a", "quantity": true})), None)
                .is_empty()
        );
    }

    #[test]
    fn transition_rules_run_on_update_only() {
        let s = schema();
        let old = object(json!({"name": "a", "owner": "x"}));
        assert!(s.validate(&old, None).is_empty(), "no old object on create");
        let changed = object(json!({"name": "a", "owner": "y"}));
        let errors = s.validate(&changed, Some(&old));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "spec.owner");
        assert_eq!(
            errors[0].to_string(),
            "spec.owner: Invalid value: \"string\": owner is immutable"
        );
        assert!(s.validate(&old, Some(&old)).is_empty());
    }

    #[test]
    fn list_type_uniqueness_and_lookup() {
        let s = schema();
        let errors = s.validate(&object(json!({"name": "a", "members": [{"email": "e"}, {"email": "e"}], "tags": ["t", "t"]})), None);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["spec.members[1]", "spec.tags[1]"]);
        assert!(errors.iter().all(|e| e.kind == FieldErrorKind::Duplicate));
        assert_eq!(
            s.list_type_at(&["spec", "members"]),
            ListType::Map(vec!["email".into()])
        );
        assert_eq!(s.list_type_at(&["spec", "tags"]), ListType::Set);
        assert_eq!(s.list_type_at(&["spec", "name"]), ListType::Atomic);
        assert_eq!(s.list_type_at(&["spec", "missing"]), ListType::Atomic);
    }
}
