//! The SQL Studio's log pages send (`Logs.utils.ts`: `genDefaultQuery`,
//! `genCountQuery`, `genChartQuery`, `genSingleLogQuery`, with the filter
//! templates of `Logs.constants.ts`), recognised by its structure and turned
//! into a [`LogQuery`]. Nothing here runs SQL: a query outside this set is
//! refused with a message saying what is understood.

use std::sync::LazyLock;

use regex::Regex;

/// What the page asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// The newest rows, at most `limit`.
    List { limit: usize },
    /// How many rows match.
    Count,
    /// Rows per minute or hour, split into ok, warning and error.
    Chart { hour: bool },
    /// The row with this id.
    Single { id: String },
}

/// One condition of a page's filter menu, or its search box.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `regexp_contains(event_message, '…')`: the search box, a regex.
    MessageMatches(String),
    StatusBetween(u16, u16),
    MethodIs(String),
    PathStartsWith(String),
    /// `REGEXP_CONTAINS(metadata.path, "…")` (auth endpoints).
    PathMatches(String),
    SeverityIn(Vec<String>),
    SeverityNotIn(Vec<String>),
    LevelIs(String),
    LevelIsNot(String),
    IdentifierIs(String),
    /// pg_cron's page: Postgres rows about cron jobs.
    CronJob,
}

/// A recognised query: its shape, its source table and its filters (all
/// groups must hold; within a group, any condition).
#[derive(Debug, Clone, PartialEq)]
pub struct LogQuery {
    pub shape: Shape,
    pub table: String,
    pub filters: Vec<Vec<Condition>>,
}

/// What is understood, said when something else is asked.
pub const SUPPORTED: &str = "this installation reads logs from the project's pods and understands the queries of Studio's log pages (a table's newest rows, their count, the event chart and one row by id, with the pages' filters and search); other SQL is not run";

static SINGLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)^\s*select id, timestamp, event_message, metadata from (\w+) where id = '([^']*)' limit 1\s*$")
        .expect("regex")
});
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^\s*select count\(\*\) as count from (\w+)\b(.*)$").expect("regex")
});
static CHART_TABLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)FROM\s+(\w+)\s+t\b").expect("regex"));
static CHART_UNIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"timestamp_trunc\(t\.timestamp,\s*(minute|hour|day)\)").expect("regex")
});
static LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)^\s*select\s.*?\sfrom\s+(\w+)\b(.*?)\s*order by timestamp desc\s+limit\s+(\d+)\s*;?\s*$")
        .expect("regex")
});
static BETWEEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:response\.status_code|cast\(metadata\.status as int64\)) between (\d{3}) and (\d{3})$")
        .expect("regex")
});
static METHOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^request\.method = '([A-Z]+)'$").expect("regex"));
static PATH_LIKE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^request\.path like '(/[a-z]+/)%'$").expect("regex"));
static PATH_REGEX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^REGEXP_CONTAINS\(metadata\.path, "([^"]*)"\)$"#).expect("regex")
});
static SEVERITY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^parsed\.error_severity (in|not in) \(([^)]*)\)$").expect("regex")
});
static SEVERITY_IS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^parsed\.error_severity = '(\w+)'$").expect("regex"));
static LEVEL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^metadata\.level (=|!=) '(\w+)'$").expect("regex"));
static IDENTIFIER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^identifier = '([^']*)'$").expect("regex"));

const SEARCH_OPEN: &str = "(regexp_contains(event_message, '";
const SEARCH_CLOSE: &str = "'))";
const CRON_BASE: &str =
    "( parsed.application_name = 'pg_cron' or regexp_contains(event_message, 'cron job') )";

fn refuse(what: &str) -> String {
    format!("{what}: {SUPPORTED}")
}

/// Recognises one of the log pages' queries.
pub fn parse(sql: &str) -> Result<LogQuery, String> {
    let sql = sql.trim();
    if let Some(found) = SINGLE.captures(sql) {
        return Ok(LogQuery {
            shape: Shape::Single {
                id: found[2].to_string(),
            },
            table: found[1].to_string(),
            filters: Vec::new(),
        });
    }
    if sql.contains("-- log-event-chart") {
        let table = CHART_TABLE
            .captures(sql)
            .map(|c| c[1].to_string())
            .ok_or_else(|| refuse("a chart query without its table"))?;
        let hour = CHART_UNIT.captures(sql).is_some_and(|c| &c[1] != "minute");
        // `where (<filters>) and t.timestamp > '…'` or `where t.timestamp > '…'`.
        let filters = match (sql.find("where ("), sql.rfind(" and t.timestamp > '")) {
            (Some(start), Some(end)) if start < end => {
                conditions(&sql[start + "where ".len()..end])?
            }
            _ => Vec::new(),
        };
        return Ok(LogQuery {
            shape: Shape::Chart { hour },
            filters: with_cron(&table, sql, filters),
            table,
        });
    }
    if let Some(found) = COUNT.captures(sql) {
        let table = found[1].to_string();
        let rest = found[2].trim();
        let filters = match rest.find("where ") {
            Some(start) => conditions(rest[start + "where ".len()..].trim())?,
            None => Vec::new(),
        };
        return Ok(LogQuery {
            shape: Shape::Count,
            filters: with_cron(&table, sql, filters),
            table,
        });
    }
    if let Some(found) = LIST.captures(sql) {
        let table = found[1].to_string();
        let limit: usize = found[3]
            .parse()
            .map_err(|_| refuse("a limit that is not a number"))?;
        let rest = found[2].trim();
        let filters = match rest.find("where ") {
            Some(start) => conditions(rest[start + "where ".len()..].trim())?,
            None => Vec::new(),
        };
        return Ok(LogQuery {
            shape: Shape::List { limit },
            filters: with_cron(&table, sql, filters),
            table,
        });
    }
    Err(refuse("this query is not one of the log pages'"))
}

/// pg_cron's page reads `postgres_logs` with a fixed condition first.
fn with_cron(table: &str, sql: &str, mut filters: Vec<Vec<Condition>>) -> Vec<Vec<Condition>> {
    if table == "postgres_logs" && sql.contains("parsed.application_name = 'pg_cron'") {
        filters.retain(|group| group != &vec![Condition::CronJob]);
        filters.insert(0, vec![Condition::CronJob]);
    }
    filters
}

/// Parses `(<a> or <b>) and (<c>) …`: the search clause by its structure
/// (its text may hold anything), the rest from the closed set of the pages'
/// filter templates.
fn conditions(clause: &str) -> Result<Vec<Vec<Condition>>, String> {
    let mut clause = clause.trim().to_string();
    let mut groups = Vec::new();
    if let Some(rest) = clause.strip_prefix(CRON_BASE) {
        groups.push(vec![Condition::CronJob]);
        clause = rest.trim().trim_start_matches("AND").trim().to_string();
    }
    if let Some(start) = clause.find(SEARCH_OPEN)
        && let Some(end) = clause.rfind(SEARCH_CLOSE)
        && end >= start + SEARCH_OPEN.len()
    {
        let pattern = clause[start + SEARCH_OPEN.len()..end].to_string();
        groups.push(vec![Condition::MessageMatches(pattern)]);
        let before = clause[..start]
            .trim()
            .trim_end_matches(" and")
            .trim()
            .to_string();
        let after = clause[end + SEARCH_CLOSE.len()..]
            .trim()
            .trim_start_matches("and ")
            .trim()
            .to_string();
        clause = [before, after]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" and ");
    }
    let clause = clause.trim();
    if clause.is_empty() {
        return Ok(groups);
    }
    let inner = clause
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))
        .ok_or_else(|| refuse(&format!("the filter {clause:?} is not one of the pages'")))?;
    for group in inner.split(") and (") {
        let atoms = group
            .split(" or ")
            .map(|atom| condition(atom.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        groups.push(atoms);
    }
    Ok(groups)
}

fn quoted_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(|item| item.trim().trim_matches('\'').to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

fn condition(atom: &str) -> Result<Condition, String> {
    if let Some(found) = BETWEEN.captures(atom) {
        let low = found[1].parse().unwrap_or(0);
        let high = found[2].parse().unwrap_or(0);
        return Ok(Condition::StatusBetween(low, high));
    }
    if let Some(found) = METHOD.captures(atom) {
        return Ok(Condition::MethodIs(found[1].to_string()));
    }
    if let Some(found) = PATH_LIKE.captures(atom) {
        return Ok(Condition::PathStartsWith(found[1].to_string()));
    }
    if let Some(found) = PATH_REGEX.captures(atom) {
        return Ok(Condition::PathMatches(found[1].to_string()));
    }
    if let Some(found) = SEVERITY.captures(atom) {
        let list = quoted_list(&found[2]);
        return Ok(if &found[1] == "in" {
            Condition::SeverityIn(list)
        } else {
            Condition::SeverityNotIn(list)
        });
    }
    if let Some(found) = SEVERITY_IS.captures(atom) {
        return Ok(Condition::SeverityIn(vec![found[1].to_string()]));
    }
    if let Some(found) = LEVEL.captures(atom) {
        return Ok(if &found[1] == "=" {
            Condition::LevelIs(found[2].to_string())
        } else {
            Condition::LevelIsNot(found[2].to_string())
        });
    }
    if let Some(found) = IDENTIFIER.captures(atom) {
        return Ok(Condition::IdentifierIs(found[1].to_string()));
    }
    Err(refuse(&format!(
        "the filter {atom:?} is not one of the pages'"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Verbatim from Studio's generators (Logs.utils.ts at the pinned build).
    const EDGE_LIST: &str = "select id, identifier, timestamp, event_message, request.method, request.path, request.search, response.status_code\n  from edge_logs\n  cross join unnest(metadata) as m\n  cross join unnest(m.request) as request\n  cross join unnest(m.response) as response\n  \n  order by timestamp desc\n  limit 100\n  ";

    #[test]
    fn the_pages_queries_are_understood() {
        assert_eq!(
            parse(EDGE_LIST),
            Ok(LogQuery {
                shape: Shape::List { limit: 100 },
                table: "edge_logs".into(),
                filters: vec![]
            })
        );
        let filtered = "select id, identifier, timestamp, event_message, request.method, request.path, request.search, response.status_code\n  from edge_logs\n  cross join unnest(metadata) as m\n  cross join unnest(m.request) as request\n  cross join unnest(m.response) as response\n  where (response.status_code between 500 and 599 or response.status_code between 400 and 499) and (request.method = 'GET') and (regexp_contains(event_message, 'it's (a) and b')) and (identifier = 'abc-rr')\n  order by timestamp desc\n  limit 100\n  ";
        let query = parse(filtered).expect("understood");
        assert_eq!(
            query.filters,
            vec![
                vec![Condition::MessageMatches("it's (a) and b".into())],
                vec![
                    Condition::StatusBetween(500, 599),
                    Condition::StatusBetween(400, 499)
                ],
                vec![Condition::MethodIs("GET".into())],
                vec![Condition::IdentifierIs("abc-rr".into())],
            ]
        );
        let auth = "select id, auth_logs.timestamp, event_message, metadata.level, metadata.status, metadata.path, metadata.msg as msg, metadata.error from auth_logs\n  cross join unnest(metadata) as metadata\n  where (metadata.level = 'error' or metadata.level = 'fatal' or metadata.level = 'warning') and (cast(metadata.status as int64) between 400 and 499) and (REGEXP_CONTAINS(metadata.path, \"/signup|/invite|/verify\"))\n  order by timestamp desc\n  limit 100\n    ";
        let query = parse(auth).expect("understood");
        assert_eq!(query.table, "auth_logs");
        assert_eq!(
            query.filters[2],
            vec![Condition::PathMatches("/signup|/invite|/verify".into())]
        );
        let count = "SELECT count(*) as count FROM storage_logs  where (regexp_contains(event_message, 'x'))";
        assert_eq!(parse(count).expect("count").shape, Shape::Count);
        let chart = "\nSELECT\n-- log-event-chart\n  timestamp_trunc(t.timestamp, hour) as timestamp,\n  count(CASE WHEN NOT (false OR false) THEN 1 END) as ok_count,\n  count(CASE WHEN false THEN 1 END) as error_count,\n  count(CASE WHEN false THEN 1 END) as warning_count,\nFROM\n  realtime_logs t\n  \n  where (regexp_contains(event_message, 'join')) and t.timestamp > '2026-12-01T09:00:00.000Z'\nGROUP BY\ntimestamp\nORDER BY\n  timestamp ASC\n  ";
        let query = parse(chart).expect("chart");
        assert_eq!(
            (query.shape, query.table.as_str()),
            (Shape::Chart { hour: true }, "realtime_logs")
        );
        assert_eq!(
            query.filters,
            vec![vec![Condition::MessageMatches("join".into())]]
        );
        let single = "select id, timestamp, event_message, metadata from postgres_logs where id = 'abc' limit 1";
        assert_eq!(
            parse(single).expect("single").shape,
            Shape::Single { id: "abc".into() }
        );
        let cron = "select id, postgres_logs.timestamp, event_message, parsed.error_severity, parsed.query\nfrom postgres_logs\ncross join unnest(metadata) as m\n  cross join unnest(m.parsed) as parsed\nwhere ( parsed.application_name = 'pg_cron' or regexp_contains(event_message, 'cron job') ) AND (regexp_contains(event_message, 'q'))\norder by timestamp desc\nlimit 100\n";
        let query = parse(cron).expect("cron");
        assert_eq!(query.filters[0], vec![Condition::CronJob]);
        assert_eq!(
            query.filters[1],
            vec![Condition::MessageMatches("q".into())]
        );
    }

    #[test]
    fn other_sql_is_refused_saying_what_is_understood() {
        for sql in [
            "select * from edge_logs",
            "delete from auth_logs",
            "select id, timestamp from edge_logs where (1 = 1) order by timestamp desc limit 10",
        ] {
            let refused = parse(sql).expect_err(sql);
            assert!(refused.contains("log pages"), "{refused}");
        }
    }
}
