//! Leader election on a coordination.k8s.io Lease, so that of several
//! operator replicas exactly one reconciles. Writes carry the Lease's
//! resourceVersion, so two candidates can never both win a round.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::error::{Error, Result};

/// One candidate for the lease `name` in `namespace`.
pub struct LeaderElector {
    leases: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
}

impl LeaderElector {
    pub fn new(
        client: Client,
        namespace: &str,
        name: &str,
        identity: &str,
        lease_duration: Duration,
    ) -> Self {
        LeaderElector {
            leases: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            lease_duration,
        }
    }

    /// Renews the lease if this candidate holds it, takes it if it is free
    /// or expired, and reports whether this candidate is the leader now.
    pub async fn try_acquire_or_renew(&self) -> Result<bool> {
        let now = Timestamp::now();
        let existing = self
            .leases
            .get_opt(&self.name)
            .await
            .map_err(Error::reading("Lease", self.name.clone()))?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, now, 0)),
            };
            return self.won(self.leases.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let transitions = spec.lease_transitions.unwrap_or(0);
        let new_spec = if holder == self.identity {
            let acquired = spec.acquire_time.map(|t| t.0).unwrap_or(now);
            self.spec(acquired, now, transitions)
        } else if holder.is_empty() || self.expired(&spec, now) {
            self.spec(now, now, transitions + 1)
        } else {
            return Ok(false);
        };
        lease.spec = Some(new_spec);
        // `replace` sends the resourceVersion we read: a concurrent writer
        // makes this a 409, and we lose the round.
        self.won(
            self.leases
                .replace(&self.name, &PostParams::default(), &lease)
                .await,
        )
    }

    fn expired(&self, spec: &LeaseSpec, now: Timestamp) -> bool {
        let seconds = spec.lease_duration_seconds.map(i64::from).unwrap_or(0);
        match &spec.renew_time {
            Some(renewed) => renewed.0 + SignedDuration::from_secs(seconds) < now,
            None => true,
        }
    }

    fn spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.lease_duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    fn won(&self, result: std::result::Result<Lease, kube::Error>) -> Result<bool> {
        match result {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(source) => Err(Error::applying("Lease", self.name.clone())(source)),
        }
    }

    /// Waits until this candidate leads, retrying every `retry` period.
    pub async fn acquire(&self, retry: Duration) -> Result<()> {
        loop {
            if self.try_acquire_or_renew().await? {
                return Ok(());
            }
            tokio::time::sleep(retry).await;
        }
    }

    /// Renews the lease every `period` and returns when leadership is lost
    /// (another holder, or no successful renewal within the lease duration),
    /// so the caller can stop reconciling at once.
    pub async fn hold(&self, period: Duration) {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = tokio::time::Instant::now(),
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, "renewing the leader lease failed");
                    if last_renewal.elapsed() >= self.lease_duration {
                        return;
                    }
                }
            }
        }
    }
}
