//! Every image a project runs, pinned in one place: the versions of the
//! official self-hosting stack (supabase/supabase docker/docker-compose.yml)
//! at the release supaplane follows. A project may override each one.

use crate::PostgresVersion;

/// The pinned image of each component.
pub struct Images {
    /// Postgres 15 (`docker-compose.yml`).
    pub postgres_15: &'static str,
    /// Postgres 17 (`docker-compose.pg17.yml`).
    pub postgres_17: &'static str,
    pub auth: &'static str,
    pub rest: &'static str,
    pub realtime: &'static str,
    pub storage: &'static str,
    pub imgproxy: &'static str,
    pub meta: &'static str,
    pub gateway: &'static str,
    /// The S3 client of backup Jobs when backups go to a bucket: curl's
    /// own image (Alpine, `sh`, curl with `--aws-sigv4`; user `curl_user`).
    pub s3_client: &'static str,
}

pub const PINNED: Images = Images {
    postgres_15: "supabase/postgres:15.8.1.085",
    postgres_17: "supabase/postgres:17.6.1.084",
    auth: "supabase/gotrue:v2.186.0",
    rest: "postgrest/postgrest:v14.5",
    realtime: "supabase/realtime:v2.78.15",
    storage: "supabase/storage-api:v1.44.2",
    imgproxy: "darthsim/imgproxy:v3.30.1",
    meta: "supabase/postgres-meta:v0.95.2",
    gateway: "kong:2.8.1",
    s3_client: "curlimages/curl:8.11.1",
};

/// The image to run: the project's override, else the pinned one.
pub fn image_or_pinned(overridden: Option<&String>, pinned: &'static str) -> String {
    overridden.cloned().unwrap_or_else(|| pinned.to_string())
}

/// The pinned image of a Postgres major version.
pub fn postgres(version: PostgresVersion) -> &'static str {
    match version {
        PostgresVersion::V15 => PINNED.postgres_15,
        PostgresVersion::V17 => PINNED.postgres_17,
    }
}

/// The full Postgres version the pinned image of `version` runs (its tag).
pub fn postgres_release(version: PostgresVersion) -> &'static str {
    postgres(version)
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_postgres_version_runs_an_image_of_that_major_version() {
        for version in PostgresVersion::ALL {
            let release = postgres_release(version);
            assert!(
                release.starts_with(&format!("{}.", version.major())),
                "{version:?} pins {release}"
            );
        }
    }
}

#[cfg(test)]
mod readme {
    use super::PINNED;

    #[test]
    fn the_readme_names_every_pinned_image() {
        let readme = include_str!("../../README.md");
        for image in [
            PINNED.postgres_15,
            PINNED.postgres_17,
            PINNED.auth,
            PINNED.rest,
            PINNED.realtime,
            PINNED.storage,
            PINNED.imgproxy,
            PINNED.meta,
            PINNED.gateway,
            PINNED.s3_client,
        ] {
            assert!(
                readme.contains(&format!("`{image}`")),
                "README's image table does not name {image}"
            );
        }
    }
}
