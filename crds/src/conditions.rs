//! Kubernetes-style status conditions and the condition types supaplane sets.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Every component is ready and the project serves requests.
pub const READY: &str = "Ready";
/// The project's keys Secret exists.
pub const SECRETS_READY: &str = "SecretsReady";
/// Every volume is as the spec asks; False with reason `VolumeChangeRefused`
/// when the API server refused a change to one (it keeps serving unchanged).
pub const VOLUMES_READY: &str = "VolumesReady";
/// Postgres is running and ready.
pub const DATABASE_READY: &str = "DatabaseReady";
/// GoTrue is ready.
pub const AUTH_READY: &str = "AuthReady";
/// PostgREST is ready.
pub const REST_READY: &str = "RestReady";
/// Realtime is ready.
pub const REALTIME_READY: &str = "RealtimeReady";
/// The Storage API is ready.
pub const STORAGE_READY: &str = "StorageReady";
/// pg-meta is ready.
pub const META_READY: &str = "MetaReady";
/// The API gateway is ready.
pub const GATEWAY_READY: &str = "GatewayReady";
/// An Organization's members are valid (at least one Owner).
pub const MEMBERS_VALID: &str = "MembersValid";
/// An Organization's deletion waits for its Projects to be gone.
pub const DELETION_BLOCKED: &str = "DeletionBlocked";

/// The status of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(value: bool) -> Self {
        if value {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

/// Sets `new` in `conditions`, replacing the condition of the same type.
/// The transition time only moves when the status changes, as the API
/// conventions require.
pub fn set_condition(conditions: &mut Vec<Condition>, mut new: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(existing) => {
            if existing.status == new.status {
                new.last_transition_time = existing.last_transition_time.clone();
            }
            *existing = new;
        }
        None => conditions.push(new),
    }
}

/// A condition with the given fields, stamped with `now`.
pub fn condition(
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: status.as_str().to_string(),
        reason: reason.to_string(),
        message: message.into(),
        observed_generation,
        last_transition_time: now,
    }
}

/// Whether the condition of `type_` is True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == type_ && c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).expect("timestamp"))
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            condition(
                READY,
                ConditionStatus::False,
                "Starting",
                "",
                Some(1),
                at(10),
            ),
        );
        set_condition(
            &mut conditions,
            condition(
                READY,
                ConditionStatus::False,
                "Waiting",
                "db",
                Some(2),
                at(20),
            ),
        );
        assert_eq!(conditions.len(), 1);
        assert_eq!(conditions[0].last_transition_time, at(10));
        assert_eq!(conditions[0].reason, "Waiting");
        assert_eq!(conditions[0].observed_generation, Some(2));

        set_condition(
            &mut conditions,
            condition(
                READY,
                ConditionStatus::True,
                "AllReady",
                "",
                Some(2),
                at(30),
            ),
        );
        assert_eq!(conditions[0].last_transition_time, at(30));
        assert!(is_true(&conditions, READY));

        set_condition(
            &mut conditions,
            condition(
                DATABASE_READY,
                ConditionStatus::True,
                "Ready",
                "",
                None,
                at(40),
            ),
        );
        assert_eq!(conditions.len(), 2);
    }
}
