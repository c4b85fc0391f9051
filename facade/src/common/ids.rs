//! Numeric ids for Studio, which keys organizations, projects and tokens by
//! number. Derived from the object's uid, so they are stable for the
//! object's life and need no counter stored anywhere.

use supaplane_crds::digest::sha256;

/// A positive id below 2^48, exact in JavaScript numbers.
pub fn numeric_id(uid: &str) -> u64 {
    let digest = sha256(uid.as_bytes());
    let mut bytes = [0u8; 8];
    bytes[2..].copy_from_slice(&digest[..6]);
    u64::from_be_bytes(bytes).max(1)
}

/// SHA-256 of `text`, as lowercase hex: how one-time tokens are kept.
pub fn sha256_hex(text: &str) -> String {
    supaplane_crds::digest::sha256_hex(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_javascript_safe() {
        assert_eq!(numeric_id("a"), numeric_id("a"));
        assert_ne!(numeric_id("a"), numeric_id("b"));
        assert!(numeric_id("a") < 1 << 48);
        assert!(numeric_id("") >= 1);
    }
}
