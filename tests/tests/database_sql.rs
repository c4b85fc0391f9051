//! The operator's init SQL, run by psql against a real PostgreSQL as the
//! database image runs it: each service role gets the password from the
//! keys Secret, and the read-only role can log in for Read-only members.

use supaplane_operator::render::database::init_sql;
use supaplane_tests::upstreams::PostgresServer;

#[test]
fn roles_sql_sets_every_service_password() -> anyhow::Result<()> {
    let database = PostgresServer::start()?;
    // The roles the supabase/postgres image creates before running it.
    database.psql(
        "create role pgbouncer login; create role authenticator login; \
         create role supabase_auth_admin login; create role supabase_storage_admin login; \
         alter role supabase_read_only_user nologin password null",
    )?;
    let roles = init_sql("roles.sql").expect("roles.sql is rendered");
    let passwords = [
        ("POSTGRES_PASSWORD", "admin-pw-1"),
        ("AUTHENTICATOR_PASSWORD", "authenticator-pw-2"),
        ("AUTH_ADMIN_PASSWORD", "auth-pw-3"),
        ("STORAGE_ADMIN_PASSWORD", "storage-pw-4"),
        ("READ_ONLY_PASSWORD", "it's \"quoted\"; drop role x"),
    ];
    database.psql_script(roles, &passwords)?;
    for (role, password) in [
        ("supabase_admin", "admin-pw-1"),
        ("pgbouncer", "admin-pw-1"),
        ("authenticator", "authenticator-pw-2"),
        ("supabase_auth_admin", "auth-pw-3"),
        ("supabase_storage_admin", "storage-pw-4"),
        ("supabase_read_only_user", "it's \"quoted\"; drop role x"),
    ] {
        assert!(database.can_log_in(role, password)?, "{role} cannot log in");
        assert!(
            !database.can_log_in(role, "wrong")?,
            "{role} accepts any password"
        );
    }
    Ok(())
}
