//! Backups kept in an S3-compatible bucket (`spec.backups.s3`) rather than
//! on the project's backup volume. A Job's pod then has two steps sharing a
//! scratch directory: for a backup, the Postgres image dumps and curl's
//! image uploads; for a restore, curl downloads and the Postgres image
//! restores. curl signs each request (`--aws-sigv4`) with the keys from the
//! project's credentials Secret, given to it on stdin so they are never in
//! its arguments. A backup is `<prefix><backup>/roles.sql`,
//! `<prefix><backup>/database.dump` and, written last, `<prefix><backup>/complete`:
//! without `complete` it is not whole. The scripts are fixed text: names
//! come in as environment variables.

use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, EnvVar, EnvVarSource, PodSecurityContext, PodSpec,
    SecretKeySelector, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use supaplane_crds::BackupBucket;
use supaplane_crds::images::PINNED;

use super::resources::WAIT_FOR_DATABASE;
use super::workload::env;

/// Where both steps of a bucket Job keep the backup's files.
pub const SCRATCH: &str = "/work";
const SCRATCH_VOLUME: &str = "scratch";
/// Both steps run as this (non-root) user and group, so either can read
/// what the other wrote.
const JOB_USER: i64 = 65532;
/// How old a backup's `complete` must be before a prune removes it: a
/// backup whose Backup the prune's list did not know yet is left alone.
pub const PRUNE_MIN_AGE_MINUTES: u32 = 60;

/// Which way the files go, and so which step comes first.
pub enum Step {
    /// Dump, then upload.
    Upload,
    /// Download, then restore.
    Download,
}

/// Signed requests, and object URLs under the prefix.
const S3_FUNCTIONS: &str = r#"
s3() {
  quoted() { printf '%s' "$1" | sed 's/[\\"]/\\&/g'; }
  printf 'user = "%s:%s"\n' "$(quoted "$AWS_ACCESS_KEY_ID")" "$(quoted "$AWS_SECRET_ACCESS_KEY")" |
    curl --config - --fail --silent --show-error --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" "$@"
}
object() { printf '%s/%s%s' "$S3_BUCKET_URL" "$S3_PREFIX" "$1"; }
# Escapes what a prefix (letters, digits, . _ - /) or a continuation token
# (base64) holds beyond unreserved characters.
escaped() { printf '%s' "$1" | sed 's/%/%25/g; s/+/%2B/g; s|/|%2F|g; s/=/%3D/g'; }
"#;

/// Uploads the dump the first step wrote; `complete` last.
const UPLOAD: &str = r#"
files="$BACKUP_ROOT/$BACKUP_NAME"
s3 --upload-file "$files/roles.sql" "$(object "$BACKUP_NAME/roles.sql")"
s3 --upload-file "$files/database.dump" "$(object "$BACKUP_NAME/database.dump")"
date -u +%Y-%m-%dT%H:%M:%SZ > "$BACKUP_ROOT/complete"
s3 --upload-file "$BACKUP_ROOT/complete" "$(object "$BACKUP_NAME/complete")"
du -sk "$files" | cut -f1 > "${TERMINATION_LOG:-/dev/termination-log}"
"#;

/// Downloads a whole backup for the restore step.
const DOWNLOAD: &str = r#"
files="$BACKUP_ROOT/$BACKUP_NAME"
mkdir -p "$files"
if ! failure=$(s3 --output "$files/complete" "$(object "$BACKUP_NAME/complete")" 2>&1); then
  echo "backup $BACKUP_NAME is not in the bucket (or not whole): $failure" >&2
  exit 1
fi
s3 --output "$files/roles.sql" "$(object "$BACKUP_NAME/roles.sql")"
s3 --output "$files/database.dump" "$(object "$BACKUP_NAME/database.dump")"
"#;

/// Removes the objects of whole backups whose Backups are gone (not in
/// `KEPT_BACKUPS`) and that are older than `PRUNE_MIN_AGE_MINUTES`.
const PRUNE: &str = r#"
cutoff=$(( $(date +%s) - PRUNE_MIN_AGE_MINUTES * 60 ))
token=""
while :; do
  # The query as signing wants it: sorted, upper-case escapes (curl signs
  # it as given, and --data-urlencode escapes in lower case).
  query="delimiter=%2F&list-type=2&prefix=$(escaped "$S3_PREFIX")"
  if [ -n "$token" ]; then query="continuation-token=$(escaped "$token")&$query"; fi
  page=$(s3 "$S3_BUCKET_URL?$query")
  for entry in $(printf '%s' "$page" | tr '>' '\n' | sed -n 's|</Prefix$||p'); do
    name="${entry#"$S3_PREFIX"}"
    name="${name%/}"
    case "$name" in ""|*/*) continue ;; esac
    keep=no
    for kept in $KEPT_BACKUPS; do
      if [ "$kept" = "$name" ]; then keep=yes; fi
    done
    [ "$keep" = no ] || continue
    # Not whole (being written, or failed half-way): left alone.
    modified=$(s3 --head "$(object "$name/complete")" 2>/dev/null | tr -d '\r' | sed -n 's/^[Ll]ast-[Mm]odified: //p') || continue
    [ -n "$modified" ] || continue
    at=$(date -u -d "$modified" +%s 2>/dev/null || date -u -D '%a, %d %b %Y %H:%M:%S GMT' -d "$modified" +%s)
    [ "$at" -le "$cutoff" ] || continue
    for file in complete roles.sql database.dump; do
      s3 --request DELETE "$(object "$name/$file")"
    done
    echo "removed $name"
  done
  token=$(printf '%s' "$page" | tr '>' '\n' | sed -n 's|</NextContinuationToken$||p')
  [ -n "$token" ] || break
done
"#;

/// Removes the objects of the backups named in `BACKUP_NAMES` (a deleted
/// project's, once its namespace is gone).
const PURGE: &str = r#"
for name in $BACKUP_NAMES; do
  for file in complete roles.sql database.dump; do
    s3 --request DELETE "$(object "$name/$file")"
  done
  echo "removed $name"
done
"#;

fn script(body: &str) -> String {
    format!("set -eu\n{S3_FUNCTIONS}{body}")
}

/// The upload step's script.
pub fn upload_script() -> String {
    script(UPLOAD)
}

/// The download step's script.
pub fn download_script() -> String {
    script(DOWNLOAD)
}

/// The purge Job's script.
pub fn purge_script() -> String {
    script(PURGE)
}

/// The prune Job's script.
pub fn prune_script() -> String {
    script(PRUNE)
}

fn credential(name: &str, bucket: &BackupBucket, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: bucket.bucket.credentials_secret_name.clone(),
                key: key.into(),
                optional: Some(false),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// curl's container, reaching `bucket` with `script`.
pub fn client(name: &str, bucket: &BackupBucket, script: String, more: Vec<EnvVar>) -> Container {
    let mut variables = vec![
        credential("AWS_ACCESS_KEY_ID", bucket, "accessKeyId"),
        credential("AWS_SECRET_ACCESS_KEY", bucket, "secretAccessKey"),
        env("AWS_REGION", bucket.bucket.region.clone()),
        env("S3_BUCKET_URL", bucket.bucket_url()),
        env("S3_PREFIX", bucket.key_prefix()),
    ];
    variables.extend(more);
    Container {
        name: name.into(),
        image: Some(PINNED.s3_client.into()),
        command: Some(vec!["sh".into(), "-c".into(), script]),
        env: Some(variables),
        resources: Some(WAIT_FOR_DATABASE.requirements()),
        termination_message_policy: Some("FallbackToLogsOnError".into()),
        ..Default::default()
    }
}

/// The pod of a backup or restore Job with `bucket`: `database` (the
/// Postgres step, its `BACKUP_ROOT` at [`SCRATCH`]) and curl's step, in
/// the order `step` says, sharing a scratch directory of `scratch_size`.
pub fn pod(
    bucket: &BackupBucket,
    database: Container,
    step: Step,
    backup_name: &str,
    scratch_size: &str,
) -> PodSpec {
    let mount = |mut container: Container| {
        container.volume_mounts = Some(vec![VolumeMount {
            name: SCRATCH_VOLUME.into(),
            mount_path: SCRATCH.into(),
            ..Default::default()
        }]);
        container
    };
    let transfer_env = vec![env("BACKUP_ROOT", SCRATCH), env("BACKUP_NAME", backup_name)];
    let (first, then) = match step {
        Step::Upload => (
            database,
            client("upload", bucket, upload_script(), transfer_env),
        ),
        Step::Download => (
            client("download", bucket, download_script(), transfer_env),
            database,
        ),
    };
    PodSpec {
        restart_policy: Some("Never".into()),
        init_containers: Some(vec![mount(first)]),
        containers: vec![mount(then)],
        security_context: Some(PodSecurityContext {
            run_as_user: Some(JOB_USER),
            run_as_group: Some(JOB_USER),
            fs_group: Some(JOB_USER),
            run_as_non_root: Some(true),
            ..Default::default()
        }),
        volumes: Some(vec![Volume {
            name: SCRATCH_VOLUME.into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity(scratch_size.into())),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

/// The prune Job's pod with `bucket`: curl alone.
pub fn prune_pod(bucket: &BackupBucket, kept: &[String]) -> PodSpec {
    PodSpec {
        restart_policy: Some("Never".into()),
        containers: vec![client(
            "prune",
            bucket,
            prune_script(),
            vec![
                env("KEPT_BACKUPS", kept.join(" ")),
                env("PRUNE_MIN_AGE_MINUTES", PRUNE_MIN_AGE_MINUTES.to_string()),
            ],
        )],
        security_context: Some(PodSecurityContext {
            run_as_user: Some(JOB_USER),
            run_as_group: Some(JOB_USER),
            run_as_non_root: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}
