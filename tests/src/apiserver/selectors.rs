//! Label and field selectors, in the string syntax of list and watch queries.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum LabelRequirement {
    Exists(String),
    NotExists(String),
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

/// A parsed `labelSelector`; all requirements must hold (logical AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    requirements: Vec<LabelRequirement>,
}

impl LabelSelector {
    pub fn parse(input: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for term in split_top_level(input) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            requirements.push(parse_label_requirement(term)?);
        }
        Ok(LabelSelector { requirements })
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = object.pointer("/metadata/labels");
        let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.requirements
            .iter()
            .all(|requirement| match requirement {
                LabelRequirement::Exists(key) => label(key).is_some(),
                LabelRequirement::NotExists(key) => label(key).is_none(),
                LabelRequirement::Equals(key, value) => label(key) == Some(value.as_str()),
                // `!=` also matches objects without the label, as in Kubernetes.
                LabelRequirement::NotEquals(key, value) => label(key) != Some(value.as_str()),
                LabelRequirement::In(key, values) => {
                    label(key).is_some_and(|v| values.iter().any(|x| x == v))
                }
                LabelRequirement::NotIn(key, values) => {
                    !label(key).is_some_and(|v| values.iter().any(|x| x == v))
                }
            })
    }
}

/// Splits on commas that are not inside a `(...)` value set.
fn split_top_level(input: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, ch) in input.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&input[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&input[start..]);
    parts
}

fn parse_label_requirement(term: &str) -> Result<LabelRequirement, String> {
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(valid_key(key.trim())?));
    }
    for (operator, negated) in [(" notin ", true), (" in ", false)] {
        if let Some((key, rest)) = term.split_once(operator) {
            let rest = rest.trim();
            let values = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    format!("unable to parse requirement: found '{rest}', expected: '('")
                })?;
            let values: Vec<String> = values
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            let key = valid_key(key.trim())?;
            return Ok(if negated {
                LabelRequirement::NotIn(key, values)
            } else {
                LabelRequirement::In(key, values)
            });
        }
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(LabelRequirement::NotEquals(
            valid_key(key.trim())?,
            value.trim().to_string(),
        ));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(LabelRequirement::Equals(
            valid_key(key.trim())?,
            value.trim().to_string(),
        ));
    }
    Ok(LabelRequirement::Exists(valid_key(term)?))
}

fn valid_key(key: &str) -> Result<String, String> {
    if super::metadata::qualified_name_ok(key) {
        Ok(key.to_string())
    } else {
        Err(format!(
            "unable to parse requirement: invalid label key \"{key}\""
        ))
    }
}

/// A parsed `fieldSelector`: `field=value`, `field==value`, `field!=value` terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parses and checks every field against those the resource supports,
    /// refusing others as the API server does.
    pub fn parse(input: &str, supported: &[&str]) -> Result<Self, String> {
        let mut terms = Vec::new();
        for term in input.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (field, negated, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (f, false, v)
            } else {
                return Err(format!(
                    "invalid selector: '{term}'; can't understand '{term}'"
                ));
            };
            let field = field.trim();
            if !supported.contains(&field) {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), negated, value.trim().to_string()));
        }
        Ok(FieldSelector { terms })
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.terms.iter().all(|(field, negated, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = match object.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (actual == *value) != *negated
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(labels: Value) -> Value {
        json!({"metadata": {"name": "a", "namespace": "ns", "labels": labels}})
    }

    #[test]
    fn equality_and_set_requirements() {
        let obj = object(json!({"app": "db", "tier": "backend"}));
        assert!(LabelSelector::parse("app=db").unwrap().matches(&obj));
        assert!(LabelSelector::parse("app==db,tier").unwrap().matches(&obj));
        assert!(!LabelSelector::parse("app!=db").unwrap().matches(&obj));
        assert!(
            LabelSelector::parse("app in (web, db),!missing")
                .unwrap()
                .matches(&obj)
        );
        assert!(
            !LabelSelector::parse("app notin (db)")
                .unwrap()
                .matches(&obj)
        );
        assert!(LabelSelector::parse("missing!=x").unwrap().matches(&obj));
        assert!(!LabelSelector::parse("missing").unwrap().matches(&obj));
        assert!(LabelSelector::parse("").unwrap().matches(&obj));
    }

    #[test]
    fn prefixed_keys_and_bad_keys() {
        let obj = object(json!({"app.kubernetes.io/name": "x"}));
        assert!(
            LabelSelector::parse("app.kubernetes.io/name=x")
                .unwrap()
                .matches(&obj)
        );
        assert!(LabelSelector::parse("bad key=x").is_err());
        assert!(LabelSelector::parse("k in x").is_err());
    }

    #[test]
    fn field_selectors() {
        let obj = object(json!({}));
        let supported = ["metadata.name", "metadata.namespace"];
        assert!(
            FieldSelector::parse("metadata.name=a", &supported)
                .unwrap()
                .matches(&obj)
        );
        assert!(
            !FieldSelector::parse("metadata.name!=a", &supported)
                .unwrap()
                .matches(&obj)
        );
        assert!(
            FieldSelector::parse("metadata.namespace==ns,metadata.name=a", &supported)
                .unwrap()
                .matches(&obj)
        );
        assert!(FieldSelector::parse("spec.foo=a", &supported).is_err());
    }
}
