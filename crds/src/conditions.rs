//! Kubernetes-style status conditions and the condition types supaplane sets.

use std::borrow::Cow;

use compact_str::CompactString;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{self as meta, Time};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// A status condition: Kubernetes' `metav1.Condition` (the same JSON and
/// the same schema), with its short strings held inline. A Project carries
/// about ten, and the operator and the facade keep every Project in
/// memory, where ten conditions' forty small strings would cost more than
/// the rest of the Project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: CompactString,
    /// True, False or Unknown.
    pub status: CompactString,
    #[serde(default)]
    pub reason: CompactString,
    #[serde(default)]
    pub message: CompactString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    pub last_transition_time: Time,
}

/// Described to the API server exactly as `metav1.Condition`.
impl JsonSchema for Condition {
    fn inline_schema() -> bool {
        meta::Condition::inline_schema()
    }

    fn schema_name() -> Cow<'static, str> {
        meta::Condition::schema_name()
    }

    fn schema_id() -> Cow<'static, str> {
        meta::Condition::schema_id()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        meta::Condition::json_schema(generator)
    }
}

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
    message: impl Into<CompactString>,
    observed_generation: Option<i64>,
    now: Time,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.as_str().into(),
        reason: reason.into(),
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
    fn a_condition_reads_and_writes_as_kubernetes_condition() {
        let written = meta::Condition {
            type_: DATABASE_READY.into(),
            status: "False".into(),
            reason: "PodsRefused".into(),
            message: "db cannot create its pods: exceeded quota: compute-resources".into(),
            observed_generation: Some(4),
            last_transition_time: at(1_700_000_000),
        };
        let served = serde_json::to_value(&written).expect("encodes");
        let read: Condition = serde_json::from_value(served.clone()).expect("decodes");
        assert_eq!(read.type_, DATABASE_READY);
        assert_eq!(
            read.message, written.message,
            "a long message is kept whole"
        );
        assert_eq!(serde_json::to_value(&read).expect("encodes"), served);
        // Without the optional generation, as other writers may leave it.
        let mut served = served;
        served
            .as_object_mut()
            .expect("an object")
            .remove("observedGeneration");
        let read: Condition = serde_json::from_value(served.clone()).expect("decodes");
        assert_eq!(serde_json::to_value(&read).expect("encodes"), served);
    }

    #[test]
    fn a_condition_is_described_as_kubernetes_condition() {
        let ours = schemars::schema_for!(Condition);
        let theirs = schemars::schema_for!(meta::Condition);
        assert_eq!(ours, theirs);
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
