//! A project's database backups: the volume they are kept on, the Job that
//! takes one and the Job that restores one, both with the project's own
//! Postgres image (its `pg_dumpall`, `pg_dump`, `psql` and `pg_restore`, so a
//! backup restores into an instance of the same major).
//!
//! A backup is a directory on the volume: `roles.sql` (`pg_dumpall
//! --roles-only`, without the roles the image makes itself, whose passwords
//! are the project's own) and `database.dump` (`pg_dump`, custom format).
//! It is written under `<name>.partial` and renamed when complete, so a
//! directory without that suffix is always a whole backup. The scripts are
//! fixed text: names come in as environment variables, never as code.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, PersistentVolumeClaim, PersistentVolumeClaimVolumeSource,
    PodSpec, PodTemplateSpec, Secret, SecretKeySelector, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Resource;
use kube::api::ObjectMeta;
use supaplane_crds::constants::keys_secret as secret_keys;
use supaplane_crds::{Backup, BackupBucket, Project, Restore};

use super::backup_bucket::{self, SCRATCH, Step};
use super::database::{DATABASE_NAME, database_host, database_port, image};
use super::resources::Compute;
use super::workload::{env, env_from_keys, volume_claim};
use super::{child_metadata, labels};

/// The volume backups are kept on, in the project's namespace.
pub const CLAIM: &str = "backups";
/// Where the Jobs mount it.
pub const ROOT: &str = "/backups";
/// The label naming the Backup a backup Job takes.
pub const LABEL_BACKUP: &str = "supaplane.io/backup";
/// The label naming the Restore a restore Job runs for.
pub const LABEL_RESTORE: &str = "supaplane.io/restore";
/// The label naming, on a restore Job, the project restored into: the one
/// whose namespace holds the Restore (the Job may run in another's).
pub const LABEL_RESTORE_INTO: &str = "supaplane.io/restore-into";
/// The key of the restored-into project's password in the Secret beside a
/// Job restoring into another project's database.
pub const TARGET_PASSWORD_KEY: &str = "password";
/// How long a finished Job restoring into another project (which no
/// Restore owns: owners share a namespace) is kept for a look at its pod.
const CROSS_PROJECT_JOB_TTL_SECONDS: i32 = 24 * 3600;
/// Longest a backup or restore may run.
const DEADLINE_SECONDS: i64 = 6 * 3600;

/// Roles the supabase/postgres image makes at its first start, with
/// passwords from the project's keys: never carried from one instance to
/// another by a backup.
pub const IMAGE_ROLES: [&str; 18] = [
    "anon",
    "authenticated",
    "authenticator",
    "dashboard_user",
    "pgbouncer",
    "pgsodium_keyholder",
    "pgsodium_keyiduser",
    "pgsodium_keymaker",
    "postgres",
    "service_role",
    "supabase_admin",
    "supabase_auth_admin",
    "supabase_etl_admin",
    "supabase_functions_admin",
    "supabase_read_only_user",
    "supabase_realtime_admin",
    "supabase_replication_admin",
    "supabase_storage_admin",
];

/// What a backup or restore Job may use.
pub const JOB_COMPUTE: Compute = Compute {
    memory_request_mib: 128,
    memory_limit_mib: 1024,
    cpu_request_millis: 100,
    cpu_limit_millis: 1000,
};

/// The backup script: roles (without the image's own) and the database,
/// into a directory renamed only when whole; its size (KiB) goes to the
/// termination message, which the operator reads into the Backup's status.
pub fn backup_script() -> String {
    let roles = IMAGE_ROLES.join("|");
    format!(
        r#"set -eu
umask 077
target="$BACKUP_ROOT/$BACKUP_NAME"
partial="$target.partial"
rm -rf "$partial"
mkdir -p "$partial"
pg_dumpall --roles-only --quote-all-identifiers > "$partial/roles.with-passwords.sql"
# Keep every statement but those creating or altering the image's own roles
# (and the reserved pg_ ones), whose passwords belong to the instance.
grep -Ev '^(CREATE|ALTER) ROLE "({roles}|pg_[a-z_]+)"' "$partial/roles.with-passwords.sql" > "$partial/roles.sql"
rm -f "$partial/roles.with-passwords.sql"
pg_dump --format=custom --file="$partial/database.dump" "$PGDATABASE"
rm -rf "$target"
mv "$partial" "$target"
du -sk "$target" | cut -f1 > "${{TERMINATION_LOG:-/dev/termination-log}}"
"#
    )
}

/// The restore script: roles first (existing ones are left as they are),
/// then the database replaced object by object, in one transaction. A new
/// project's database may still be starting: it waits for it.
pub fn restore_script() -> String {
    r#"set -eu
source="$BACKUP_ROOT/$BACKUP_NAME"
if [ ! -f "$source/database.dump" ] || [ ! -f "$source/roles.sql" ]; then
  echo "backup $BACKUP_NAME is not on the backup volume (or not whole)" >&2
  exit 1
fi
until pg_isready --quiet; do sleep 2; done
# A role that exists already is kept: its CREATE fails, the rest goes on.
psql --quiet --no-psqlrc --dbname="$PGDATABASE" --file="$source/roles.sql" 2>&1 | grep -v 'already exists' || true
pg_restore --clean --if-exists --single-transaction --exit-on-error --dbname="$PGDATABASE" "$source/database.dump"
"#
    .to_string()
}

/// The backup volume's claim.
pub fn claim(project: &Project) -> PersistentVolumeClaim {
    let backups = &project.spec.backups;
    // Not owned: the backups outlive the Project unless its deletion
    // policy removes them.
    let metadata = ObjectMeta {
        owner_references: None,
        ..child_metadata(project, CLAIM, "backups")
    };
    volume_claim(
        metadata,
        backups.storage_class.clone(),
        &backups.storage_size,
    )
}

/// A pod running `container` once, with the backup volume mounted at
/// [`ROOT`].
fn on_backup_volume(mut container: Container) -> PodSpec {
    container.volume_mounts = Some(vec![VolumeMount {
        name: CLAIM.to_string(),
        mount_path: ROOT.to_string(),
        ..Default::default()
    }]);
    PodSpec {
        restart_policy: Some("Never".to_string()),
        containers: vec![container],
        volumes: Some(vec![Volume {
            name: CLAIM.to_string(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: CLAIM.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

/// Where a project's backups are kept.
#[derive(Clone, Copy)]
pub enum Store<'a> {
    /// The `backups` volume in the project's namespace.
    Volume,
    /// An S3-compatible bucket (`spec.backups.s3`).
    Bucket(&'a BackupBucket),
}

impl<'a> Store<'a> {
    /// Where `project` keeps new backups.
    pub fn of(project: &'a Project) -> Store<'a> {
        match &project.spec.backups.s3 {
            Some(bucket) => Store::Bucket(bucket),
            None => Store::Volume,
        }
    }

    /// Where `source` keeps `backup`, as its status says: in the bucket the
    /// project names (refused when it names no such bucket any more), or on
    /// its volume.
    pub fn of_backup(source: &'a Project, backup: &Backup) -> Result<Store<'a>, String> {
        let name = backup.metadata.name.as_deref().unwrap_or_default();
        let location = backup
            .status
            .as_ref()
            .and_then(|s| s.location.as_deref())
            .unwrap_or_default();
        if !location.starts_with("s3://") {
            return Ok(Store::Volume);
        }
        match &source.spec.backups.s3 {
            Some(bucket) if backup.is_in(bucket) => Ok(Store::Bucket(bucket)),
            _ => Err(format!(
                "backup {name} is at {location}, which spec.backups.s3 no longer names: point it back to restore"
            )),
        }
    }

    /// Where backup `name` is kept, as its status says.
    pub fn location(&self, name: &str) -> String {
        match self {
            Store::Volume => format!("pvc://{CLAIM}/{name}"),
            Store::Bucket(bucket) => bucket.location(name),
        }
    }
}

/// What a Job is for: its name, its labels, its owner, the backup it reads
/// or writes, where, and the database it reaches.
struct JobFor<'a> {
    prefix: &'static str,
    name: String,
    labels: Vec<(&'static str, String)>,
    owner: Option<OwnerReference>,
    backup: &'a str,
    /// The project whose database the Job reaches (and whose image it
    /// runs): the volume's own, or the one a restore goes into.
    database: &'a Project,
    /// supabase_admin's password for that database.
    password: EnvVar,
    ttl_seconds_after_finished: Option<i32>,
    store: Store<'a>,
    /// With a bucket: which way the files go.
    step: Step,
}

/// The Job running `script` as `purpose` says, in `project`'s namespace,
/// on its backup volume or with its bucket.
fn job(project: &Project, purpose: JobFor<'_>, script: String) -> Job {
    let prefix = purpose.prefix;
    let backup_name = purpose.backup.to_string();
    let mut job_labels = labels(project, prefix);
    for (key, value) in &purpose.labels {
        job_labels.insert(key.to_string(), value.clone());
    }
    let container = Container {
        name: prefix.to_string(),
        image: Some(image(purpose.database)),
        command: Some(vec!["sh".to_string(), "-c".to_string(), script]),
        env: Some(vec![
            env("PGHOST", database_host(purpose.database)),
            env("PGPORT", database_port().to_string()),
            env("PGUSER", "supabase_admin"),
            purpose.password,
            env("PGDATABASE", DATABASE_NAME),
            env(
                "BACKUP_ROOT",
                match purpose.store {
                    Store::Volume => ROOT,
                    Store::Bucket(_) => SCRATCH,
                },
            ),
            env("BACKUP_NAME", backup_name.clone()),
        ]),
        resources: Some(JOB_COMPUTE.requirements()),
        termination_message_policy: Some("FallbackToLogsOnError".to_string()),
        ..Default::default()
    };
    let pod = match purpose.store {
        Store::Volume => on_backup_volume(container),
        Store::Bucket(bucket) => backup_bucket::pod(
            bucket,
            container,
            purpose.step,
            &backup_name,
            &project.spec.backups.storage_size,
        ),
    };
    Job {
        metadata: ObjectMeta {
            labels: Some(job_labels.clone()),
            owner_references: purpose.owner.map(|r| vec![r]),
            ..child_metadata(project, &purpose.name, prefix)
        },
        spec: Some(JobSpec {
            // One try: a failed backup is reported, the next one is new.
            backoff_limit: Some(0),
            active_deadline_seconds: Some(DEADLINE_SECONDS),
            ttl_seconds_after_finished: purpose.ttl_seconds_after_finished,
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(job_labels),
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The Job taking `backup` (`backup-<backup>`).
pub fn backup_job(project: &Project, backup: &Backup) -> Job {
    let name = backup.metadata.name.clone().unwrap_or_default();
    let purpose = JobFor {
        prefix: "backup",
        name: format!("backup-{name}"),
        labels: vec![(LABEL_BACKUP, name.clone())],
        owner: backup.controller_owner_ref(&()),
        backup: &name,
        database: project,
        password: env_from_keys("PGPASSWORD", secret_keys::POSTGRES_PASSWORD),
        ttl_seconds_after_finished: None,
        store: Store::of(project),
        step: Step::Upload,
    };
    job(project, purpose, backup_script())
}

/// The name of the Job running `restore`: `restore-<restore>` in place,
/// `restore-into-<project>-<restore>` from another project's backup (it
/// runs in that project's namespace, beside other restores).
pub fn restore_job_name(restore: &Restore) -> String {
    let name = restore.metadata.name.clone().unwrap_or_default();
    if restore.spec.is_from_another_project() {
        format!("restore-into-{}-{name}", restore.spec.project)
    } else {
        format!("restore-{name}")
    }
}

/// The Job running `restore` from `backup` (a backup of `source`, on its
/// volume) into `target`'s database. In place, `source` is `target` and
/// the Restore owns the Job; from another project, the Job runs in the
/// source's namespace, reaches the target's database over the network
/// (admitted by [`restore_admission`](super::network_policy::restore_admission))
/// with the target's password from a Secret beside it ([`target_password`]).
/// `store` is where the backup is ([`Store::of_backup`]).
pub fn restore_job(
    source: &Project,
    target: &Project,
    restore: &Restore,
    backup: &Backup,
    store: Store<'_>,
) -> Job {
    let name = restore.metadata.name.clone().unwrap_or_default();
    let backup_name = backup.metadata.name.clone().unwrap_or_default();
    let job_name = restore_job_name(restore);
    let in_place = !restore.spec.is_from_another_project();
    let password = if in_place {
        env_from_keys("PGPASSWORD", secret_keys::POSTGRES_PASSWORD)
    } else {
        EnvVar {
            name: "PGPASSWORD".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: job_name.clone(),
                    key: TARGET_PASSWORD_KEY.into(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    let purpose = JobFor {
        prefix: "restore",
        name: job_name,
        labels: vec![
            (LABEL_RESTORE, name),
            (LABEL_RESTORE_INTO, restore.spec.project.clone()),
        ],
        owner: in_place
            .then(|| restore.controller_owner_ref(&()))
            .flatten(),
        backup: &backup_name,
        database: target,
        password,
        ttl_seconds_after_finished: (!in_place).then_some(CROSS_PROJECT_JOB_TTL_SECONDS),
        store,
        step: Step::Download,
    };
    job(source, purpose, restore_script())
}

/// The restored-into project's password, beside the Job that restores into
/// it from another project's backup (named as the Job, owned by it, and
/// removed when the restore ends).
pub fn target_password(job: &Job, password: &[u8]) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: job.metadata.name.clone(),
            namespace: job.metadata.namespace.clone(),
            labels: job.metadata.labels.clone(),
            owner_references: job.metadata.uid.clone().map(|uid| {
                vec![OwnerReference {
                    api_version: "batch/v1".into(),
                    kind: "Job".into(),
                    name: job.metadata.name.clone().unwrap_or_default(),
                    uid,
                    ..Default::default()
                }]
            }),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            TARGET_PASSWORD_KEY.to_string(),
            ByteString(password.to_vec()),
        )])),
        ..Default::default()
    }
}

/// Removes every directory on the backup volume but those of `kept`
/// Backups (names come in the environment; the script is fixed).
const PRUNE_SCRIPT: &str = r#"set -eu
cd "$BACKUP_ROOT"
for entry in * .[!.]*; do
  [ -e "$entry" ] || continue
  # Written in the last hour: maybe a backup whose Backup this Job's list
  # did not know yet; left for the next prune.
  if [ -n "$(find "$entry" -maxdepth 0 -mmin -60)" ]; then continue; fi
  name="${entry%.partial}"
  keep=no
  for kept in $KEPT_BACKUPS; do
    if [ "$kept" = "$name" ]; then keep=yes; fi
  done
  if [ "$keep" = no ] && [ "$entry" != lost+found ]; then rm -rf -- "$entry"; fi
done
"#;

/// The Job removing files of Backups no longer there (`kept` are the
/// ones that are).
pub fn prune_job(project: &Project, kept: &[String]) -> Job {
    let mut sorted = kept.to_vec();
    sorted.sort();
    // Named after what it keeps: a new set of Backups, a new Job.
    let digest: String = crate::apply::spec_hash(&sorted).chars().take(10).collect();
    Job {
        metadata: child_metadata(project, &format!("prune-backups-{digest}"), "backup-prune"),
        spec: Some(JobSpec {
            backoff_limit: Some(2),
            ttl_seconds_after_finished: Some(3600),
            template: PodTemplateSpec {
                metadata: None,
                spec: Some(match Store::of(project) {
                    Store::Volume => on_backup_volume(Container {
                        name: "prune".into(),
                        image: Some(image(project)),
                        command: Some(vec!["sh".into(), "-c".into(), PRUNE_SCRIPT.into()]),
                        env: Some(vec![
                            env("BACKUP_ROOT", ROOT),
                            env("KEPT_BACKUPS", sorted.join(" ")),
                        ]),
                        resources: Some(super::resources::WAIT_FOR_DATABASE.requirements()),
                        ..Default::default()
                    }),
                    Store::Bucket(bucket) => backup_bucket::prune_pod(bucket, &sorted),
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::Project;

    fn backup(name: &str) -> Backup {
        let mut backup = Backup::new(
            name,
            supaplane_crds::BackupSpec {
                project: "abc".into(),
                trigger: Default::default(),
            },
        );
        backup.metadata.namespace = Some("project-abc".into());
        backup.metadata.uid = Some("uid-1".into());
        backup
    }

    #[test]
    fn the_job_runs_fixed_text_and_takes_names_from_its_environment() {
        let job = backup_job(&Project::test("abc"), &backup("nightly-1"));
        let pod = job.spec.clone().expect("spec").template.spec.expect("pod");
        let container = &pod.containers[0];
        let script = &container.command.as_ref().expect("command")[2];
        assert!(
            !script.contains("nightly-1"),
            "the name is not part of the script"
        );
        let env = container.env.clone().expect("env");
        assert!(
            env.iter()
                .any(|e| e.name == "BACKUP_NAME" && e.value.as_deref() == Some("nightly-1"))
        );
        assert!(
            env.iter()
                .any(|e| e.name == "PGPASSWORD" && e.value.is_none()),
            "the password by reference"
        );
        assert_eq!(
            job.metadata.owner_references.expect("owner")[0].name,
            "nightly-1"
        );
        assert_eq!(job.spec.expect("spec").backoff_limit, Some(0));
    }
}
