//! Reading Secrets the facade holds or is shown.

use k8s_openapi::api::core::v1::Secret;

/// One text entry of a Secret.
pub fn secret_text<'a>(secret: &'a Secret, key: &str) -> Option<&'a str> {
    secret
        .data
        .as_ref()?
        .get(key)
        .and_then(|value| std::str::from_utf8(&value.0).ok())
}
