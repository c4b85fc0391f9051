//! A project's backup schedule and retention: a `Backup` for each time the
//! schedule fired (named after that time, so a restart or a second replica
//! never takes it twice), and only `keep` completed ones (and none older than
//! `maxAgeDays`) kept. Files of Backups that are gone, by retention or by
//! `kubectl delete`, are removed from the volume by a short Job.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::Cron;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{DeleteParams, ListParams, PostParams};
use kube::{Api, Client, ResourceExt};
use supaplane_crds::constants::{LABEL_PROJECT, project_namespace};
use supaplane_crds::{Backup, BackupPhase, BackupSpec, BackupTrigger, Project};
use tracing::{info, warn};

use crate::child_memo::{ChildKind, ChildMemo};
use crate::error::{Error, Result};
use crate::render::backup::{CLAIM, Store, prune_job};

/// The Backup the schedule asks for at `now`, if any: the latest time it
/// fired, when that was after the project was made.
pub fn due(
    schedule: &str,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<String>, String> {
    let cron: Cron = schedule
        .parse()
        .map_err(|e| format!("spec.backups.schedule {schedule:?} is not a cron expression: {e}"))?;
    let fired = cron
        .find_previous_occurrence(&now, true)
        .map_err(|e| format!("spec.backups.schedule {schedule:?}: {e}"))?;
    Ok((fired > created).then(|| format!("scheduled-{}", fired.format("%Y%m%d-%H%M"))))
}

/// How long until the schedule fires next (at most an hour: the resync).
pub fn until_next(schedule: &str, now: DateTime<Utc>) -> Option<Duration> {
    let cron: Cron = schedule.parse().ok()?;
    let next = cron.find_next_occurrence(&now, false).ok()?;
    let wait = (next - now).to_std().ok()?;
    Some(wait.min(Duration::from_secs(3600)) + Duration::from_secs(1))
}

/// The Backups retention removes: beyond the `keep` newest completed ones,
/// completed ones older than `max_age_days`, and failed ones beyond `keep`.
pub fn expired(
    backups: &[Backup],
    keep: usize,
    max_age_days: Option<u32>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let finished_at = |backup: &Backup| {
        backup
            .status
            .as_ref()
            .and_then(|s| s.completed_at.clone())
            .or_else(|| backup.metadata.creation_timestamp.clone())
            .map(|t| t.0.as_microsecond())
            .unwrap_or(0)
    };
    let mut gone = Vec::new();
    for phase in [BackupPhase::Completed, BackupPhase::Failed] {
        let mut finished: Vec<&Backup> = backups
            .iter()
            .filter(|b| b.status.as_ref().is_some_and(|s| s.phase == phase))
            .collect();
        finished.sort_by_key(|b| std::cmp::Reverse(finished_at(b)));
        for (index, backup) in finished.iter().enumerate() {
            let too_old = phase == BackupPhase::Completed
                && max_age_days.is_some_and(|days| {
                    finished_at(backup)
                        < (now - chrono::Duration::days(i64::from(days))).timestamp_micros()
                });
            if index >= keep || too_old {
                gone.push(backup.name_any());
            }
        }
    }
    gone
}

/// Takes the backup the schedule asks for, applies retention, and answers
/// when to look again.
pub async fn run(client: &Client, project: &Project, memo: &ChildMemo) -> Result<Option<Duration>> {
    let namespace = project_namespace(&project.name_any());
    let backups: Api<Backup> = Api::namespaced(client.clone(), &namespace);
    let now = Utc::now();
    let settings = &project.spec.backups;
    let mut wait = None;
    if let Some(schedule) = settings.schedule.as_deref()
        && !project.spec.paused
    {
        let created = project
            .metadata
            .creation_timestamp
            .as_ref()
            .and_then(|t| DateTime::<Utc>::from_timestamp_micros(t.0.as_microsecond()))
            .unwrap_or(now);
        match due(schedule, created, now) {
            Ok(Some(name)) => {
                let read = backups
                    .get_opt(&name)
                    .await
                    .map_err(Error::reading("Backup", name.clone()))?;
                if read.is_none() {
                    let mut backup = Backup::new(
                        &name,
                        BackupSpec {
                            project: project.name_any(),
                            trigger: BackupTrigger::Scheduled,
                        },
                    );
                    backup.metadata.labels = Some(BTreeMap::from([(
                        LABEL_PROJECT.to_string(),
                        project.name_any(),
                    )]));
                    match backups.create(&PostParams::default(), &backup).await {
                        Ok(_) => info!(backup = %name, "took a scheduled backup"),
                        Err(kube::Error::Api(status)) if status.code == 409 => {}
                        Err(source) => {
                            return Err(Error::applying("Backup", name)(source));
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(message) => warn!(%message, "the backup schedule is not usable"),
        }
        wait = until_next(schedule, now);
    }
    let listed = backups
        .list(&ListParams::default())
        .await
        .map_err(Error::reading("Backup", "*"))?
        .items;
    let gone = expired(&listed, settings.keep as usize, settings.max_age_days, now);
    for name in &gone {
        match backups.delete(name, &DeleteParams::default()).await {
            Ok(_) | Err(kube::Error::Api(_)) => {}
            Err(source) => {
                return Err(Error::applying("Backup", name.clone())(source));
            }
        }
        info!(backup = %name, "retention removed a backup");
    }
    // Files of Backups no longer there go too (in the bucket, or on the
    // volume once there is one).
    let has_files = match Store::of(project) {
        Store::Bucket(_) => true,
        Store::Volume => match memo.names(ChildKind::PersistentVolumeClaim, &namespace) {
            Some(claims) => claims.iter().any(|claim| claim == CLAIM),
            None => {
                let claims: Api<PersistentVolumeClaim> =
                    Api::namespaced(client.clone(), &namespace);
                claims
                    .get_opt(CLAIM)
                    .await
                    .map_err(Error::reading("PersistentVolumeClaim", CLAIM))?
                    .is_some()
            }
        },
    };
    if has_files {
        let kept: Vec<String> = listed
            .iter()
            .map(|b| b.name_any())
            .filter(|name| !gone.contains(name))
            .collect();
        let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
        memo.apply(&jobs, &namespace, prune_job(project, &kept), |_| true)
            .await?;
    }
    Ok(wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use supaplane_crds::BackupStatus;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("time")
    }

    #[test]
    fn the_schedule_names_the_time_it_last_fired() {
        let created = at("2026-11-30T12:00:00Z");
        assert_eq!(
            due("0 3 * * *", created, at("2026-12-01T09:30:00Z")),
            Ok(Some("scheduled-20261201-0300".into()))
        );
        // Made after the last firing: nothing due yet.
        assert_eq!(
            due(
                "0 3 * * *",
                at("2026-12-01T04:00:00Z"),
                at("2026-12-01T09:30:00Z")
            ),
            Ok(None)
        );
        assert!(due("every day", created, at("2026-12-01T09:30:00Z")).is_err());
        let wait = until_next("0 3 * * *", at("2026-12-01T02:59:00Z")).expect("next");
        assert!(wait <= Duration::from_secs(61));
    }

    fn backup(name: &str, phase: BackupPhase, finished: &str) -> Backup {
        let mut backup = Backup::new(
            name,
            BackupSpec {
                project: "p".into(),
                trigger: BackupTrigger::Scheduled,
            },
        );
        backup.status = Some(BackupStatus {
            phase,
            completed_at: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                finished.parse().expect("time"),
            )),
            ..Default::default()
        });
        backup
    }

    #[test]
    fn retention_keeps_the_newest_and_drops_the_old() {
        let backups = vec![
            backup("a", BackupPhase::Completed, "2026-11-01T03:00:00Z"),
            backup("b", BackupPhase::Completed, "2026-11-29T03:00:00Z"),
            backup("c", BackupPhase::Completed, "2026-11-30T03:00:00Z"),
            backup("d", BackupPhase::Completed, "2026-12-01T03:00:00Z"),
            backup("e", BackupPhase::Failed, "2026-12-01T04:00:00Z"),
            backup("f", BackupPhase::Running, "2026-12-01T05:00:00Z"),
        ];
        let now = at("2026-12-01T09:00:00Z");
        let mut gone = expired(&backups, 3, None, now);
        gone.sort();
        assert_eq!(gone, ["a"]);
        let mut gone = expired(&backups, 3, Some(2), now);
        gone.sort();
        assert_eq!(gone, ["a", "b"]);
    }
}
