//! Studio's log pages (`/platform/projects/{ref}/analytics/endpoints/logs.all`),
//! answered from the project's pods' container logs, which the Kubernetes
//! API serves (`pods/log`). Each Logflare source maps to the component that
//! writes it; lines are parsed where the component logs JSON (GoTrue,
//! Storage) or a known text format (Kong's access log, Postgres), and the
//! page's query (`log_query`) is applied here. No SQL engine is involved.
//!
//! Bounded: each request reads at most `SUPAPLANE_LOGS_MAX_LINES` lines and
//! `SUPAPLANE_LOGS_MAX_BYTES` bytes over all the pods it reads.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::{Path, Query, State};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, LogParams};
use kube::{Api, ResourceExt};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use supaplane_crds::constants::{LABEL_COMPONENT, project_namespace};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::platform::log_query::{self, Condition, LogQuery, SUPPORTED, Shape};
use crate::authorization::access;
use crate::common::error::{ApiError, ApiResult, ErrorBody};
use crate::identity::caller::Caller;
use crate::state::AppState;

/// The most rows one answer holds, whatever the query's limit.
const MAX_ROWS: usize = 1000;
/// The search box's regex may not compile to more than this.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The Logflare source a page reads, and the component writing it.
fn component_of(table: &str) -> Option<&'static str> {
    match table {
        "edge_logs" => Some("gateway"),
        "postgres_logs" => Some("db"),
        "auth_logs" => Some("auth"),
        "storage_logs" => Some("storage"),
        "realtime_logs" => Some("realtime"),
        "postgrest_logs" => Some("rest"),
        _ => None,
    }
}

/// One log line, as the pages filter and show it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogRow {
    pub id: String,
    /// Microseconds since the epoch, as Studio reads `timestamp`.
    pub timestamp_us: i64,
    pub event_message: String,
    pub identifier: String,
    pub method: Option<String>,
    pub path: Option<String>,
    pub search: Option<String>,
    pub status: Option<u16>,
    /// Postgres's severity (`LOG`, `ERROR`, …).
    pub severity: Option<String>,
    /// The level JSON loggers write (`info`, `error`, …).
    pub level: Option<String>,
    pub msg: Option<String>,
    pub error: Option<String>,
    /// Logflare's layout: records as arrays of one object.
    pub metadata: Value,
}

static ACCESS_LOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(\S+) \S+ \S+ \[[^\]]+\] "([A-Z]+) (\S+)[^"]*" (\d{3}) \S+ "[^"]*" "([^"]*)""#)
        .expect("regex")
});
static POSTGRES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(DEBUG[1-5]?|INFO|NOTICE|WARNING|ERROR|LOG|FATAL|PANIC|STATEMENT|DETAIL|HINT):\s+",
    )
    .expect("regex")
});
static BRACKET_LEVEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\[(debug|info|notice|warning|warn|error|critical)\]").expect("regex")
});

fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    match object.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Pino's numeric levels (Storage) by name.
fn pino_level(level: &Value) -> Option<String> {
    match level.as_i64()? {
        ..=20 => Some("debug".into()),
        21..=30 => Some("info".into()),
        31..=40 => Some("warning".into()),
        41..=50 => Some("error".into()),
        _ => Some("fatal".into()),
    }
}

/// Logflare keeps records as arrays of one object, at every level.
fn as_records(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Array(vec![Value::Object(
            object
                .into_iter()
                .map(|(key, value)| (key, as_records(value)))
                .collect(),
        )]),
        other => other,
    }
}

/// Reads what the component's line says.
pub fn parse_line(table: &str, message: &str, row: &mut LogRow) {
    match table {
        "edge_logs" => {
            if let Some(found) = ACCESS_LOG.captures(message) {
                let target = &found[3];
                let (path, search) = match target.split_once('?') {
                    Some((path, query)) => (path.to_string(), format!("?{query}")),
                    None => (target.to_string(), String::new()),
                };
                row.method = Some(found[2].to_string());
                row.status = found[4].parse().ok();
                row.metadata = json!([{
                    "request": [{"method": &found[2], "path": path, "search": search,
                                 "headers": [{"user_agent": &found[5], "x_real_ip": &found[1]}]}],
                    "response": [{"status_code": row.status}],
                }]);
                row.path = Some(path);
                row.search = Some(search);
            }
        }
        "postgres_logs" => {
            if let Some(found) = POSTGRES.captures(message) {
                row.severity = Some(found[1].to_string());
            }
            row.metadata = json!([{"parsed": [{"error_severity": row.severity}]}]);
        }
        _ => match serde_json::from_str::<Map<String, Value>>(message) {
            Ok(mut object) => {
                let level = match object.get("level") {
                    Some(Value::Number(_)) => object.get("level").and_then(pino_level),
                    Some(_) => text(&object, "level").map(|l| l.to_lowercase()),
                    None => None,
                };
                if let Some(level) = &level {
                    object.insert("level".into(), json!(level));
                }
                row.level = level;
                row.status = object
                    .get("status")
                    .or_else(|| object.get("res").and_then(|r| r.get("statusCode")))
                    .and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()))
                    .and_then(|s| u16::try_from(s).ok());
                row.path = text(&object, "path").or_else(|| {
                    object
                        .get("req")
                        .and_then(|r| r.get("url")?.as_str().map(str::to_string))
                });
                row.method = text(&object, "method").or_else(|| {
                    object
                        .get("req")
                        .and_then(|r| r.get("method")?.as_str().map(str::to_string))
                });
                row.msg = text(&object, "msg");
                row.error = text(&object, "error");
                row.metadata = as_records(Value::Object(object));
            }
            Err(_) => {
                row.level = BRACKET_LEVEL.captures(message).map(|found| {
                    found[1]
                        .replace("warn", "warning")
                        .replace("warninging", "warning")
                });
                row.metadata = json!([{"level": row.level}]);
            }
        },
    }
}

/// A stable id: the same line reads back with the same id, so Studio's
/// detail panel finds the row it was shown.
fn row_id(pod: &str, container: &str, stamp: &str, occurrence: usize) -> String {
    let digest =
        crate::common::ids::sha256_hex(&format!("{pod}\n{container}\n{stamp}\n{occurrence}"));
    format!(
        "{}-{}-{}-{}-{}",
        &digest[0..8],
        &digest[8..12],
        &digest[12..16],
        &digest[16..20],
        &digest[20..32]
    )
}

/// Turns a pod's log (with the kubelet's RFC 3339 timestamps) into rows.
pub fn rows_of(
    table: &str,
    identifier: &str,
    pod: &str,
    container: &str,
    log: &str,
) -> Vec<LogRow> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let mut rows = Vec::new();
    for line in log.lines() {
        let Some((stamp, message)) = line.split_once(' ') else {
            continue;
        };
        let Ok(at) = stamp.parse::<Timestamp>() else {
            continue;
        };
        let message = message.trim_end();
        if message.is_empty() {
            continue;
        }
        let occurrence = seen.entry(stamp).or_default();
        *occurrence += 1;
        let mut row = LogRow {
            id: row_id(pod, container, stamp, *occurrence),
            timestamp_us: at.as_microsecond(),
            event_message: message.to_string(),
            identifier: identifier.to_string(),
            metadata: json!([]),
            ..Default::default()
        };
        parse_line(table, message, &mut row);
        rows.push(row);
    }
    rows
}

/// The page's conditions, compiled once.
struct Matcher {
    groups: Vec<Vec<Compiled>>,
}

enum Compiled {
    Plain(Condition),
    Message(Regex),
    Path(Regex),
}

fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("the search {pattern:?} is not a valid regular expression: {e}"))
}

impl Matcher {
    fn new(query: &LogQuery) -> Result<Matcher, String> {
        let groups = query
            .filters
            .iter()
            .map(|group| {
                group
                    .iter()
                    .map(|condition| match condition {
                        Condition::MessageMatches(p) => compile(p).map(Compiled::Message),
                        Condition::PathMatches(p) => compile(p).map(Compiled::Path),
                        other => Ok(Compiled::Plain(other.clone())),
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Matcher { groups })
    }

    fn matches(&self, row: &LogRow) -> bool {
        self.groups
            .iter()
            .all(|group| group.iter().any(|condition| holds(condition, row)))
    }
}

fn holds(condition: &Compiled, row: &LogRow) -> bool {
    match condition {
        Compiled::Message(regex) => regex.is_match(&row.event_message),
        Compiled::Path(regex) => row.path.as_deref().is_some_and(|p| regex.is_match(p)),
        Compiled::Plain(condition) => match condition {
            Condition::StatusBetween(low, high) => {
                row.status.is_some_and(|s| (*low..=*high).contains(&s))
            }
            Condition::MethodIs(method) => row.method.as_deref() == Some(method.as_str()),
            Condition::PathStartsWith(prefix) => row
                .path
                .as_deref()
                .is_some_and(|p| p.starts_with(prefix.as_str())),
            Condition::SeverityIn(list) => row.severity.as_ref().is_some_and(|s| list.contains(s)),
            Condition::SeverityNotIn(list) => {
                row.severity.as_ref().is_some_and(|s| !list.contains(s))
            }
            Condition::LevelIs(level) => row.level.as_deref() == Some(level.as_str()),
            Condition::LevelIsNot(level) => row.level.as_deref().is_some_and(|l| l != level),
            Condition::IdentifierIs(identifier) => &row.identifier == identifier,
            Condition::CronJob => {
                row.event_message.contains("cron job") || row.event_message.contains("pg_cron")
            }
            // Compiled separately above.
            Condition::MessageMatches(_) | Condition::PathMatches(_) => false,
        },
    }
}

/// The chart's classes, as Studio's `getErrorCondition`/`getWarningCondition`.
fn class_of(table: &str, row: &LogRow) -> (bool, bool) {
    match table {
        "edge_logs" => (
            row.status.is_some_and(|s| s >= 500),
            row.status.is_some_and(|s| (400..500).contains(&s)),
        ),
        "postgres_logs" => (
            row.severity
                .as_deref()
                .is_some_and(|s| matches!(s, "ERROR" | "FATAL" | "PANIC")),
            row.severity.as_deref() == Some("WARNING"),
        ),
        "auth_logs" => (
            row.level.as_deref() == Some("error") || row.status.is_some_and(|s| s >= 400),
            row.level.as_deref() == Some("warning"),
        ),
        _ => (false, false),
    }
}

/// The columns each page's list query selects.
fn list_row(table: &str, pg_cron: bool, row: &LogRow) -> Value {
    let mut out =
        json!({"id": row.id, "timestamp": row.timestamp_us, "event_message": row.event_message});
    let extra = match table {
        "edge_logs" => json!({"identifier": row.identifier, "method": row.method, "path": row.path,
                              "search": row.search, "status_code": row.status}),
        "postgres_logs" if pg_cron => json!({"error_severity": row.severity, "query": null}),
        "postgres_logs" => json!({"identifier": row.identifier, "error_severity": row.severity,
                                  "detail": null, "hint": null}),
        "auth_logs" => json!({"level": row.level, "status": row.status, "path": row.path,
                              "msg": row.msg, "error": row.error}),
        _ => json!({}),
    };
    if let (Some(out), Some(extra)) = (out.as_object_mut(), extra.as_object()) {
        out.extend(extra.clone());
    }
    out
}

/// Applies a recognised query to rows (any order) read for its window.
pub fn answer(query: &LogQuery, mut rows: Vec<LogRow>) -> Result<Vec<Value>, String> {
    let matcher = Matcher::new(query)?;
    rows.retain(|row| matcher.matches(row));
    rows.sort_by(|a, b| b.timestamp_us.cmp(&a.timestamp_us).then(a.id.cmp(&b.id)));
    Ok(match &query.shape {
        Shape::List { limit } => {
            let pg_cron = query.filters.iter().any(|g| g == &vec![Condition::CronJob]);
            rows.iter()
                .take((*limit).min(MAX_ROWS))
                .map(|row| list_row(&query.table, pg_cron, row))
                .collect()
        }
        Shape::Count => vec![json!({"count": rows.len()})],
        Shape::Single { id } => rows
            .iter()
            .filter(|row| &row.id == id)
            .take(1)
            .map(|row| {
                json!({"id": row.id, "timestamp": row.timestamp_us,
                              "event_message": row.event_message, "metadata": row.metadata})
            })
            .collect(),
        Shape::Chart { hour } => {
            let bucket = if *hour { 3_600_000_000 } else { 60_000_000 };
            let mut buckets: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
            for row in &rows {
                let (error, warning) = class_of(&query.table, row);
                let counts = buckets
                    .entry(row.timestamp_us - row.timestamp_us.rem_euclid(bucket))
                    .or_default();
                if error {
                    counts.1 += 1;
                } else if warning {
                    counts.2 += 1;
                } else {
                    counts.0 += 1;
                }
            }
            buckets
                .into_iter()
                .map(|(at, (ok, error, warning))| {
                    json!({"timestamp": at, "ok_count": ok, "error_count": error, "warning_count": warning})
                })
                .collect()
        }
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct LogsParams {
    /// One of the log pages' queries.
    sql: Option<String>,
    /// RFC 3339; rows after it (empty: unbounded).
    iso_timestamp_start: Option<String>,
    /// RFC 3339; rows up to it (empty: now).
    iso_timestamp_end: Option<String>,
}

/// `AnalyticsResponse`: rows, or Studio's query error beside no rows.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct LogsAnswer {
    result: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<Value>,
}

fn query_error(message: &str) -> LogsAnswer {
    LogsAnswer {
        result: Vec::new(),
        error: Some(
            json!({"code": 400, "message": message, "status": "INVALID_ARGUMENT",
            "errors": [{"domain": "global", "location": "sql", "locationType": "parameter",
                        "message": message, "reason": "invalidQuery"}]}),
        ),
    }
}

fn instant(name: &str, text: Option<&str>) -> ApiResult<Option<Timestamp>> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| ApiError::BadRequest(format!("{name} {text:?} is not an RFC 3339 time"))),
    }
}

/// Reads the component's pods' logs since `start`, within the bounds.
async fn read_rows(
    state: &AppState,
    project_ref: &str,
    table: &str,
    component: &str,
    start: Option<Timestamp>,
) -> ApiResult<Vec<LogRow>> {
    let pods: Api<Pod> = Api::namespaced(state.client.clone(), &project_namespace(project_ref));
    let listed = pods
        .list(&ListParams::default().labels(&format!("{LABEL_COMPONENT}={component}")))
        .await
        .map_err(|e| ApiError::kube("finding the project's pods", e))?;
    let running: Vec<&Pod> = listed
        .items
        .iter()
        .filter(|pod| pod.spec.as_ref().is_some_and(|s| s.node_name.is_some()))
        .collect();
    let mut rows = Vec::new();
    if running.is_empty() {
        return Ok(rows);
    }
    let config = &state.config;
    let bytes_each = (config.logs_max_bytes / running.len()).max(1);
    let lines_each = (config.logs_max_lines / running.len()).max(1);
    for pod in running {
        let Some(spec) = pod.spec.as_ref() else {
            continue;
        };
        let container = spec
            .containers
            .iter()
            .find(|c| c.name == component)
            .or_else(|| spec.containers.first())
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let params = LogParams {
            container: Some(container.clone()),
            timestamps: true,
            since_time: start,
            limit_bytes: Some(bytes_each as i64),
            tail_lines: Some(lines_each as i64),
            ..Default::default()
        };
        match pods.logs(&pod.name_any(), &params).await {
            Ok(log) => rows.extend(rows_of(
                table,
                project_ref,
                &pod.name_any(),
                &container,
                &log,
            )),
            // A pod starting or gone has no logs to give: the others still count.
            Err(kube::Error::Api(status)) if matches!(status.code, 400 | 404) => {}
            Err(error) => return Err(ApiError::kube("reading the project's logs", error)),
        }
    }
    Ok(rows)
}

#[utoipa::path(get, path = "/platform/projects/{ref}/analytics/endpoints/logs.all", tag = "logs", params(LogsParams), responses((status = 200, body = LogsAnswer), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "Not found, or not yours", body = ErrorBody)), security(("bearer" = [])))]
async fn logs_all(
    State(state): State<AppState>,
    caller: Caller,
    Path(project_ref): Path<String>,
    Query(params): Query<LogsParams>,
) -> ApiResult<Json<LogsAnswer>> {
    access::project(&state.index, &caller, &project_ref)?;
    let start = instant("iso_timestamp_start", params.iso_timestamp_start.as_deref())?;
    let end = instant("iso_timestamp_end", params.iso_timestamp_end.as_deref())?;
    let Some(sql) = params.sql.filter(|s| !s.trim().is_empty()) else {
        return Ok(Json(query_error(&format!("sql is required: {SUPPORTED}"))));
    };
    let query = match log_query::parse(&sql) {
        Ok(query) => query,
        Err(message) => return Ok(Json(query_error(&message))),
    };
    let Some(component) = component_of(&query.table) else {
        // Functions, poolers, upgrades and replication do not run here.
        return Ok(Json(LogsAnswer {
            result: if query.shape == Shape::Count {
                vec![json!({"count": 0})]
            } else {
                Vec::new()
            },
            error: None,
        }));
    };
    let mut rows = read_rows(&state, &project_ref, &query.table, component, start).await?;
    // Logflare's window: after the start, up to the end. Studio pages back
    // with the oldest row's time cut to the millisecond, so the end takes
    // its whole millisecond.
    let start_us = start.map(|t| t.as_microsecond());
    let end_us = end.map(|t| t.as_microsecond() + 999);
    rows.retain(|row| {
        start_us.is_none_or(|s| row.timestamp_us > s)
            && end_us.is_none_or(|e| row.timestamp_us <= e)
    });
    Ok(Json(match answer(&query, rows) {
        Ok(result) => LogsAnswer {
            result,
            error: None,
        },
        Err(message) => query_error(&message),
    }))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(logs_all))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kong_gotrue_and_postgres_lines_are_read() {
        let log = "2026-12-01T10:00:00.000001Z 10.0.0.7 - - [01/Dec/2026:10:00:00 +0000] \"GET /rest/v1/todos?select=* HTTP/1.1\" 503 12 \"-\" \"curl/8.0\"\n";
        let rows = rows_of("edge_logs", "abc", "gateway-1", "gateway", log);
        assert_eq!(rows[0].timestamp_us, 1_796_119_200_000_001);
        assert_eq!(
            (rows[0].method.as_deref(), rows[0].status),
            (Some("GET"), Some(503))
        );
        assert_eq!(
            rows[0].metadata[0]["request"][0]["headers"][0]["user_agent"],
            "curl/8.0"
        );
        assert_eq!(
            rows[0].id,
            rows_of("edge_logs", "abc", "gateway-1", "gateway", log)[0].id
        );
        let auth = "2026-12-01T10:00:01Z {\"level\":\"error\",\"msg\":\"invalid login\",\"path\":\"/token\",\"status\":400}\n";
        let rows = rows_of("auth_logs", "abc", "auth-1", "auth", auth);
        assert_eq!(
            (rows[0].level.as_deref(), rows[0].status),
            (Some("error"), Some(400))
        );
        assert_eq!(rows[0].metadata[0]["msg"], "invalid login");
        let postgres = "2026-12-01T10:00:02Z 2026-12-01 10:00:02.000 UTC [42] ERROR:  relation \"x\" does not exist\n";
        let rows = rows_of("postgres_logs", "abc", "db-0", "db", postgres);
        assert_eq!(rows[0].severity.as_deref(), Some("ERROR"));
    }

    #[test]
    fn a_bad_search_is_a_query_error() {
        let query = log_query::parse("select id, storage_logs.timestamp, event_message from storage_logs\n  where (regexp_contains(event_message, '(unclosed'))\n  order by timestamp desc\n  limit 100\n  ").expect("parsed");
        assert!(
            answer(&query, Vec::new())
                .expect_err("bad regex")
                .contains("regular expression")
        );
    }
}
