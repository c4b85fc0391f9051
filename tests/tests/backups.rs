//! Backups, by their real commands: the script and environment the
//! operator renders into the backup Job, run against a real PostgreSQL
//! holding a schema, rows, a role and an extension; then the restore Job's
//! script, into a fresh PostgreSQL; the data compared row by row.

use std::path::Path;
use std::process::Command;

use k8s_openapi::api::batch::v1::Job;
use supaplane_crds::{Backup, BackupSpec, Project, Restore, RestoreSpec};
use supaplane_operator::render::backup::{Store, backup_job, prune_job, restore_job};
use supaplane_tests::upstreams::{
    MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MinioServer, PostgresServer, SUPERUSER_PASSWORD,
    postgres_bin_dir,
};

fn project() -> anyhow::Result<Project> {
    Ok(Project::test("backupabcdefghijklmn").displayed_as("Backups"))
}

fn restore_of(backup: &str) -> Restore {
    let mut restore = Restore::new(
        &format!("restore-of-{backup}"),
        RestoreSpec {
            project: "backupabcdefghijklmn".into(),
            backup: backup.into(),
            source_project: None,
        },
    );
    restore.metadata.uid = Some("r".into());
    restore
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

/// Runs a rendered Job's containers (init containers first) with their
/// environment, pointed at `server` and `root` instead of the cluster's
/// Service and volume (or scratch directory); `overrides` replace values.
fn run_pod(
    job: &Job,
    server: Option<&PostgresServer>,
    root: &Path,
    overrides: &[(&str, &str)],
) -> anyhow::Result<String> {
    let pod = job
        .spec
        .clone()
        .and_then(|s| s.template.spec)
        .expect("a pod");
    let mut stdout = String::new();
    let containers = pod.init_containers.clone().unwrap_or_default();
    for container in containers.iter().chain(&pod.containers) {
        let command = container.command.clone().expect("a command");
        assert_eq!(&command[..2], ["sh", "-c"]);
        let mut shell = Command::new("sh");
        shell.arg("-c").arg(&command[2]).env_clear();
        for var in container.env.clone().unwrap_or_default() {
            let value = match (var.name.as_str(), server) {
                (name, _) if overrides.iter().any(|(n, _)| *n == name) => overrides
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
                    .unwrap_or_default(),
                // What differs on this machine: the database and the volume.
                ("PGHOST", _) => "127.0.0.1".to_string(),
                ("PGPORT", Some(server)) => server.port.to_string(),
                ("BACKUP_ROOT", _) => root.display().to_string(),
                // The Secret references: supabase_admin's password (the
                // project's own, or the restored-into project's copy) and
                // the bucket's keys.
                ("PGPASSWORD", _) => {
                    assert!(var.value_from.is_some(), "the password by reference");
                    SUPERUSER_PASSWORD.to_string()
                }
                ("AWS_ACCESS_KEY_ID", _) => {
                    assert!(var.value_from.is_some(), "the key by reference");
                    MINIO_ACCESS_KEY.to_string()
                }
                ("AWS_SECRET_ACCESS_KEY", _) => {
                    assert!(var.value_from.is_some(), "the key by reference");
                    MINIO_SECRET_KEY.to_string()
                }
                _ => var.value.clone().expect("a plain value"),
            };
            shell.env(&var.name, value);
        }
        // What `envFrom` would bring in.
        if container.env_from.is_some() {
            for (name, value) in overrides {
                shell.env(name, value);
            }
        }
        let path = format!("{}:/usr/bin:/bin", postgres_bin_dir()?.display());
        shell
            .env("PATH", path)
            .env("TERMINATION_LOG", root.join("termination-log"));
        let output = shell.output()?;
        anyhow::ensure!(
            output.status.success(),
            "the Job's {} step failed: {}{}",
            container.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        stdout.push_str(&String::from_utf8_lossy(&output.stdout));
    }
    Ok(stdout)
}

fn run_job(job: &Job, server: &PostgresServer, root: &Path) -> anyhow::Result<String> {
    run_pod(job, Some(server), root, &[])
}

const CONTENTS: &str =
    "select o.id, o.item, o.customer, o.price, o.placed_at from shop.orders o order by o.id";

/// A PostgreSQL with a schema, rows, a role and an extension: it and its
/// rows as [`CONTENTS`] reads them.
fn filled_database() -> anyhow::Result<(PostgresServer, String)> {
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
    Ok((source, before))
}

/// A directory of the test's own, removed when dropped (or by `close`).
fn scratch() -> anyhow::Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new()
        .prefix("supaplane-backups-")
        .tempdir()?)
}

/// With `spec.backups.s3`: the backup Job dumps, then uploads with curl's
/// signing to a real MinIO; the restore Job downloads and restores into a
/// fresh PostgreSQL, row by row; a backup not whole in the bucket fails
/// with a message; the prune Job removes the objects of Backups gone and
/// leaves kept and unfinished ones.
#[test]
fn a_backup_in_a_bucket_restores_and_is_pruned() -> anyhow::Result<()> {
    let (source, before) = filled_database()?;
    let minio = MinioServer::start()?;
    assert_eq!(minio.request("PUT", "/backups")?, 200, "the bucket made");
    let mut project = project()?;
    project.spec.backups.s3 = Some(serde_json::from_value(serde_json::json!({
        "bucket": "backups", "region": "us-east-1", "endpoint": minio.endpoint(),
        "forcePathStyle": true, "credentialsSecretName": "backup-s3", "prefix": "nightly/db",
    }))?);
    let with_status = |name: &str, store: Store<'_>| -> Backup {
        let mut taken = backup(name);
        taken.status = Some(supaplane_crds::BackupStatus {
            phase: supaplane_crds::BackupPhase::Completed,
            location: Some(store.location(name)),
            ..Default::default()
        });
        taken
    };

    let scratch_directory = scratch()?;
    let root = scratch_directory.path();
    let job = backup_job(&project, &backup("b1"));
    let pod = job.spec.clone().and_then(|s| s.template.spec).expect("pod");
    assert_eq!(
        pod.init_containers.as_ref().map(|c| c[0].name.as_str()),
        Some("backup"),
        "the dump first"
    );
    assert_eq!(
        pod.containers[0].image.as_deref(),
        Some(supaplane_crds::images::PINNED.s3_client)
    );
    run_job(&job, &source, root)?;
    assert_eq!(
        minio.request("HEAD", "/backups/nightly/db/b1/complete")?,
        200
    );
    assert_eq!(
        minio.request("HEAD", "/backups/nightly/db/b1/database.dump")?,
        200
    );
    let size_kib: u64 = std::fs::read_to_string(root.join("termination-log"))?
        .trim()
        .parse()?;
    assert!(size_kib > 0);
    let store = Store::of(&project);
    assert_eq!(store.location("b1"), "s3://backups/nightly/db/b1");

    // Into a fresh instance, from the bucket alone (a new scratch directory).
    let target = PostgresServer::start()?;
    let taken = with_status("b1", store);
    let found = Store::of_backup(&project, &taken).map_err(anyhow::Error::msg)?;
    assert!(matches!(found, Store::Bucket(_)));
    let restore = restore_job(&project, &project, &restore_of("b1"), &taken, found);
    run_job(&restore, &target, scratch()?.path())?;
    assert_eq!(target.psql(CONTENTS)?, before, "row by row");
    assert!(target.can_log_in("reporter", "reporter-password")?);

    // Not in the bucket: the download step says so; nothing changes.
    let missing = with_status("never-taken", store);
    let refused = run_job(
        &restore_job(
            &project,
            &project,
            &restore_of("never-taken"),
            &missing,
            store,
        ),
        &target,
        scratch()?.path(),
    )
    .expect_err("no such backup");
    assert!(
        refused.to_string().contains("not in the bucket"),
        "{refused}"
    );
    assert_eq!(target.psql(CONTENTS)?, before);

    // A bucket the project no longer names: refused before any Job.
    let mut moved = project.clone();
    moved.spec.backups.s3 = None;
    let elsewhere = Store::of_backup(&moved, &taken).err().unwrap_or_default();
    assert!(elsewhere.contains("no longer names"), "{elsewhere}");

    // Prune: b1's Backup gone, b2 kept, an unfinished one left alone.
    run_job(
        &backup_job(&project, &backup("b2")),
        &source,
        scratch()?.path(),
    )?;
    assert_eq!(
        minio.request("PUT", "/backups/nightly/db/unfinished/roles.sql")?,
        200
    );
    run_pod(
        &prune_job(&project, &["b2".to_string()]),
        None,
        root,
        &[("PRUNE_MIN_AGE_MINUTES", "0")],
    )?;
    for file in ["complete", "roles.sql", "database.dump"] {
        assert_eq!(
            minio.request("HEAD", &format!("/backups/nightly/db/b1/{file}"))?,
            404,
            "{file}"
        );
    }
    assert_eq!(
        minio.request("HEAD", "/backups/nightly/db/b2/complete")?,
        200
    );
    assert_eq!(
        minio.request("HEAD", "/backups/nightly/db/unfinished/roles.sql")?,
        200
    );
    scratch_directory.close()?;
    Ok(())
}

#[test]
fn a_backup_restores_into_a_fresh_database_with_identical_data() -> anyhow::Result<()> {
    let (source, before) = filled_database()?;

    let project = project()?;
    let scratch_directory = scratch()?;
    let root = scratch_directory.path();
    let taken = backup("nightly-20261201");
    run_job(&backup_job(&project, &taken), &source, root)?;
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
    run_job(
        &restore_job(
            &project,
            &project,
            &restore_of("nightly-20261201"),
            &taken,
            Store::Volume,
        ),
        &target,
        root,
    )?;
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
    run_job(
        &restore_job(
            &project,
            &project,
            &restore_of("nightly-20261201"),
            &taken,
            Store::Volume,
        ),
        &target,
        root,
    )?;
    assert_eq!(target.psql(CONTENTS)?, before);

    // A backup not on the volume fails with a message, changing nothing.
    let missing = restore_job(
        &project,
        &project,
        &restore_of("never-taken"),
        &backup("never-taken"),
        Store::Volume,
    );
    let refused = run_job(&missing, &target, root).expect_err("no such backup");
    assert!(
        refused.to_string().contains("not on the backup volume"),
        "{refused}"
    );
    assert_eq!(target.psql(CONTENTS)?, before);

    // Into a new project, from this one's volume: the Job made for another
    // project's Restore reaches that project's database, with its image.
    let new_project: Project = serde_json::from_value(serde_json::json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": "clonedabcdefghijklmn", "uid": "n"},
        "spec": {"organization": "acme", "displayName": "Made from a backup",
                 "restoreFrom": {"project": "backupabcdefghijklmn", "backup": "nightly-20261201"}},
    }))?;
    let mut into_new = Restore::new(
        supaplane_crds::restore::INITIAL_RESTORE_NAME,
        RestoreSpec {
            project: "clonedabcdefghijklmn".into(),
            backup: "nightly-20261201".into(),
            source_project: Some("backupabcdefghijklmn".into()),
        },
    );
    into_new.metadata.uid = Some("i".into());
    let job = restore_job(&project, &new_project, &into_new, &taken, Store::Volume);
    assert_eq!(
        job.metadata.namespace.as_deref(),
        Some("project-backupabcdefghijklmn"),
        "where the backup volume is"
    );
    let env = job
        .spec
        .clone()
        .and_then(|s| s.template.spec)
        .expect("pod")
        .containers[0]
        .env
        .clone()
        .unwrap_or_default();
    assert!(
        env.iter().any(|e| e.name == "PGHOST"
            && e.value.as_deref() == Some("db.project-clonedabcdefghijklmn.svc"))
    );
    let new_instance = PostgresServer::start()?;
    run_job(&job, &new_instance, root)?;
    assert_eq!(new_instance.psql(CONTENTS)?, before, "row by row");
    assert!(new_instance.can_log_in("reporter", "reporter-password")?);
    scratch_directory.close()?;
    Ok(())
}

mod on_the_control_plane {
    use std::sync::Arc;
    use std::time::Duration;

    use k8s_openapi::api::batch::v1::Job;
    use kube::api::{Patch, PatchParams, PostParams};
    use kube::{Api, ResourceExt};
    use serde_json::json;
    use supaplane_crds::constants::project_namespace;
    use supaplane_crds::{Backup, BackupPhase, Project};
    use supaplane_operator::{backup_controller, project_controller};
    use supaplane_tests::harness::{TestCluster, finish_job, unique_name, wait_deleted, wait_for};

    const TIMEOUT: Duration = Duration::from_secs(90);
    const RUN_LABEL: &str = "supaplane.io/test-run";

    async fn finish(
        client: &kube::Client,
        namespace: &str,
        backup: &str,
        ok: bool,
        message: &str,
    ) -> anyhow::Result<()> {
        finish_job(
            client,
            namespace,
            &format!("backup-{backup}"),
            ("supaplane.io/backup", backup),
            ok,
            message,
        )
        .await
    }

    /// The operator as the chart's service account, so the chart's RBAC
    /// decides: its user name and a client acting as it.
    async fn chart_operator(cluster: &TestCluster) -> anyhow::Result<(String, kube::Client)> {
        let release = supaplane_tests::chart::RELEASE_NAMESPACE;
        supaplane_tests::chart::install_rbac(cluster, release).await?;
        let user = format!("system:serviceaccount:{release}:supaplane-operator");
        let client = cluster.client_impersonating(&user).await?;
        Ok((user, client))
    }

    /// From the audit log: nothing `user` asked was refused, and it did each
    /// of `wanted` (`"<verb> <resource>"`).
    fn assert_allowed_and_used(
        cluster: &TestCluster,
        user: &str,
        wanted: &[&str],
    ) -> anyhow::Result<()> {
        let audit = cluster.audit().expect("our control plane");
        let mut used = std::collections::BTreeSet::new();
        for event in audit
            .all()?
            .iter()
            .filter(|e| e.acting_user() == user && e.object_ref.is_some())
        {
            assert_ne!(
                event.code(),
                403,
                "{user} was refused {} {}",
                event.verb,
                event.request_uri
            );
            used.insert(format!("{} {}", event.verb, event.resource()));
        }
        for wanted in wanted {
            assert!(
                used.contains(*wanted),
                "the operator never did {wanted}: {used:?}"
            );
        }
        Ok(())
    }

    fn phase_is(phase: BackupPhase) -> impl Fn(Option<&Backup>) -> bool {
        move |b: Option<&Backup>| {
            b.and_then(|b| b.status.as_ref())
                .is_some_and(|s| s.phase == phase)
        }
    }

    /// A Backup asked for on demand runs its Job and reports its size; a
    /// failing one says why; the schedule takes its own; retention keeps the
    /// newest and a Job removes the files of the rest; a paused project
    /// waits.
    #[tokio::test]
    async fn backups_run_as_jobs_are_scheduled_and_pruned() -> anyhow::Result<()> {
        let cluster = TestCluster::start().await?;
        if !cluster.writes_workload_status() {
            return Ok(());
        }
        let client = cluster.client();
        let run_id = unique_name("run");
        let selector = format!("{RUN_LABEL}={run_id}");
        let (user, operator) = chart_operator(&cluster).await?;
        let projects_task = tokio::spawn(project_controller::run(Arc::new(
            project_controller::Context {
                client: operator.clone(),
                metrics: Default::default(),
                settings: Default::default(),
                selector: Some(selector.clone()),
                children: Default::default(),
            },
        )));
        let backups_task = tokio::spawn(backup_controller::run(Arc::new(
            backup_controller::Context {
                client: operator.clone(),
                metrics: Default::default(),
                selector: Some(selector.clone()),
            },
        )));
        let name = unique_name("p");
        let projects: Api<Project> = Api::all(client.clone());
        projects.create(&PostParams::default(), &serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
            "metadata": {"name": name, "labels": {RUN_LABEL: run_id}},
            "spec": {"organization": "acme", "displayName": "Backed up", "deletionPolicy": "Delete",
                     "backups": {"schedule": "* * * * *", "keep": 5}},
        }))?).await?;
        let namespace = project_namespace(&name);
        let backups: Api<Backup> = Api::namespaced(client.clone(), &namespace);
        let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
        wait_for(
            &Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone()),
            &namespace,
            |n: Option<&k8s_openapi::api::core::v1::Namespace>| n.is_some(),
            TIMEOUT,
        )
        .await?;

        // On demand, as kubectl (or Studio, or /v1) makes it.
        let backup = |name: &str| -> anyhow::Result<Backup> {
            Ok(serde_json::from_value(
                json!({"apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
                "metadata": {"name": name}, "spec": {"project": name_of_project(&namespace)}}),
            )?)
        };
        fn name_of_project(namespace: &str) -> String {
            namespace.trim_start_matches("project-").to_string()
        }
        backups
            .create(&PostParams::default(), &backup("manual-1")?)
            .await?;
        let job = wait_for(
            &jobs,
            "backup-manual-1",
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        let container = job
            .spec
            .clone()
            .and_then(|s| s.template.spec)
            .expect("pod")
            .containers[0]
            .clone();
        assert!(
            container
                .image
                .as_deref()
                .is_some_and(|i| i.starts_with("supabase/postgres:"))
        );
        wait_for(
            &backups,
            "manual-1",
            phase_is(BackupPhase::Pending),
            TIMEOUT,
        )
        .await?;
        finish(&client, &namespace, "manual-1", true, "2048").await?;
        let done = wait_for(
            &backups,
            "manual-1",
            phase_is(BackupPhase::Completed),
            TIMEOUT,
        )
        .await?;
        let status = done.status.expect("status");
        assert_eq!(status.size_bytes, Some(2048 * 1024));
        assert_eq!(status.location.as_deref(), Some("pvc://backups/manual-1"));

        // A failing one says why, from the Job and from its output.
        backups
            .create(&PostParams::default(), &backup("manual-2")?)
            .await?;
        wait_for(
            &jobs,
            "backup-manual-2",
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        finish(
            &client,
            &namespace,
            "manual-2",
            false,
            "pg_dump: error: connection to server failed",
        )
        .await?;
        let failed = wait_for(&backups, "manual-2", phase_is(BackupPhase::Failed), TIMEOUT).await?;
        let reason = failed.status.and_then(|s| s.reason).unwrap_or_default();
        assert!(
            reason.contains("backoff limit") && reason.contains("pg_dump: error"),
            "{reason}"
        );

        // The schedule (every minute) takes its own, named after its time.
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        let scheduled = loop {
            let listed = backups.list(&Default::default()).await?;
            if let Some(found) = listed.items.into_iter().find(|b| {
                b.metadata
                    .name
                    .as_deref()
                    .is_some_and(|n| n.starts_with("scheduled-"))
            }) {
                break found;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "no scheduled backup"
            );
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        assert_eq!(
            scheduled.spec.trigger,
            supaplane_crds::BackupTrigger::Scheduled
        );

        // Retention: keep one completed backup; the older goes, and a Job
        // removes the files of what is gone.
        backups
            .create(&PostParams::default(), &backup("manual-3")?)
            .await?;
        wait_for(
            &jobs,
            "backup-manual-3",
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        finish(&client, &namespace, "manual-3", true, "4096").await?;
        wait_for(
            &backups,
            "manual-3",
            phase_is(BackupPhase::Completed),
            TIMEOUT,
        )
        .await?;
        projects
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"backups": {"keep": 1}}})),
            )
            .await?;
        wait_deleted(&backups, "manual-1", TIMEOUT).await?;
        assert!(backups.get_opt("manual-3").await?.is_some());
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let prunes = jobs.list(&Default::default()).await?;
            let kept = prunes
                .items
                .iter()
                .filter(|j| {
                    j.metadata
                        .name
                        .as_deref()
                        .is_some_and(|n| n.starts_with("prune-backups-"))
                })
                .filter_map(|j| j.spec.clone()?.template.spec?.containers[0].env.clone())
                .flatten()
                .filter(|e| e.name == "KEPT_BACKUPS")
                .filter_map(|e| e.value)
                .find(|kept| kept.contains("manual-3") && !kept.contains("manual-1"));
            if kept.is_some() {
                break;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "no prune Job without manual-1"
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        // Paused: a new backup waits, saying why.
        projects
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"paused": true}})),
            )
            .await?;
        wait_for(
            &projects,
            &name,
            |p: Option<&Project>| p.is_some_and(|p| p.spec.paused),
            TIMEOUT,
        )
        .await?;
        backups
            .create(&PostParams::default(), &backup("while-paused")?)
            .await?;
        let waiting = wait_for(
            &backups,
            "while-paused",
            |b: Option<&Backup>| {
                b.and_then(|b| b.status.as_ref())
                    .and_then(|s| s.reason.as_deref())
                    .is_some_and(|r| r.contains("paused"))
            },
            TIMEOUT,
        )
        .await?;
        assert_eq!(waiting.status.expect("status").phase, BackupPhase::Pending);
        assert!(jobs.get_opt("backup-while-paused").await?.is_none());

        projects.delete(&name, &Default::default()).await?;
        projects_task.abort();
        backups_task.abort();

        // Nothing refused, and the chart's backup rules all used (the RBAC
        // test leaves these to this one: the schedule takes a minute).
        assert_allowed_and_used(
            &cluster,
            &user,
            &[
                "create backups",
                "delete backups",
                "get backups",
                "list backups",
                "watch backups",
                "patch backups/status",
                "patch jobs",
                "get jobs",
                "list jobs",
                "watch jobs",
                "list pods",
            ],
        )?;
        Ok(())
    }

    /// A restore in place: refused while another runs, of a paused project or
    /// of a backup not complete; otherwise the services stop and the status
    /// says RESTORING while the Job runs, and then the services come back,
    /// or the status says RESTORE_FAILED with the reason.
    #[tokio::test]
    async fn a_restore_stops_the_services_runs_its_job_and_reports() -> anyhow::Result<()> {
        use k8s_openapi::api::apps::v1::Deployment;
        use supaplane_crds::restore::{ANNOTATION_RESTORE_FAILED, ANNOTATION_RESTORING};
        use supaplane_crds::{Restore, RestorePhase, SupabaseStatus};
        use supaplane_operator::restore_controller;
        let cluster = TestCluster::start().await?;
        if !cluster.writes_workload_status() {
            return Ok(());
        }
        let client = cluster.client();
        let run_id = unique_name("run");
        let selector = format!("{RUN_LABEL}={run_id}");
        let (user, operator) = chart_operator(&cluster).await?;
        let tasks = [
            tokio::spawn(project_controller::run(Arc::new(
                project_controller::Context {
                    client: operator.clone(),
                    metrics: Default::default(),
                    settings: Default::default(),
                    selector: Some(selector.clone()),
                    children: Default::default(),
                },
            ))),
            tokio::spawn(backup_controller::run(Arc::new(
                backup_controller::Context {
                    client: operator.clone(),
                    metrics: Default::default(),
                    selector: Some(selector.clone()),
                },
            ))),
            tokio::spawn(restore_controller::run(Arc::new(
                restore_controller::Context {
                    client: operator.clone(),
                    metrics: Default::default(),
                    selector: Some(selector.clone()),
                },
            ))),
        ];
        let name = unique_name("p");
        let projects: Api<Project> = Api::all(client.clone());
        projects
            .create(&PostParams::default(), &serde_json::from_value(json!({
                "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
                "metadata": {"name": name, "labels": {RUN_LABEL: run_id}},
                "spec": {"organization": "acme", "displayName": "Restored", "deletionPolicy": "Delete"},
            }))?)
            .await?;
        let namespace = project_namespace(&name);
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
        let replicas = |count: i32| {
            move |d: Option<&Deployment>| d.and_then(|d| d.spec.replicas) == Some(count)
        };
        wait_for(&deployments, "auth", replicas(1), TIMEOUT).await?;
        let backups: Api<Backup> = Api::namespaced(client.clone(), &namespace);
        let restores: Api<Restore> = Api::namespaced(client.clone(), &namespace);
        let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
        let object = |kind: &str, name: &str, spec: serde_json::Value| -> serde_json::Value {
            json!({"apiVersion": "supaplane.io/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec})
        };
        backups
            .create(
                &PostParams::default(),
                &serde_json::from_value(object("Backup", "nightly", json!({"project": name})))?,
            )
            .await?;
        wait_for(
            &jobs,
            "backup-nightly",
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        finish(&client, &namespace, "nightly", true, "100").await?;
        wait_for(
            &backups,
            "nightly",
            phase_is(BackupPhase::Completed),
            TIMEOUT,
        )
        .await?;
        let restore_phase = |phase: RestorePhase| {
            move |r: Option<&Restore>| {
                r.and_then(|r| r.status.as_ref())
                    .is_some_and(|s| s.phase == phase)
            }
        };

        // From a backup that is not there: refused, nothing stops.
        restores
            .create(
                &PostParams::default(),
                &serde_json::from_value(object(
                    "Restore",
                    "from-nothing",
                    json!({"project": name, "backup": "missing"}),
                ))?,
            )
            .await?;
        let refused = wait_for(
            &restores,
            "from-nothing",
            restore_phase(RestorePhase::Failed),
            TIMEOUT,
        )
        .await?;
        assert!(
            refused
                .status
                .and_then(|s| s.reason)
                .unwrap_or_default()
                .contains("not a completed backup")
        );

        // The restore: services stop, status RESTORING, the Job runs.
        restores
            .create(
                &PostParams::default(),
                &serde_json::from_value(object(
                    "Restore",
                    "first",
                    json!({"project": name, "backup": "nightly"}),
                ))?,
            )
            .await?;
        wait_for(
            &restores,
            "first",
            restore_phase(RestorePhase::Running),
            TIMEOUT,
        )
        .await?;
        let job = wait_for(
            &jobs,
            "restore-first",
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        let env = job
            .spec
            .and_then(|s| s.template.spec)
            .expect("pod")
            .containers[0]
            .env
            .clone()
            .unwrap_or_default();
        assert!(
            env.iter()
                .any(|e| e.name == "BACKUP_NAME" && e.value.as_deref() == Some("nightly"))
        );
        wait_for(&deployments, "auth", replicas(0), TIMEOUT).await?;
        let restoring = wait_for(
            &projects,
            &name,
            |p: Option<&Project>| {
                p.and_then(|p| p.status.as_ref())
                    .is_some_and(|s| s.status == Some(SupabaseStatus::Restoring))
            },
            TIMEOUT,
        )
        .await?;
        assert_eq!(
            restoring
                .annotations()
                .get(ANNOTATION_RESTORING)
                .map(String::as_str),
            Some("first")
        );

        // Another while it runs: refused.
        restores
            .create(
                &PostParams::default(),
                &serde_json::from_value(object(
                    "Restore",
                    "second",
                    json!({"project": name, "backup": "nightly"}),
                ))?,
            )
            .await?;
        let second = wait_for(
            &restores,
            "second",
            restore_phase(RestorePhase::Failed),
            TIMEOUT,
        )
        .await?;
        assert!(
            second
                .status
                .and_then(|s| s.reason)
                .unwrap_or_default()
                .contains("still running")
        );

        // Done: the mark goes, the services come back.
        finish_job(
            &client,
            &namespace,
            "restore-first",
            ("supaplane.io/restore", "first"),
            true,
            "",
        )
        .await?;
        wait_for(
            &restores,
            "first",
            restore_phase(RestorePhase::Completed),
            TIMEOUT,
        )
        .await?;
        wait_for(&deployments, "auth", replicas(1), TIMEOUT).await?;
        let after = projects.get(&name).await?;
        assert!(after.annotations().get(ANNOTATION_RESTORING).is_none());

        // A failing one: the services come back, the status says why.
        restores
            .create(
                &PostParams::default(),
                &serde_json::from_value(object(
                    "Restore",
                    "third",
                    json!({"project": name, "backup": "nightly"}),
                ))?,
            )
            .await?;
        wait_for(
            &jobs,
            "restore-third",
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        finish_job(
            &client,
            &namespace,
            "restore-third",
            ("supaplane.io/restore", "third"),
            false,
            "pg_restore: error: could not execute query",
        )
        .await?;
        let failed = wait_for(
            &restores,
            "third",
            restore_phase(RestorePhase::Failed),
            TIMEOUT,
        )
        .await?;
        assert!(
            failed
                .status
                .and_then(|s| s.reason)
                .unwrap_or_default()
                .contains("pg_restore: error")
        );
        let project = wait_for(
            &projects,
            &name,
            |p: Option<&Project>| {
                p.and_then(|p| p.status.as_ref())
                    .is_some_and(|s| s.status == Some(SupabaseStatus::RestoreFailed))
            },
            TIMEOUT,
        )
        .await?;
        assert!(
            project
                .annotations()
                .get(ANNOTATION_RESTORE_FAILED)
                .is_some_and(|r| r.contains("the database is as it was"))
        );
        wait_for(&deployments, "auth", replicas(1), TIMEOUT).await?;

        // Paused: refused.
        projects
            .patch(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"paused": true}})),
            )
            .await?;
        wait_for(
            &projects,
            &name,
            |p: Option<&Project>| p.is_some_and(|p| p.spec.paused),
            TIMEOUT,
        )
        .await?;
        restores
            .create(
                &PostParams::default(),
                &serde_json::from_value(object(
                    "Restore",
                    "while-paused",
                    json!({"project": name, "backup": "nightly"}),
                ))?,
            )
            .await?;
        let paused = wait_for(
            &restores,
            "while-paused",
            restore_phase(RestorePhase::Failed),
            TIMEOUT,
        )
        .await?;
        assert!(
            paused
                .status
                .and_then(|s| s.reason)
                .unwrap_or_default()
                .contains("paused")
        );

        projects.delete(&name, &Default::default()).await?;
        for task in tasks {
            task.abort();
        }
        // Nothing refused; the chart's restore rules all used.
        assert_allowed_and_used(
            &cluster,
            &user,
            &[
                "list restores",
                "watch restores",
                "patch restores/status",
                "patch projects",
            ],
        )?;
        Ok(())
    }

    /// A project made from a backup of another (`spec.restoreFrom`): the
    /// operator asks for that restore once; its Job runs beside the backup
    /// volume and reaches the new project's database, admitted by a
    /// NetworkPolicy and with a copy of its password, both removed when it
    /// ends. From another organization it is refused, and the new project
    /// says RESTORE_FAILED; restoreFrom cannot change afterwards.
    #[tokio::test]
    async fn a_project_made_from_a_backup_restores_it_once() -> anyhow::Result<()> {
        use k8s_openapi::api::core::v1::Secret;
        use k8s_openapi::api::networking::v1::NetworkPolicy;
        use supaplane_crds::restore::{
            ANNOTATION_INITIAL_RESTORE, ANNOTATION_RESTORING, INITIAL_RESTORE_NAME,
        };
        use supaplane_crds::{Restore, RestorePhase, SupabaseStatus};
        use supaplane_operator::restore_controller;
        let cluster = TestCluster::start().await?;
        if !cluster.writes_workload_status() {
            return Ok(());
        }
        let client = cluster.client();
        let run_id = unique_name("run");
        let selector = format!("{RUN_LABEL}={run_id}");
        let (user, operator) = chart_operator(&cluster).await?;
        let tasks = [
            tokio::spawn(project_controller::run(Arc::new(
                project_controller::Context {
                    client: operator.clone(),
                    metrics: Default::default(),
                    settings: Default::default(),
                    selector: Some(selector.clone()),
                    children: Default::default(),
                },
            ))),
            tokio::spawn(backup_controller::run(Arc::new(
                backup_controller::Context {
                    client: operator.clone(),
                    metrics: Default::default(),
                    selector: Some(selector.clone()),
                },
            ))),
            tokio::spawn(restore_controller::run(Arc::new(
                restore_controller::Context {
                    client: operator.clone(),
                    metrics: Default::default(),
                    selector: Some(selector.clone()),
                },
            ))),
        ];
        let projects: Api<Project> = Api::all(client.clone());
        let make_project = |name: &str, organization: &str, from: Option<(&str, &str)>| {
            let mut spec = json!({"organization": organization, "displayName": name,
                                  "deletionPolicy": "Delete"});
            if let Some((project, backup)) = from {
                spec["restoreFrom"] = json!({"project": project, "backup": backup});
            }
            serde_json::from_value::<Project>(json!({
                "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
                "metadata": {"name": name, "labels": {RUN_LABEL: run_id}}, "spec": spec,
            }))
        };
        let source = unique_name("src");
        projects
            .create(
                &PostParams::default(),
                &make_project(&source, "acme", None)?,
            )
            .await?;
        let source_namespace = project_namespace(&source);
        wait_for(
            &Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone()),
            &source_namespace,
            |n: Option<&k8s_openapi::api::core::v1::Namespace>| n.is_some(),
            TIMEOUT,
        )
        .await?;
        let backups: Api<Backup> = Api::namespaced(client.clone(), &source_namespace);
        backups
            .create(
                &PostParams::default(),
                &serde_json::from_value(
                    json!({"apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
                    "metadata": {"name": "nightly"}, "spec": {"project": source}}),
                )?,
            )
            .await?;
        let source_jobs: Api<Job> = Api::namespaced(client.clone(), &source_namespace);
        wait_for(
            &source_jobs,
            "backup-nightly",
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        finish(&client, &source_namespace, "nightly", true, "100").await?;
        wait_for(
            &backups,
            "nightly",
            phase_is(BackupPhase::Completed),
            TIMEOUT,
        )
        .await?;

        // The new project, made from that backup.
        let target = unique_name("new");
        projects
            .create(
                &PostParams::default(),
                &make_project(&target, "acme", Some((&source, "nightly")))?,
            )
            .await?;
        let target_namespace = project_namespace(&target);
        let restores: Api<Restore> = Api::namespaced(client.clone(), &target_namespace);
        let restore_phase = |phase: RestorePhase| {
            move |r: Option<&Restore>| {
                r.and_then(|r| r.status.as_ref())
                    .is_some_and(|s| s.phase == phase)
            }
        };
        let asked = wait_for(
            &restores,
            INITIAL_RESTORE_NAME,
            restore_phase(RestorePhase::Running),
            TIMEOUT,
        )
        .await?;
        assert_eq!(asked.spec.source_project.as_deref(), Some(source.as_str()));
        assert_eq!(asked.spec.backup, "nightly");
        let job_name = format!("restore-into-{target}-{INITIAL_RESTORE_NAME}");
        let job = wait_for(
            &source_jobs,
            &job_name,
            |j: Option<&Job>| j.is_some(),
            TIMEOUT,
        )
        .await?;
        let pod = job.spec.clone().and_then(|s| s.template.spec).expect("pod");
        let env = pod.containers[0].env.clone().unwrap_or_default();
        let value_of = |name: &str| env.iter().find(|e| e.name == name).cloned();
        assert_eq!(
            value_of("PGHOST").and_then(|e| e.value),
            Some(format!("db.{target_namespace}.svc"))
        );
        let password_ref = value_of("PGPASSWORD")
            .and_then(|e| e.value_from)
            .and_then(|v| v.secret_key_ref)
            .expect("the password by reference");
        assert_eq!(password_ref.name, job_name, "the copy beside the Job");
        let copy = Api::<Secret>::namespaced(client.clone(), &source_namespace)
            .get(&job_name)
            .await?;
        let keys = Api::<Secret>::namespaced(client.clone(), &target_namespace)
            .get(supaplane_crds::constants::KEYS_SECRET_NAME)
            .await?;
        assert_eq!(
            copy.data.as_ref().and_then(|d| d.get(&password_ref.key)),
            keys.data
                .as_ref()
                .and_then(|d| d.get(supaplane_crds::constants::keys_secret::POSTGRES_PASSWORD)),
            "the new project's own password"
        );
        assert!(
            copy.annotations().keys().all(|k| !k.contains("hash")),
            "no hash of the password kept on it"
        );
        let policies: Api<NetworkPolicy> = Api::namespaced(client.clone(), &target_namespace);
        let admission = format!("restore-{INITIAL_RESTORE_NAME}");
        assert!(policies.get_opt(&admission).await?.is_some());
        wait_for(
            &projects,
            &target,
            |p: Option<&Project>| {
                p.and_then(|p| p.status.as_ref())
                    .is_some_and(|s| s.status == Some(SupabaseStatus::Restoring))
            },
            TIMEOUT,
        )
        .await?;

        // Done: the copy and the admission go, the mark goes.
        finish_job(
            &client,
            &source_namespace,
            &job_name,
            ("supaplane.io/restore", INITIAL_RESTORE_NAME),
            true,
            "",
        )
        .await?;
        wait_for(
            &restores,
            INITIAL_RESTORE_NAME,
            restore_phase(RestorePhase::Completed),
            TIMEOUT,
        )
        .await?;
        wait_deleted(
            &Api::<Secret>::namespaced(client.clone(), &source_namespace),
            &job_name,
            TIMEOUT,
        )
        .await?;
        wait_deleted(&policies, &admission, TIMEOUT).await?;
        let restored = projects.get(&target).await?;
        assert!(restored.annotations().get(ANNOTATION_RESTORING).is_none());
        assert_eq!(
            restored
                .annotations()
                .get(ANNOTATION_INITIAL_RESTORE)
                .map(String::as_str),
            Some(INITIAL_RESTORE_NAME)
        );

        // Once: with its Restore gone, a change to the project asks for no
        // other (the reconcile that saw the change is awaited).
        restores
            .delete(INITIAL_RESTORE_NAME, &Default::default())
            .await?;
        wait_deleted(&restores, INITIAL_RESTORE_NAME, TIMEOUT).await?;
        let changed = projects
            .patch(
                &target,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"backups": {"keep": 3}}})),
            )
            .await?;
        let generation = changed.metadata.generation;
        wait_for(
            &projects,
            &target,
            |p: Option<&Project>| {
                p.and_then(|p| p.status.as_ref())
                    .is_some_and(|s| s.observed_generation == generation)
            },
            TIMEOUT,
        )
        .await?;
        assert!(restores.get_opt(INITIAL_RESTORE_NAME).await?.is_none());

        // restoreFrom is fixed at creation.
        let refused = projects
            .patch(
                &target,
                &PatchParams::default(),
                &Patch::Merge(
                    json!({"spec": {"restoreFrom": {"project": source, "backup": "other"}}}),
                ),
            )
            .await
            .expect_err("restoreFrom cannot change");
        assert!(
            refused
                .to_string()
                .contains("restoreFrom is set when a project is created"),
            "{refused}"
        );

        // From another organization: refused; the new project says so.
        let stranger = unique_name("new");
        projects
            .create(
                &PostParams::default(),
                &make_project(&stranger, "globex", Some((&source, "nightly")))?,
            )
            .await?;
        let stranger_restores: Api<Restore> =
            Api::namespaced(client.clone(), &project_namespace(&stranger));
        let refused = wait_for(
            &stranger_restores,
            INITIAL_RESTORE_NAME,
            restore_phase(RestorePhase::Failed),
            TIMEOUT,
        )
        .await?;
        assert!(
            refused
                .status
                .and_then(|s| s.reason)
                .unwrap_or_default()
                .contains("another organization")
        );
        wait_for(
            &projects,
            &stranger,
            |p: Option<&Project>| {
                p.and_then(|p| p.status.as_ref())
                    .is_some_and(|s| s.status == Some(SupabaseStatus::RestoreFailed))
            },
            TIMEOUT,
        )
        .await?;
        assert!(
            source_jobs
                .get_opt(&format!("restore-into-{stranger}-{INITIAL_RESTORE_NAME}"))
                .await?
                .is_none(),
            "no Job reads the backup"
        );

        for name in [&stranger, &target, &source] {
            projects.delete(name, &Default::default()).await?;
        }
        for task in tasks {
            task.abort();
        }
        assert_allowed_and_used(
            &cluster,
            &user,
            &[
                "create restores",
                "delete networkpolicies",
                "create secrets",
                "delete secrets",
            ],
        )?;
        Ok(())
    }

    /// A project deleted with `Delete` whose backups are in a bucket: the
    /// operator orders their purge in its own namespace before deleting the
    /// project's, runs the purge Job once that namespace is gone, and drops
    /// the order when it succeeded. The Job's real script, with the order's
    /// values as its environment, empties a real MinIO of those backups and
    /// of nothing else.
    #[tokio::test]
    async fn a_deleted_projects_bucket_backups_are_purged_after_its_namespace() -> anyhow::Result<()>
    {
        use k8s_openapi::api::core::v1::{Namespace, Secret};
        use supaplane_operator::bucket_purge;
        use supaplane_operator::render::stack::StackSettings;
        use supaplane_tests::upstreams::{MINIO_ACCESS_KEY, MINIO_SECRET_KEY, MinioServer};
        let cluster = TestCluster::start().await?;
        if !cluster.writes_workload_status() {
            return Ok(());
        }
        let client = cluster.client();
        let minio = MinioServer::start()?;
        assert_eq!(minio.request("PUT", "/backups")?, 200);
        for key in ["p/old/complete", "p/old/database.dump", "p/other/complete"] {
            assert_eq!(minio.request("PUT", &format!("/backups/{key}"))?, 200);
        }
        let run_id = unique_name("run");
        let selector = format!("{RUN_LABEL}={run_id}");
        let operator_namespace = unique_name("operator");
        Api::<Namespace>::all(client.clone())
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": operator_namespace}}))?,
            )
            .await?;
        let (user, operator) = chart_operator(&cluster).await?;
        let tasks = [
            tokio::spawn(project_controller::run(Arc::new(
                project_controller::Context {
                    client: operator.clone(),
                    metrics: Default::default(),
                    settings: StackSettings {
                        purge_namespace: Some(operator_namespace.clone()),
                        ..Default::default()
                    },
                    selector: Some(selector.clone()),
                    children: Default::default(),
                },
            ))),
            tokio::spawn(bucket_purge::run(Arc::new(bucket_purge::Context {
                client: operator.clone(),
                namespace: operator_namespace.clone(),
            }))),
        ];
        let name = unique_name("p");
        let projects: Api<Project> = Api::all(client.clone());
        projects
            .create(&PostParams::default(), &serde_json::from_value(json!({
                "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
                "metadata": {"name": name, "labels": {RUN_LABEL: run_id}},
                "spec": {"organization": "acme", "displayName": "Gone", "deletionPolicy": "Delete",
                         "backups": {"s3": {"bucket": "backups", "region": "us-east-1",
                            "endpoint": minio.endpoint(), "forcePathStyle": true,
                            "credentialsSecretName": "backup-s3", "prefix": "p"}}},
            }))?)
            .await?;
        let namespace = project_namespace(&name);
        let namespaces: Api<Namespace> = Api::all(client.clone());
        wait_for(
            &namespaces,
            &namespace,
            |n: Option<&Namespace>| n.is_some(),
            TIMEOUT,
        )
        .await?;
        Api::<Secret>::namespaced(client.clone(), &namespace)
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "backup-s3"},
                    "stringData": {"accessKeyId": MINIO_ACCESS_KEY, "secretAccessKey": MINIO_SECRET_KEY}}))?,
            )
            .await?;
        let backups: Api<Backup> = Api::namespaced(client.clone(), &namespace);
        for (backup, location) in [
            ("old", "s3://backups/p/old"),
            ("local", "pvc://backups/local"),
        ] {
            backups
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(
                        json!({"apiVersion": "supaplane.io/v1alpha1", "kind": "Backup",
                        "metadata": {"name": backup}, "spec": {"project": name}}),
                    )?,
                )
                .await?;
            backups
                .patch_status(
                    backup,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": {"phase": "Completed", "location": location}})),
                )
                .await?;
        }

        projects.delete(&name, &Default::default()).await?;
        let orders: Api<Secret> = Api::namespaced(client.clone(), &operator_namespace);
        let order_name = format!("purge-backups-{name}");
        let order = wait_for(
            &orders,
            &order_name,
            |s: Option<&Secret>| s.is_some(),
            TIMEOUT,
        )
        .await?;
        let data = order.data.clone().unwrap_or_default();
        let text = |key: &str| {
            data.get(key)
                .map(|v| String::from_utf8_lossy(&v.0).into_owned())
                .unwrap_or_default()
        };
        assert_eq!(text("BACKUP_NAMES"), "old", "the bucket's backups only");
        wait_deleted(&namespaces, &namespace, TIMEOUT).await?;
        let jobs: Api<Job> = Api::namespaced(client.clone(), &operator_namespace);
        let job = wait_for(&jobs, &order_name, |j: Option<&Job>| j.is_some(), TIMEOUT).await?;
        // The Job's part, as its pod would do it: the order as environment.
        let environment: Vec<(String, String)> = [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_REGION",
            "S3_BUCKET_URL",
            "S3_PREFIX",
            "BACKUP_NAMES",
        ]
        .iter()
        .map(|key| (key.to_string(), text(key)))
        .collect();
        let pairs: Vec<(&str, &str)> = environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let scratch = std::env::temp_dir();
        super::run_pod(&job, None, &scratch, &pairs)?;
        assert_eq!(minio.request("HEAD", "/backups/p/old/complete")?, 404);
        assert_eq!(minio.request("HEAD", "/backups/p/old/database.dump")?, 404);
        assert_eq!(
            minio.request("HEAD", "/backups/p/other/complete")?,
            200,
            "not this project's"
        );
        finish_job(
            &client,
            &operator_namespace,
            &order_name,
            (bucket_purge::LABEL_PURGE, &name),
            true,
            "",
        )
        .await?;
        wait_deleted(&orders, &order_name, TIMEOUT).await?;
        for task in tasks {
            task.abort();
        }
        assert_allowed_and_used(
            &cluster,
            &user,
            &["create secrets", "delete secrets", "get namespaces"],
        )?;
        Ok(())
    }
}
