//! Checks of what callers send, each failing with a message that says what
//! to fix.

use rand::Rng;

use crate::common::error::{ApiError, ApiResult};

/// Longest display name of an organization or project (the CRDs' limit).
pub const NAME_LIMIT: usize = 64;

/// A display name: 1 to 64 characters of letters, digits, spaces and
/// `-_.'()`. Names are shown, not executed, but a name made of SQL or markup
/// is a mistake (or worse) we refuse early.
pub fn display_name(field: &str, value: &str) -> ApiResult<String> {
    let name = value.trim();
    if name.is_empty() {
        return Err(ApiError::BadRequest(format!("{field} must not be empty")));
    }
    if name.chars().count() > NAME_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "{field} must be at most {NAME_LIMIT} characters"
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')')))
    {
        return Err(ApiError::BadRequest(format!(
            "{field} may contain only letters, digits, spaces and - _ . ( ); found {bad:?}"
        )));
    }
    if name.contains("--") {
        return Err(ApiError::BadRequest(format!(
            "{field} must not contain \"--\""
        )));
    }
    Ok(name.to_string())
}

/// A path segment from the caller, checked so it cannot reach another path
/// of the upstream it is forwarded to: no `/`, `?`, `#`, `%`, `:` or `..`
/// (axum has already percent-decoded it).
pub fn path_segment(field: &str, value: &str) -> ApiResult<String> {
    let valid = !value.is_empty()
        && value.len() <= 100
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && value != "."
        && value != "..";
    if valid {
        Ok(value.to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "{field} may hold only letters, digits and - _ . (1 to 100 characters)"
        )))
    }
}

/// One line of free text: at most `max` characters, no control characters
/// (no NUL, which no environment variable can hold, and no CR/LF, which
/// would split a mail header).
pub fn single_line(field: &str, value: &str, max: usize) -> ApiResult<String> {
    if value.chars().count() > max {
        return Err(ApiError::BadRequest(format!(
            "{field} must be at most {max} characters"
        )));
    }
    if let Some(bad) = value.chars().find(|c| c.is_control()) {
        return Err(ApiError::BadRequest(format!(
            "{field} must not contain control characters; found {bad:?}"
        )));
    }
    Ok(value.to_string())
}

/// A database password: `min` to `max` characters, no control characters
/// (Postgres and environment variables cannot hold a NUL; CR/LF break
/// connection strings and env files), not blank, and no spaces at either
/// end, where nobody would see them.
pub fn password(field: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    let length = value.chars().count();
    if !(min..=max).contains(&length) {
        return Err(ApiError::BadRequest(format!(
            "{field} must be {min} to {max} characters"
        )));
    }
    if value.chars().any(|c| c.is_control()) {
        return Err(ApiError::BadRequest(format!(
            "{field} must not contain control characters (NUL, tab, line breaks)"
        )));
    }
    if value.trim() != value || value.trim().is_empty() {
        return Err(ApiError::BadRequest(format!(
            "{field} must not start or end with spaces"
        )));
    }
    Ok(())
}

/// An email address, loosely: something@domain.
pub fn email(value: &str) -> ApiResult<String> {
    let email = value.trim();
    let valid = email.len() <= 320
        && email
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email.to_string())
    } else {
        Err(ApiError::BadRequest(format!(
            "{email:?} is not an email address"
        )))
    }
}

/// 20 random lowercase letters: a project ref or organization slug as
/// Supabase makes them.
pub fn random_ref() -> String {
    let mut rng = rand::rng();
    (0..20)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_plain() {
        assert_eq!(display_name("name", "  My App ").unwrap(), "My App");
        assert!(display_name("name", "").is_err());
        assert!(display_name("name", &"a".repeat(65)).is_err());
        assert!(display_name("name", &"a".repeat(64)).is_ok());
        assert!(display_name("name", "x'); DROP TABLE projects;--").is_err());
        assert!(display_name("name", "Café (staging)").is_ok());
    }

    #[test]
    fn refs_are_twenty_lowercase_letters() {
        let generated = random_ref();
        assert_eq!(generated.len(), 20);
        assert!(generated.chars().all(|c| c.is_ascii_lowercase()));
        assert_ne!(generated, random_ref());
    }

    #[test]
    fn emails_need_a_user_and_a_domain() {
        assert!(email("a@example.com").is_ok());
        assert!(email("a@b").is_err());
        assert!(email("@example.com").is_err());
        assert!(email("a b@example.com").is_err());
    }
}
