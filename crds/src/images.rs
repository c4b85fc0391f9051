//! Every image a project runs, pinned in one place: the versions of the
//! official self-hosting stack (supabase/supabase docker/docker-compose.yml)
//! at the release supaplane follows. A project may override each one.

/// The pinned image of each component.
pub struct Images {
    pub postgres: &'static str,
    pub auth: &'static str,
    pub rest: &'static str,
    pub realtime: &'static str,
    pub storage: &'static str,
    pub imgproxy: &'static str,
    pub meta: &'static str,
    pub gateway: &'static str,
}

pub const PINNED: Images = Images {
    postgres: "supabase/postgres:15.8.1.085",
    auth: "supabase/gotrue:v2.186.0",
    rest: "postgrest/postgrest:v14.5",
    realtime: "supabase/realtime:v2.78.15",
    storage: "supabase/storage-api:v1.44.2",
    imgproxy: "darthsim/imgproxy:v3.30.1",
    meta: "supabase/postgres-meta:v0.95.2",
    gateway: "kong:2.8.1",
};

/// The image to run: the project's override, else the pinned one.
pub fn image_or_pinned(overridden: Option<&String>, pinned: &'static str) -> String {
    overridden.cloned().unwrap_or_else(|| pinned.to_string())
}

/// The Postgres major version the pinned image runs: the one version a
/// project can be created with.
pub fn pinned_postgres_major() -> &'static str {
    pinned_postgres_version()
        .split('.')
        .next()
        .unwrap_or_default()
}

/// The full version of the pinned Postgres image (its tag).
pub fn pinned_postgres_version() -> &'static str {
    PINNED
        .postgres
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pinned_postgres_version_comes_from_the_image_tag() {
        assert_eq!(pinned_postgres_major(), "15");
        assert!(pinned_postgres_version().starts_with("15."));
    }
}

#[cfg(test)]
mod readme {
    use super::PINNED;

    #[test]
    fn the_readme_names_every_pinned_image() {
        let readme = include_str!("../../README.md");
        for image in [
            PINNED.postgres,
            PINNED.auth,
            PINNED.rest,
            PINNED.realtime,
            PINNED.storage,
            PINNED.imgproxy,
            PINNED.meta,
            PINNED.gateway,
        ] {
            assert!(
                readme.contains(&format!("`{image}`")),
                "README's image table does not name {image}"
            );
        }
    }
}
