//! Names shared by the operator, the facade and the chart: written once here.

/// The API group of supaplane's resources.
pub const API_GROUP: &str = "supaplane.io";
/// The version of the resources.
pub const API_VERSION: &str = "v1alpha1";

/// Standard label naming the tool that manages an object.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// Standard label naming the application an object is part of.
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";
/// Standard label naming the component (auth, rest, database, …).
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
/// Standard label naming the instance (the project ref).
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// The value of `managed-by` and `part-of` on everything supaplane creates.
pub const MANAGED_BY_VALUE: &str = "supaplane";
/// The project ref an object belongs to.
pub const LABEL_PROJECT: &str = "supaplane.io/project";
/// The organization slug an object belongs to.
pub const LABEL_ORGANIZATION: &str = "supaplane.io/organization";
/// Set on a project namespace kept after its Project was deleted with the
/// Retain policy, so a new Project with the same ref can adopt it.
pub const LABEL_RETAINED: &str = "supaplane.io/retained";

/// The dashboard user who created a Project through the facade (counted
/// against the projects-per-user limit).
pub const LABEL_CREATED_BY: &str = "supaplane.io/created-by";

/// Set on a project namespace the facade is still creating; taken off once
/// its Project exists. The operator deletes a namespace that keeps it
/// without a Project past a grace period (what a crash mid-create left).
pub const LABEL_CREATING: &str = "supaplane.io/creating";

/// Prefix of the Project annotations that ask for a restart: one per
/// component (`restart.supaplane.io/db`, `restart.supaplane.io/auth`, …),
/// each the RFC 3339 time it was asked. The facade writes them; anyone may
/// (`kubectl annotate`).
pub const RESTART_ANNOTATION_PREFIX: &str = "restart.supaplane.io/";

/// Every workload of a project, by name: the database and the services.
pub const WORKLOADS: [&str; 7] = [
    "db", "auth", "rest", "realtime", "storage", "meta", "gateway",
];

/// On a workload's pod template: the restart it carries out (the value of
/// its restart annotation); a new value rolls the pods.
pub const ANNOTATION_RESTARTED_AT: &str = "supaplane.io/restarted-at";

/// Hash of what the operator last applied, to skip writes that change nothing.
pub const ANNOTATION_SPEC_HASH: &str = "supaplane.io/spec-hash";

/// Holds a Project until its children are torn down per its deletion policy.
pub const FINALIZER_PROJECT_TEARDOWN: &str = "supaplane.io/project-teardown";
/// Holds an Organization while it still has Projects.
pub const FINALIZER_ORGANIZATION_PROTECTION: &str = "supaplane.io/organization-protection";

/// Field manager of the operator's server-side applies.
pub const FIELD_MANAGER_OPERATOR: &str = "supaplane-operator";
/// Field manager of the facade's writes.
pub const FIELD_MANAGER_FACADE: &str = "supaplane-facade";

/// Name of the Secret in a project namespace that holds its generated keys.
pub const KEYS_SECRET_NAME: &str = "supabase-keys";
/// Default name of the Secret holding a project's database password.
pub const DATABASE_PASSWORD_SECRET_NAME: &str = "supabase-db-password";
/// Default key of the password in that Secret.
pub const DATABASE_PASSWORD_KEY: &str = "password";

/// The entries of a project's keys Secret.
pub mod keys_secret {
    pub const JWT_SECRET: &str = "jwt-secret";
    pub const ANON_KEY: &str = "anon-key";
    pub const SERVICE_ROLE_KEY: &str = "service-role-key";
    pub const POSTGRES_PASSWORD: &str = "postgres-password";
    pub const AUTHENTICATOR_PASSWORD: &str = "authenticator-password";
    pub const AUTH_ADMIN_PASSWORD: &str = "auth-admin-password";
    pub const STORAGE_ADMIN_PASSWORD: &str = "storage-admin-password";
    pub const PG_META_CRYPTO_KEY: &str = "pg-meta-crypto-key";
    pub const REALTIME_SECRET_KEY_BASE: &str = "realtime-secret-key-base";
    pub const REALTIME_DB_ENC_KEY: &str = "realtime-db-enc-key";
    /// Password of `supabase_read_only_user`, the role of Read-only members' SQL.
    pub const READ_ONLY_PASSWORD: &str = "read-only-password";
    /// Password of Realtime's admin dashboard (user `supabase`), which
    /// Realtime refuses to start without.
    pub const REALTIME_DASHBOARD_PASSWORD: &str = "realtime-dashboard-password";
    /// The pgsodium / Vault root key (64 hex characters), which must outlive
    /// every restart of the database or what Vault encrypted is lost.
    pub const PGSODIUM_ROOT_KEY: &str = "pgsodium-root-key";
    /// The Erlang cookie of the project's Realtime cluster.
    pub const REALTIME_RELEASE_COOKIE: &str = "realtime-release-cookie";
}

/// How every project's PostgREST is configured (the self-hosting defaults).
pub mod postgrest {
    /// Schemas PostgREST serves.
    pub const SCHEMAS: &str = "public,storage,graphql_public";
    /// Most rows one request returns.
    pub const MAX_ROWS: u32 = 1000;
    /// Schemas added to the search path.
    pub const EXTRA_SEARCH_PATH: &str = "public";
    /// The role of requests without a user.
    pub const ANON_ROLE: &str = "anon";
}

/// The namespace that holds a project's stack.
pub fn project_namespace(project_ref: &str) -> String {
    format!("project-{project_ref}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_namespaces_are_prefixed_refs() {
        assert_eq!(
            project_namespace("abcdefghijklmnopqrst"),
            "project-abcdefghijklmnopqrst"
        );
    }
}
