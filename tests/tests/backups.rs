//! Backups, by their real commands: the script and environment the
//! operator renders into the backup Job, run against a real PostgreSQL
//! holding a schema, rows, a role and an extension; then the restore Job's
//! script, into a fresh PostgreSQL; the data compared row by row.

use std::path::Path;
use std::process::Command;

use k8s_openapi::api::batch::v1::Job;
use supaplane_crds::{Backup, BackupSpec, Project};
use supaplane_operator::render::backup::{backup_job, restore_job};
use supaplane_tests::upstreams::{PostgresServer, SUPERUSER_PASSWORD, postgres_bin_dir};

fn project() -> anyhow::Result<Project> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": "backupabcdefghijklmn", "uid": "u"},
        "spec": {"organization": "acme", "displayName": "Backups"},
    }))?)
}

fn backup(name: &str) -> Backup {
    let mut backup = Backup::new(
        name,
        BackupSpec {
            project: "backupabcdefghijklmn".into(),
            trigger: Default::default(),
        },
    );
    backup.metadata.uid = Some("b".into());
    backup
}

/// Runs a rendered Job's script with its environment, pointed at `server`
/// and `root` instead of the cluster's Service and volume.
fn run_job(job: &Job, server: &PostgresServer, root: &Path) -> anyhow::Result<String> {
    let pod = job
        .spec
        .clone()
        .and_then(|s| s.template.spec)
        .expect("a pod");
    let container = &pod.containers[0];
    let command = container.command.clone().expect("a command");
    assert_eq!(&command[..2], ["sh", "-c"]);
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(&command[2]).env_clear();
    for var in container.env.clone().unwrap_or_default() {
        let value = match var.name.as_str() {
            // What differs on this machine: the database and the volume.
            "PGHOST" => "127.0.0.1".to_string(),
            "PGPORT" => server.port.to_string(),
            "BACKUP_ROOT" => root.display().to_string(),
            // The one Secret reference: supabase_admin's password.
            "PGPASSWORD" => {
                assert!(var.value_from.is_some(), "the password by reference");
                SUPERUSER_PASSWORD.to_string()
            }
            _ => var.value.clone().expect("a plain value"),
        };
        shell.env(&var.name, value);
    }
    let path = format!("{}:/usr/bin:/bin", postgres_bin_dir()?.display());
    shell
        .env("PATH", path)
        .env("TERMINATION_LOG", root.join("termination-log"));
    let output = shell.output()?;
    anyhow::ensure!(
        output.status.success(),
        "the Job's script failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

const CONTENTS: &str =
    "select o.id, o.item, o.customer, o.price, o.placed_at from shop.orders o order by o.id";

#[test]
fn a_backup_restores_into_a_fresh_database_with_identical_data() -> anyhow::Result<()> {
    let source = PostgresServer::start()?;
    source.psql(
        "create extension citext; \
         create schema shop; \
         create table shop.orders (id serial primary key, item text not null, customer citext, \
           price numeric(10,2), placed_at timestamptz default '2026-12-01 10:00:00+00'); \
         insert into shop.orders (item, customer, price) \
           select 'item ' || n, 'Customer' || (n % 7), n * 1.25 from generate_series(1, 500) n; \
         insert into shop.orders (item, customer, price) values ('quote''s \"and\" tab\t', NULL, NULL); \
         create role reporter login password 'reporter-password'; \
         grant usage on schema shop to reporter; grant select on shop.orders to reporter;",
    )?;
    let before = source.psql(CONTENTS)?;
    assert_eq!(before.lines().count(), 501);

    let project = project()?;
    let root = std::env::temp_dir().join(format!(
        "supaplane-backups-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&root)?;
    let taken = backup("nightly-20261201");
    run_job(&backup_job(&project, &taken), &source, &root)?;
    let directory = root.join("nightly-20261201");
    assert!(directory.join("database.dump").is_file());
    assert!(
        !root.join("nightly-20261201.partial").exists(),
        "renamed when whole"
    );
    let roles = std::fs::read_to_string(directory.join("roles.sql"))?;
    assert!(roles.contains("\"reporter\""), "the user's role is kept");
    assert!(
        !roles.contains("CREATE ROLE \"supabase_admin\"")
            && !roles.contains("ALTER ROLE \"postgres\""),
        "the image's own roles are not carried over"
    );
    let size_kib: u64 = std::fs::read_to_string(root.join("termination-log"))?
        .trim()
        .parse()?;
    assert!(size_kib > 0);

    // Into a fresh instance: same rows, the role with its password, the extension.
    let target = PostgresServer::start()?;
    run_job(&restore_job(&project, &taken), &target, &root)?;
    assert_eq!(target.psql(CONTENTS)?, before, "row by row");
    assert!(target.can_log_in("reporter", "reporter-password")?);
    assert_eq!(
        target
            .psql("select extname from pg_extension where extname = 'citext'")?
            .trim(),
        "citext"
    );
    assert_eq!(
        target
            .psql("select has_table_privilege('reporter', 'shop.orders', 'select')")?
            .trim(),
        "t"
    );

    // Again, over data changed since: the backup wins, nothing doubles.
    target.psql(
        "delete from shop.orders where id <= 250; insert into shop.orders (item) values ('later')",
    )?;
    run_job(&restore_job(&project, &taken), &target, &root)?;
    assert_eq!(target.psql(CONTENTS)?, before);

    // A backup not on the volume fails with a message, changing nothing.
    let missing = restore_job(&project, &backup("never-taken"));
    let refused = run_job(&missing, &target, &root).expect_err("no such backup");
    assert!(
        refused.to_string().contains("not on the backup volume"),
        "{refused}"
    );
    assert_eq!(target.psql(CONTENTS)?, before);
    std::fs::remove_dir_all(&root)?;
    Ok(())
}
