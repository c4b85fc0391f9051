//! Strategic merge patch for built-in kinds: a JSON merge patch whose lists
//! with a merge key are merged item by item, and `$patch: delete|replace`
//! directives. (`$setElementOrder`, `$retainKeys` and `$deleteFromPrimitiveList`
//! are not supported; no client of ours sends them.)

use serde_json::{Map, Value};

use super::fieldmanager::{ListType, MergeSchema};

/// Merges `patch` into `target`; `path` is the field-name path so far.
pub fn merge(target: &mut Value, patch: &Value, schema: &dyn MergeSchema, path: &mut Vec<String>) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if patch_map.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut replacement = patch_map.clone();
        replacement.remove("$patch");
        *target = Value::Object(replacement);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, patch_value) in patch_map {
        if key.starts_with('$') {
            continue;
        }
        if patch_value.is_null() {
            target_map.remove(key);
            continue;
        }
        path.push(key.clone());
        let path_refs: Vec<&str> = path.iter().map(String::as_str).collect();
        match (patch_value, schema.list_type(&path_refs)) {
            (Value::Array(patch_items), ListType::Map(keys)) => {
                let existing = target_map
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                merge_keyed_list(existing, patch_items, &keys, schema, path);
            }
            (Value::Array(patch_items), ListType::Set) => {
                let existing = target_map
                    .entry(key.clone())
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = existing {
                    for item in patch_items {
                        if !items.contains(item) {
                            items.push(item.clone());
                        }
                    }
                } else {
                    *existing = Value::Array(patch_items.clone());
                }
            }
            (Value::Object(_), _) => {
                let existing = target_map.entry(key.clone()).or_insert(Value::Null);
                merge(existing, patch_value, schema, path);
            }
            _ => {
                target_map.insert(key.clone(), patch_value.clone());
            }
        }
        path.pop();
    }
}

fn key_of(item: &Value, keys: &[String]) -> Vec<Value> {
    keys.iter()
        .map(|k| match (item.get(k), k.as_str()) {
            (Some(v), _) => v.clone(),
            // Kubernetes keys a port without a protocol as TCP.
            (None, "protocol") => Value::String("TCP".into()),
            (None, _) => Value::Null,
        })
        .collect()
}

fn merge_keyed_list(
    existing: &mut Value,
    patch_items: &[Value],
    keys: &[String],
    schema: &dyn MergeSchema,
    path: &mut Vec<String>,
) {
    if !existing.is_array() {
        *existing = Value::Array(Vec::new());
    }
    let Value::Array(items) = existing else {
        return;
    };
    for patch_item in patch_items {
        let wanted = key_of(patch_item, keys);
        let position = items.iter().position(|item| key_of(item, keys) == wanted);
        let delete = patch_item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (position, delete) {
            (Some(index), true) => {
                items.remove(index);
            }
            (None, true) => {}
            (Some(index), false) => merge(&mut items[index], patch_item, schema, path),
            (None, false) => {
                let mut item = Value::Null;
                merge(&mut item, patch_item, schema, path);
                items.push(item);
            }
        }
    }
}
