//! The Management API's OpenAPI document (`../shared/contracts/`, or the
//! directory `SUPAPLANE_CONTRACTS_DIR` names), turned into JSON Schema so
//! each `/v1` response of the facade can be checked against the schema of
//! its operation.

use std::path::PathBuf;

use serde_json::{Map, Value, json};

pub struct ManagementApi {
    document: Value,
}

fn contracts_dir() -> PathBuf {
    std::env::var_os("SUPAPLANE_CONTRACTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/contracts"))
}

/// OpenAPI 3.0 to JSON Schema draft 4: `nullable: true` becomes "or null";
/// OpenAPI-only keywords are dropped.
fn to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(object) => {
            let mut converted = Map::new();
            for (key, value) in object {
                match key.as_str() {
                    "nullable" | "discriminator" | "example" | "deprecated" | "readOnly"
                    | "writeOnly" | "xml" | "externalDocs" => {}
                    // A property map's keys are names, not keywords.
                    "properties" => {
                        let properties = value
                            .as_object()
                            .map(|p| {
                                p.iter()
                                    .map(|(name, s)| (name.clone(), to_json_schema(s)))
                                    .collect::<Map<_, _>>()
                            })
                            .unwrap_or_default();
                        converted.insert(key.clone(), Value::Object(properties));
                    }
                    _ => {
                        converted.insert(key.clone(), to_json_schema(value));
                    }
                }
            }
            if object.get("nullable") == Some(&Value::Bool(true)) {
                json!({"anyOf": [Value::Object(converted), {"type": "null"}]})
            } else {
                Value::Object(converted)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
        other => other.clone(),
    }
}

impl ManagementApi {
    pub fn load() -> anyhow::Result<ManagementApi> {
        let path = contracts_dir().join("management-api.openapi.json");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            anyhow::anyhow!(
                "reading the Management API contract {}: {e} (set SUPAPLANE_CONTRACTS_DIR)",
                path.display()
            )
        })?;
        Ok(ManagementApi {
            document: serde_json::from_str(&text)?,
        })
    }

    /// Validates a response body against the schema the document gives for
    /// this operation and status; errors say where the body departs.
    pub fn check(
        &self,
        method: &str,
        path: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), Vec<String>> {
        let operation = &self.document["paths"][path][method.to_lowercase()];
        if operation.is_null() {
            return Err(vec![format!("{method} {path} is not in the contract")]);
        }
        let schema =
            &operation["responses"][status.to_string()]["content"]["application/json"]["schema"];
        if schema.is_null() {
            // The contract gives no body for this status: none is expected.
            return if body.is_null() {
                Ok(())
            } else {
                Err(vec![format!(
                    "{method} {path} {status} has no body in the contract, but got {body}"
                )])
            };
        }
        let mut root = to_json_schema(schema);
        if let Value::Object(root_object) = &mut root {
            root_object.insert(
                "components".into(),
                to_json_schema(&self.document["components"]),
            );
        }
        let validator = jsonschema::draft4::new(&root)
            .map_err(|e| vec![format!("the contract's schema does not compile: {e}")])?;
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}
