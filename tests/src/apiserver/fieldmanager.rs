//! Server-side apply and `metadata.managedFields` bookkeeping, following the
//! semantics Kubernetes implements with structured-merge-diff.
//!
//! Every write records which *manager* owns which fields. A manager is
//! identified by its name, its operation (`Apply` for server-side apply,
//! `Update` for every other write), its subresource and — for updaters
//! only — its apiVersion. Field sets are trees of path elements, stored in
//! the `FieldsV1` encoding: `f:<field>` for object fields, `k:{<keys>}` for
//! items of map-lists, `v:<json>` for items of sets, and `.` for ownership
//! of a node that also has owned children.
//!
//! * [`apply`] merges an applied configuration into the live object by the
//!   schema's list types, drops the fields the applier stopped applying (if
//!   nobody else owns them), reports conflicts with other managers, and makes
//!   the applier's `Apply` entry exactly the applied field set.
//! * [`record_update`] gives the writer of a create/update/patch every field
//!   it added or changed, taking those fields away from other managers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

/// How a list merges, as given by `x-kubernetes-list-type` (or a built-in
/// type's Go markers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// Replaced wholesale; one owner for the whole list.
    Atomic,
    /// A set of scalars: merged by union, each value owned separately.
    Set,
    /// A list of objects identified by these key fields: merged item by item.
    Map(Vec<String>),
}

/// Schema knowledge the merge needs. `path` is the chain of object field
/// names from the root, skipping list items, e.g.
/// `["spec", "template", "spec", "containers", "ports"]`.
pub trait MergeSchema {
    /// The merge strategy of the list at `path`.
    fn list_type(&self, path: &[&str]) -> ListType;

    /// Whether the object at `path` is atomic (`x-kubernetes-map-type: atomic`
    /// or `+structType=atomic`): replaced wholesale, owned as one field.
    fn is_atomic_map(&self, _path: &[&str]) -> bool {
        false
    }

    /// The value a map-list key field takes when an item omits it. Kubernetes
    /// keys items by the defaulted value; the one default that matters for
    /// built-in types is `protocol: TCP` in port lists.
    fn list_key_default(&self, _path: &[&str], key: &str) -> Option<Value> {
        (key == "protocol").then(|| Value::from("TCP"))
    }
}

/// Merge strategies of Kubernetes built-in types, by field name: the
/// `patchMergeKey`/`listType` markers of the core, apps and networking types
/// our clients touch. Every other list is atomic.
pub struct BuiltinMergeSchema;

impl MergeSchema for BuiltinMergeSchema {
    fn list_type(&self, path: &[&str]) -> ListType {
        let Some((&field, parents)) = path.split_last() else {
            return ListType::Atomic;
        };
        let parent = parents.last().copied();
        let in_container = matches!(
            parent,
            Some("containers" | "initContainers" | "ephemeralContainers")
        );
        let keyed = |keys: &[&str]| ListType::Map(keys.iter().map(|k| (*k).to_string()).collect());
        match field {
            "finalizers" if parent == Some("metadata") => ListType::Set,
            "ownerReferences" if parent == Some("metadata") => keyed(&["uid"]),
            "containers" | "initContainers" | "ephemeralContainers" => keyed(&["name"]),
            "env" if in_container => keyed(&["name"]),
            "ports" if in_container => keyed(&["containerPort", "protocol"]),
            "ports" if path == ["spec", "ports"] => keyed(&["port", "protocol"]),
            "volumeMounts" if in_container => keyed(&["mountPath"]),
            "volumeDevices" if in_container => keyed(&["devicePath"]),
            "volumes" | "imagePullSecrets" => keyed(&["name"]),
            "conditions" => keyed(&["type"]),
            "hostAliases" => keyed(&["ip"]),
            "topologySpreadConstraints" => keyed(&["topologyKey", "whenUnsatisfiable"]),
            _ => ListType::Atomic,
        }
    }

    /// Label selectors are `+structType=atomic`; Service `spec.selector` and
    /// pod `nodeSelector` are `+mapType=atomic`.
    fn is_atomic_map(&self, path: &[&str]) -> bool {
        matches!(
            path.last(),
            Some(
                &("selector"
                    | "nodeSelector"
                    | "labelSelector"
                    | "namespaceSelector"
                    | "podSelector")
            )
        )
    }
}

/// Who is writing, and what the write may own.
pub struct FieldManagerRequest<'a> {
    /// The field manager (the `fieldManager` parameter or a default).
    pub manager: &'a str,
    /// apiVersion of the request, recorded in the entry.
    pub api_version: &'a str,
    /// `Some("status")` for writes to the status subresource: then only
    /// `status` is tracked.
    pub subresource: Option<&'a str>,
    /// RFC 3339 time recorded in the entry.
    pub time: &'a str,
    /// Top-level fields this request neither owns nor changes (reset by the
    /// strategy), e.g. `["status"]` on the main resource of a type with a
    /// status subresource.
    pub ignored_top_level: &'a [&'a str],
}

/// The operation recorded in a managedFields entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    Apply,
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

/// A field an apply would change that another manager owns.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    pub subresource: Option<String>,
    /// Time of the other manager's entry, if it has one.
    pub time: Option<String>,
    /// The field as kubectl prints it, e.g. `.spec.replicas` or
    /// `.spec.containers[name="app"].image`.
    pub field: String,
}

impl Conflict {
    /// The other manager as kube-apiserver names it in conflict messages:
    /// `"kubectl"` for appliers, `"kubectl" using apps/v1 at <time>` for
    /// updaters, with ` with subresource "status"` where it applies.
    pub fn manager_description(&self) -> String {
        let mut description = quoted(&self.manager);
        if let Some(subresource) = &self.subresource {
            description.push_str(&format!(" with subresource {}", quoted(subresource)));
        }
        if self.operation == Operation::Update {
            description.push_str(&format!(" using {}", self.api_version));
            if let Some(time) = &self.time {
                description.push_str(&format!(" at {time}"));
            }
        }
        description
    }
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "conflict with {}: {}",
            self.manager_description(),
            self.field
        )
    }
}

/// The message of kube-apiserver's 409 for apply conflicts, e.g.
/// `Apply failed with 1 conflict: conflict with "a": .spec.replicas`.
pub fn conflict_message(conflicts: &[Conflict]) -> String {
    if let [only] = conflicts {
        return format!("Apply failed with 1 conflict: {only}");
    }
    let mut by_manager: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for conflict in conflicts {
        by_manager
            .entry(conflict.manager_description())
            .or_default()
            .push(&conflict.field);
    }
    let mut lines = Vec::new();
    for (manager, fields) in by_manager {
        lines.push(format!("conflicts with {manager}"));
        lines.extend(fields.iter().map(|field| format!("- {field}")));
    }
    format!(
        "Apply failed with {} conflicts: {}",
        conflicts.len(),
        lines.join("\n")
    )
}

/// Server-side apply. `live` is `None` for a create. Returns the new object
/// with `metadata.managedFields` updated, or every conflict when `force` is
/// false and the apply would change fields other managers own.
///
/// Fields that are never owned (apiVersion, kind, name, namespace, uid,
/// resourceVersion, ...) and the request's ignored fields keep their live
/// values; on create the identity fields come from `applied`.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    req: &FieldManagerRequest,
    schema: &dyn MergeSchema,
    force: bool,
) -> Result<Value, Vec<Conflict>> {
    let walker = Walker::new(schema, req);
    let (base, mut entries) = match live {
        Some(live) => {
            let mut base = live.clone();
            remove_managed_fields(&mut base);
            (base, decode_managed_fields(live))
        }
        None => (walker.identity_of(applied), Vec::new()),
    };
    if live.is_some() && entries.is_empty() {
        // An object nobody tracked yet: its current fields belong to a
        // placeholder updater, so the first apply cannot silently take them.
        let fields = walker.diff(&Value::Object(Map::new()), &base).changed();
        if !fields.is_empty() {
            entries.push(ManagedEntry {
                manager: "before-first-apply".to_string(),
                operation: Operation::Update,
                api_version: req.api_version.to_string(),
                subresource: req.subresource.map(str::to_string),
                time: Some(req.time.to_string()),
                fields,
            });
        }
    }

    let applied_fields = walker.applied_fields(applied);
    let applier = entries.iter().position(|entry| {
        entry.is(
            req.manager,
            Operation::Apply,
            req.api_version,
            req.subresource,
        )
    });

    let mut merged = walker.merge(&base, applied, &mut Vec::new(), Level::Root);
    if let Some(index) = applier {
        // Whatever the applier stopped applying goes, unless someone still
        // owns it (another manager, or the applier through a parent path).
        let mut owned = applied_fields.clone();
        for (other, entry) in entries.iter().enumerate() {
            if other != index {
                owned.union_with(&entry.fields);
            }
        }
        walker.prune(
            &mut merged,
            &entries[index].fields,
            &owned,
            &mut Vec::new(),
            Level::Root,
        );
    }

    let diff = walker.diff(&base, &merged);
    let changed = diff.changed();
    let mut conflicts = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        if Some(index) == applier {
            continue;
        }
        for path in entry.fields.intersection(&changed).member_paths() {
            conflicts.push(Conflict {
                manager: entry.manager.clone(),
                operation: entry.operation,
                api_version: entry.api_version.clone(),
                subresource: entry.subresource.clone(),
                time: entry.time.clone(),
                field: display_path(&path),
            });
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }

    for (index, entry) in entries.iter_mut().enumerate() {
        if Some(index) != applier {
            entry.fields = entry.fields.difference(&changed).difference(&diff.removed);
        }
    }
    let object_changed = merged != base;
    match applier {
        Some(index) => {
            let entry = &mut entries[index];
            entry.fields = applied_fields;
            entry.api_version = req.api_version.to_string();
            // Like kube-apiserver, a no-op apply keeps the entry's time.
            if object_changed || entry.time.is_none() {
                entry.time = Some(req.time.to_string());
            }
        }
        None => entries.push(ManagedEntry {
            manager: req.manager.to_string(),
            operation: Operation::Apply,
            api_version: req.api_version.to_string(),
            subresource: req.subresource.map(str::to_string),
            time: Some(req.time.to_string()),
            fields: applied_fields,
        }),
    }
    write_managed_fields(&mut merged, entries);
    Ok(merged)
}

/// Records a non-apply write (create, update, merge/JSON/strategic patch) in
/// `new`'s `metadata.managedFields`: the writer's `Update` entry gains every
/// field it added or changed relative to `old` (`None` on create), and those
/// fields — and the ones it removed — are taken from every other manager.
///
/// As in Kubernetes, managedFields the client sent in `new` (non-empty, main
/// resource only) replace the live ones; otherwise `old`'s are kept.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    req: &FieldManagerRequest,
    schema: &dyn MergeSchema,
) {
    if !new.is_object() {
        return;
    }
    let walker = Walker::new(schema, req);
    let client_supplied = req.subresource.is_none()
        && new
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .is_some_and(|entries| !entries.is_empty());
    let mut entries = match (client_supplied, old) {
        (true, _) => decode_managed_fields(new),
        (false, Some(old)) => decode_managed_fields(old),
        (false, None) => Vec::new(),
    };

    let empty = Value::Object(Map::new());
    let diff = walker.diff(old.unwrap_or(&empty), new);
    let changed = diff.changed();
    for entry in &mut entries {
        entry.fields = entry.fields.difference(&changed).difference(&diff.removed);
    }
    if !changed.is_empty() {
        let own = entries.iter_mut().find(|entry| {
            entry.is(
                req.manager,
                Operation::Update,
                req.api_version,
                req.subresource,
            )
        });
        match own {
            Some(entry) => {
                entry.fields.union_with(&changed);
                entry.time = Some(req.time.to_string());
            }
            None => entries.push(ManagedEntry {
                manager: req.manager.to_string(),
                operation: Operation::Update,
                api_version: req.api_version.to_string(),
                subresource: req.subresource.map(str::to_string),
                time: Some(req.time.to_string()),
                fields: changed,
            }),
        }
    }
    write_managed_fields(new, entries);
}

/// Checks an applied configuration as Kubernetes does before merging it:
/// every map-list item is an object carrying its key fields (or a defaulted
/// one), and no two items of a map-list or set are the same. [`apply`] itself
/// tolerates such input (a missing key reads as `null`, the first duplicate
/// wins), so servers should call this first and answer errors with 422/500.
pub fn validate_applied(applied: &Value, schema: &dyn MergeSchema) -> Result<(), String> {
    validate_value(applied, schema, &mut Vec::new(), &mut Vec::new())
}

fn validate_value(
    value: &Value,
    schema: &dyn MergeSchema,
    path: &mut Vec<String>,
    shown: &mut Vec<String>,
) -> Result<(), String> {
    // A snapshot of the path: `path` itself grows while items are walked.
    let here = path.clone();
    let names: Vec<&str> = here.iter().map(String::as_str).collect();
    match value {
        Value::Object(map) if !schema.is_atomic_map(&names) => {
            for (key, child) in map {
                path.push(key.clone());
                shown.push(field_element(key));
                let result = validate_value(child, schema, path, shown);
                path.pop();
                shown.pop();
                result?;
            }
        }
        Value::Array(items) => match schema.list_type(&names) {
            ListType::Atomic => {}
            ListType::Set => {
                let mut seen = BTreeSet::new();
                for item in items {
                    if !seen.insert(value_element(item)) {
                        return Err(format!(
                            "{}: duplicate entries for value {item}",
                            display_path(shown)
                        ));
                    }
                }
            }
            ListType::Map(keys) => {
                let mut seen = BTreeSet::new();
                for (index, item) in items.iter().enumerate() {
                    if !item.is_object() {
                        return Err(format!(
                            "{}: element {index}: expected an object in an associative list",
                            display_path(shown)
                        ));
                    }
                    for key in &keys {
                        let present = item.get(key).is_some_and(|v| !v.is_null());
                        if !present && schema.list_key_default(&names, key).is_none() {
                            return Err(format!(
                                "{}: element {index}: associative list with keys has an element \
                                 that omits key field {} (and doesn't have default value)",
                                display_path(shown),
                                quoted(key)
                            ));
                        }
                    }
                    let element = key_element(item, &keys, schema, &names);
                    if !seen.insert(element.clone()) {
                        return Err(format!(
                            "{}: duplicate entries for key {}",
                            display_path(shown),
                            display_path(&[element])
                        ));
                    }
                    shown.push(element);
                    let result = validate_value(item, schema, path, shown);
                    shown.pop();
                    result?;
                }
            }
        },
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Field sets

/// A set of field paths, as a tree keyed by encoded path elements (`f:name`,
/// `k:{...}`, `v:...`). `member` marks the node's own path as in the set.
/// Invariant: no child is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FieldSet {
    member: bool,
    children: BTreeMap<String, FieldSet>,
}

impl FieldSet {
    fn is_empty(&self) -> bool {
        !self.member && self.children.is_empty()
    }

    /// Adds `path`; the root itself is never a member.
    fn insert(&mut self, path: &[String]) {
        if path.is_empty() {
            return;
        }
        let mut node = self;
        for element in path {
            node = node.children.entry(element.clone()).or_default();
        }
        node.member = true;
    }

    fn add_child(&mut self, element: String, child: FieldSet) {
        if !child.is_empty() {
            self.children.entry(element).or_default().union_with(&child);
        }
    }

    fn union_with(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (element, child) in &other.children {
            self.children
                .entry(element.clone())
                .or_default()
                .union_with(child);
        }
    }

    fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (element, child) in &self.children {
            let rest = match other.children.get(element) {
                Some(other_child) => child.difference(other_child),
                None => child.clone(),
            };
            if !rest.is_empty() {
                out.children.insert(element.clone(), rest);
            }
        }
        out
    }

    fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (element, child) in &self.children {
            if let Some(other_child) = other.children.get(element) {
                let common = child.intersection(other_child);
                if !common.is_empty() {
                    out.children.insert(element.clone(), common);
                }
            }
        }
        out
    }

    /// The member paths, parents before children, in element order.
    fn member_paths(&self) -> Vec<Vec<String>> {
        fn walk(node: &FieldSet, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
            if node.member && !prefix.is_empty() {
                out.push(prefix.clone());
            }
            for (element, child) in &node.children {
                prefix.push(element.clone());
                walk(child, prefix, out);
                prefix.pop();
            }
        }
        let mut out = Vec::new();
        walk(self, &mut Vec::new(), &mut out);
        out
    }

    /// The `fieldsV1` encoding: a leaf is `{}`; a member with children
    /// carries `".": {}`.
    fn to_fields_v1(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".to_string(), Value::Object(Map::new()));
        }
        for (element, child) in &self.children {
            map.insert(element.clone(), child.to_fields_v1());
        }
        Value::Object(map)
    }

    fn from_fields_v1(value: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        let Some(map) = value.as_object() else {
            return set;
        };
        for (element, child) in map {
            if element == "." {
                set.member = true;
                continue;
            }
            let mut node = FieldSet::from_fields_v1(child);
            if node.children.is_empty() {
                // `{}` (or a lone `.`) is a leaf.
                node.member = true;
            }
            set.add_child(canonical_element(element), node);
        }
        set
    }
}

fn field_element(name: &str) -> String {
    format!("f:{name}")
}

fn value_element(value: &Value) -> String {
    format!("v:{value}")
}

/// `k:{...}` with the key fields sorted by name, as Kubernetes encodes them.
fn key_element(item: &Value, keys: &[String], schema: &dyn MergeSchema, path: &[&str]) -> String {
    let sorted: BTreeSet<&String> = keys.iter().collect();
    let mut fields = Map::new();
    for key in sorted {
        let value = item
            .get(key)
            .filter(|value| !value.is_null())
            .cloned()
            .or_else(|| schema.list_key_default(path, key))
            .unwrap_or(Value::Null);
        fields.insert(key.clone(), value);
    }
    format!("k:{}", Value::Object(fields))
}

/// Re-encodes a path element read from stored managedFields so that equal
/// keys compare equal whatever their original spelling.
fn canonical_element(element: &str) -> String {
    let parse = |json: &str| serde_json::from_str::<Value>(json).ok();
    if let Some(Value::Object(fields)) = element.strip_prefix("k:").and_then(parse) {
        let sorted: BTreeMap<&String, &Value> = fields.iter().collect();
        let mut canonical = Map::new();
        for (key, value) in sorted {
            canonical.insert(key.clone(), value.clone());
        }
        return format!("k:{}", Value::Object(canonical));
    }
    if let Some(value) = element.strip_prefix("v:").and_then(parse) {
        return value_element(&value);
    }
    element.to_string()
}

/// A path as kubectl prints it: `.spec.containers[name="app"].image`,
/// `.metadata.finalizers[="x"]`.
fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(name) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(name);
        } else if let Some(json) = element.strip_prefix("k:") {
            match serde_json::from_str::<Value>(json) {
                Ok(Value::Object(fields)) => {
                    let parts: Vec<String> = fields
                        .iter()
                        .map(|(key, value)| format!("{key}={value}"))
                        .collect();
                    out.push_str(&format!("[{}]", parts.join(",")));
                }
                _ => out.push_str(&format!("[{json}]")),
            }
        } else if let Some(json) = element.strip_prefix("v:") {
            out.push_str(&format!("[={json}]"));
        } else if let Some(index) = element.strip_prefix("i:") {
            out.push_str(&format!("[{index}]"));
        } else {
            out.push_str(element);
        }
    }
    out
}

fn quoted(text: &str) -> String {
    Value::from(text).to_string()
}

// ---------------------------------------------------------------------------
// managedFields entries

#[derive(Debug, Clone)]
struct ManagedEntry {
    manager: String,
    operation: Operation,
    api_version: String,
    subresource: Option<String>,
    time: Option<String>,
    fields: FieldSet,
}

impl ManagedEntry {
    /// Whether this entry belongs to the given manager. Appliers are one
    /// manager across apiVersions; updaters are one per apiVersion.
    fn is(
        &self,
        manager: &str,
        operation: Operation,
        api_version: &str,
        subresource: Option<&str>,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
            && (operation == Operation::Apply || self.api_version == api_version)
    }

    fn decode(raw: &Value) -> Option<ManagedEntry> {
        let operation = match raw.get("operation").and_then(Value::as_str)? {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return None,
        };
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_string);
        Some(ManagedEntry {
            manager: text("manager").unwrap_or_default(),
            operation,
            api_version: text("apiVersion").unwrap_or_default(),
            subresource: text("subresource").filter(|s| !s.is_empty()),
            time: text("time"),
            fields: raw
                .get("fieldsV1")
                .map(FieldSet::from_fields_v1)
                .unwrap_or_default(),
        })
    }

    fn encode(&self) -> Value {
        let mut map = Map::new();
        map.insert("manager".into(), Value::from(self.manager.as_str()));
        map.insert("operation".into(), Value::from(self.operation.as_str()));
        map.insert("apiVersion".into(), Value::from(self.api_version.as_str()));
        if let Some(time) = &self.time {
            map.insert("time".into(), Value::from(time.as_str()));
        }
        map.insert("fieldsType".into(), Value::from("FieldsV1"));
        map.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if let Some(subresource) = &self.subresource {
            map.insert("subresource".into(), Value::from(subresource.as_str()));
        }
        Value::Object(map)
    }
}

/// Entries of `object`, one per manager (duplicates are united), skipping
/// entries that cannot be decoded.
fn decode_managed_fields(object: &Value) -> Vec<ManagedEntry> {
    let mut entries: Vec<ManagedEntry> = Vec::new();
    let raw_entries = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    for raw in raw_entries.into_iter().flatten() {
        let Some(entry) = ManagedEntry::decode(raw) else {
            continue;
        };
        let existing = entries.iter_mut().find(|e| {
            e.is(
                &entry.manager,
                entry.operation,
                &entry.api_version,
                entry.subresource.as_deref(),
            )
        });
        match existing {
            Some(existing) => existing.fields.union_with(&entry.fields),
            None => entries.push(entry),
        }
    }
    sort_entries(&mut entries);
    entries
}

/// Kubernetes' order: appliers first, then by time, manager, apiVersion and
/// subresource.
fn sort_entries(entries: &mut [ManagedEntry]) {
    entries.sort_by(|a, b| {
        (
            a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
}

/// Stores `entries` (minus empty ones) in `object`; no entries means no
/// `managedFields` key.
fn write_managed_fields(object: &mut Value, mut entries: Vec<ManagedEntry>) {
    entries.retain(|entry| !entry.fields.is_empty());
    sort_entries(&mut entries);
    let Some(root) = object.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        if let Some(metadata) = root.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.remove("managedFields");
        }
        return;
    }
    let metadata = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Some(metadata) = metadata.as_object_mut() {
        metadata.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(ManagedEntry::encode).collect()),
        );
    }
}

fn remove_managed_fields(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
}

// ---------------------------------------------------------------------------
// Walking objects

/// metadata fields the server owns; never tracked, never merged from an
/// applied configuration.
const SYSTEM_METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Where a walk is, for the ignore rules (which only concern the root and
/// `metadata`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Metadata,
    Nested,
}

impl Level {
    fn child(self, key: &str) -> Level {
        if self == Level::Root && key == "metadata" {
            Level::Metadata
        } else {
            Level::Nested
        }
    }
}

/// Added, changed and removed paths between two objects.
#[derive(Default)]
struct Diff {
    added: FieldSet,
    modified: FieldSet,
    removed: FieldSet,
}

impl Diff {
    fn changed(&self) -> FieldSet {
        let mut changed = self.added.clone();
        changed.union_with(&self.modified);
        changed
    }
}

struct Walker<'a> {
    schema: &'a dyn MergeSchema,
    ignored_top_level: &'a [&'a str],
    status_only: bool,
}

impl<'a> Walker<'a> {
    fn new(schema: &'a dyn MergeSchema, req: &'a FieldManagerRequest<'a>) -> Self {
        Walker {
            schema,
            ignored_top_level: req.ignored_top_level,
            status_only: req.subresource == Some("status"),
        }
    }

    fn is_ignored(&self, level: Level, name: &str) -> bool {
        match level {
            Level::Root => {
                matches!(name, "apiVersion" | "kind")
                    || self.ignored_top_level.contains(&name)
                    || (self.status_only && name != "status")
            }
            Level::Metadata => SYSTEM_METADATA_FIELDS.contains(&name),
            Level::Nested => false,
        }
    }

    fn list_type(&self, path: &[String]) -> ListType {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        self.schema.list_type(&names)
    }

    fn is_atomic_map(&self, path: &[String]) -> bool {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        self.schema.is_atomic_map(&names)
    }

    fn item_key(&self, item: &Value, keys: &[String], path: &[String]) -> String {
        let names: Vec<&str> = path.iter().map(String::as_str).collect();
        key_element(item, keys, self.schema, &names)
    }

    /// The starting point of an apply-create: apiVersion, kind and the
    /// server-owned metadata (name, namespace) of the applied configuration.
    fn identity_of(&self, applied: &Value) -> Value {
        let mut identity = Map::new();
        let Some(applied) = applied.as_object() else {
            return Value::Object(identity);
        };
        for key in ["apiVersion", "kind"] {
            if let Some(value) = applied.get(key) {
                identity.insert(key.to_string(), value.clone());
            }
        }
        let metadata: Map<String, Value> = applied
            .get("metadata")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(key, _)| self.is_ignored(Level::Metadata, key) && *key != "managedFields")
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        identity.insert("metadata".to_string(), Value::Object(metadata));
        Value::Object(identity)
    }

    /// The fields an applied configuration claims: its leaves, atomic lists
    /// and maps, empty objects, and every list item.
    fn applied_fields(&self, applied: &Value) -> FieldSet {
        let mut fields = self.value_fields(applied, &mut Vec::new(), Level::Root);
        fields.member = false;
        clear_metadata_member(&mut fields);
        fields
    }

    fn value_fields(&self, value: &Value, path: &mut Vec<String>, level: Level) -> FieldSet {
        let mut node = FieldSet::default();
        match value {
            Value::Object(map) if !self.is_atomic_map(path) => {
                node.member = map.is_empty();
                for (key, child) in map {
                    if self.is_ignored(level, key) {
                        continue;
                    }
                    path.push(key.clone());
                    let child_fields = self.value_fields(child, path, level.child(key));
                    path.pop();
                    node.add_child(field_element(key), child_fields);
                }
            }
            Value::Array(items) => match self.list_type(path) {
                ListType::Atomic => node.member = true,
                ListType::Set => {
                    for item in items {
                        node.insert(&[value_element(item)]);
                    }
                }
                ListType::Map(keys) => {
                    for item in items {
                        let mut item_fields = self.value_fields(item, path, Level::Nested);
                        item_fields.member = true;
                        node.add_child(self.item_key(item, &keys, path), item_fields);
                    }
                }
            },
            _ => node.member = true,
        }
        node
    }

    /// `applied` merged into `live`: objects field by field, lists by their
    /// list type, everything else replaced. Ignored fields keep live values.
    fn merge(&self, live: &Value, applied: &Value, path: &mut Vec<String>, level: Level) -> Value {
        match (live, applied) {
            (Value::Object(live_map), Value::Object(applied_map)) if !self.is_atomic_map(path) => {
                let mut out = live_map.clone();
                for (key, applied_value) in applied_map {
                    if self.is_ignored(level, key) {
                        continue;
                    }
                    let child_level = level.child(key);
                    path.push(key.clone());
                    let merged = match live_map.get(key) {
                        Some(live_value) => {
                            self.merge(live_value, applied_value, path, child_level)
                        }
                        None => self.without_ignored(applied_value, child_level),
                    };
                    path.pop();
                    out.insert(key.clone(), merged);
                }
                Value::Object(out)
            }
            (Value::Array(live_items), Value::Array(applied_items)) => match self.list_type(path) {
                ListType::Atomic => applied.clone(),
                ListType::Set => self.merge_items(live_items, applied_items, None, path),
                ListType::Map(keys) => {
                    self.merge_items(live_items, applied_items, Some(&keys), path)
                }
            },
            _ => applied.clone(),
        }
    }

    /// Merges the items of a set (`keys` is `None`) or map-list the way
    /// structured-merge-diff orders them: applied items come in applied
    /// order (an item in both lists is merged where the applied config puts
    /// it), and live-only items keep their place relative to their
    /// neighbours. When the applied config only adds items after the shared
    /// ones, that is "live order, new items appended".
    fn merge_items(
        &self,
        live_items: &[Value],
        applied_items: &[Value],
        keys: Option<&[String]>,
        path: &mut Vec<String>,
    ) -> Value {
        let element_of = |item: &Value, path: &[String]| match keys {
            Some(keys) => self.item_key(item, keys, path),
            None => value_element(item),
        };
        let live: Vec<(String, &Value)> = live_items
            .iter()
            .map(|item| (element_of(item, path), item))
            .collect();
        let mut live_by_element: BTreeMap<&str, &Value> = BTreeMap::new();
        for (element, item) in &live {
            live_by_element.entry(element.as_str()).or_insert(*item);
        }
        // Applied duplicates are invalid (see `validate_applied`); the first
        // one counts.
        let mut applied: Vec<(String, &Value)> = Vec::new();
        let mut applied_elements = BTreeSet::new();
        for item in applied_items {
            let element = element_of(item, path);
            if applied_elements.insert(element.clone()) {
                applied.push((element, item));
            }
        }
        let mut shared = applied
            .iter()
            .filter(|(element, _)| live_by_element.contains_key(element.as_str()))
            .map(|(element, _)| element.as_str());
        let mut next_shared = shared.next();

        let merge_pair = |live_item: Option<&Value>,
                          applied_item: &Value,
                          path: &mut Vec<String>| match (live_item, keys) {
            (Some(live_item), Some(_)) => self.merge(live_item, applied_item, path, Level::Nested),
            _ => applied_item.clone(),
        };
        let mut merged_applied: BTreeSet<&str> = BTreeSet::new();
        let mut out = Vec::with_capacity(live.len().max(applied.len()));
        let (mut l, mut a) = (0, 0);
        while l < live.len() || a < applied.len() {
            if l < live.len() && a < applied.len() {
                let element = live[l].0.as_str();
                if element == applied[a].0 {
                    merged_applied.insert(element);
                    out.push(merge_pair(
                        live_by_element.get(element).copied(),
                        applied[a].1,
                        path,
                    ));
                    l += 1;
                    a += 1;
                    next_shared = shared.next();
                    continue;
                }
                if applied_elements.contains(element)
                    && next_shared.is_some_and(|next| next != element)
                {
                    // A shared item the applied config puts later: skip it
                    // here; it is emitted when its applied turn comes.
                    l += 1;
                    continue;
                }
            }
            if l < live.len() {
                let element = live[l].0.as_str();
                if !applied_elements.contains(element) {
                    out.push(live[l].1.clone());
                    l += 1;
                    continue;
                }
                if merged_applied.contains(element) {
                    l += 1;
                }
            }
            if a < applied.len() {
                let element = applied[a].0.as_str();
                merged_applied.insert(element);
                out.push(merge_pair(
                    live_by_element.get(element).copied(),
                    applied[a].1,
                    path,
                ));
                a += 1;
                if next_shared == Some(element) {
                    next_shared = shared.next();
                }
            }
        }
        Value::Array(out)
    }

    fn without_ignored(&self, value: &Value, level: Level) -> Value {
        match value {
            Value::Object(map) if level != Level::Nested => Value::Object(
                map.iter()
                    .filter(|(key, _)| !self.is_ignored(level, key))
                    .map(|(key, child)| {
                        (key.clone(), self.without_ignored(child, level.child(key)))
                    })
                    .collect(),
            ),
            _ => value.clone(),
        }
    }

    /// Removes from `value` every subtree whose path is in `last` (what the
    /// applier owned before) but under which nothing is in `owned` (what any
    /// manager, the applier included, owns now). Removing a whole subtree
    /// takes unowned fields below it along, as Kubernetes does.
    fn prune(
        &self,
        value: &mut Value,
        last: &FieldSet,
        owned: &FieldSet,
        path: &mut Vec<String>,
        level: Level,
    ) {
        let nothing = FieldSet::default();
        match value {
            Value::Object(map) if !self.is_atomic_map(path) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    let element = field_element(&key);
                    let Some(last_child) = last.children.get(&element) else {
                        continue;
                    };
                    let owned_child = owned.children.get(&element);
                    // metadata holds the object's identity: only its
                    // tracked fields may go, never the object itself.
                    let is_metadata = level == Level::Root && key == "metadata";
                    if owned_child.is_none() && !is_metadata {
                        map.remove(&key);
                        continue;
                    }
                    if let Some(child) = map.get_mut(&key) {
                        path.push(key.clone());
                        self.prune(
                            child,
                            last_child,
                            owned_child.unwrap_or(&nothing),
                            path,
                            level.child(&key),
                        );
                        path.pop();
                    }
                }
            }
            Value::Array(items) => match self.list_type(path) {
                ListType::Atomic => {}
                ListType::Set => items.retain(|item| {
                    let element = value_element(item);
                    !last.children.contains_key(&element) || owned.children.contains_key(&element)
                }),
                ListType::Map(keys) => {
                    let mut kept = Vec::with_capacity(items.len());
                    for mut item in std::mem::take(items) {
                        let element = self.item_key(&item, &keys, path);
                        match (last.children.get(&element), owned.children.get(&element)) {
                            (Some(_), None) => continue,
                            (Some(last_item), Some(owned_item)) => {
                                self.prune(&mut item, last_item, owned_item, path, Level::Nested)
                            }
                            _ => {}
                        }
                        kept.push(item);
                    }
                    *items = kept;
                }
            },
            _ => {}
        }
    }

    /// The tracked paths added, modified and removed from `old` to `new`.
    /// Added and removed subtrees list every path in them (objects, list
    /// items and leaves); modified lists changed leaves.
    fn diff(&self, old: &Value, new: &Value) -> Diff {
        let mut diff = Diff::default();
        self.compare(
            old,
            new,
            &mut Vec::new(),
            Level::Root,
            &mut Vec::new(),
            &mut diff,
        );
        for set in [&mut diff.added, &mut diff.modified, &mut diff.removed] {
            clear_metadata_member(set);
        }
        diff
    }

    fn compare(
        &self,
        old: &Value,
        new: &Value,
        path: &mut Vec<String>,
        level: Level,
        at: &mut Vec<String>,
        diff: &mut Diff,
    ) {
        match (old, new) {
            (Value::Object(old_map), Value::Object(new_map)) if !self.is_atomic_map(path) => {
                for (key, old_value) in old_map {
                    if self.is_ignored(level, key) {
                        continue;
                    }
                    path.push(key.clone());
                    at.push(field_element(key));
                    match new_map.get(key) {
                        Some(new_value) => {
                            self.compare(old_value, new_value, path, level.child(key), at, diff)
                        }
                        None => self.mark(
                            old_value,
                            path,
                            level.child(key),
                            at,
                            &mut diff.removed,
                            true,
                        ),
                    }
                    path.pop();
                    at.pop();
                }
                for (key, new_value) in new_map {
                    if old_map.contains_key(key) || self.is_ignored(level, key) {
                        continue;
                    }
                    path.push(key.clone());
                    at.push(field_element(key));
                    self.mark(new_value, path, level.child(key), at, &mut diff.added, true);
                    path.pop();
                    at.pop();
                }
            }
            (Value::Array(old_items), Value::Array(new_items)) => match self.list_type(path) {
                ListType::Atomic => {
                    if old_items != new_items {
                        diff.modified.insert(at);
                    }
                }
                ListType::Set => {
                    let old_set: BTreeSet<String> = old_items.iter().map(value_element).collect();
                    let new_set: BTreeSet<String> = new_items.iter().map(value_element).collect();
                    for element in old_set.difference(&new_set) {
                        at.push(element.clone());
                        diff.removed.insert(at);
                        at.pop();
                    }
                    for element in new_set.difference(&old_set) {
                        at.push(element.clone());
                        diff.added.insert(at);
                        at.pop();
                    }
                }
                ListType::Map(keys) => {
                    let old_by_key = self.items_by_key(old_items, &keys, path);
                    let new_by_key = self.items_by_key(new_items, &keys, path);
                    for (element, old_item) in &old_by_key {
                        at.push(element.clone());
                        match new_by_key.get(element) {
                            Some(new_item) => {
                                self.compare(old_item, new_item, path, Level::Nested, at, diff)
                            }
                            None => self.mark(
                                old_item,
                                path,
                                Level::Nested,
                                at,
                                &mut diff.removed,
                                true,
                            ),
                        }
                        at.pop();
                    }
                    for (element, new_item) in &new_by_key {
                        if !old_by_key.contains_key(element) {
                            at.push(element.clone());
                            self.mark(new_item, path, Level::Nested, at, &mut diff.added, true);
                            at.pop();
                        }
                    }
                }
            },
            _ => {
                if old != new {
                    diff.modified.insert(at);
                    // A change of shape (say object to string) also drops
                    // what was below and adds what is below now.
                    self.mark(old, path, level, at, &mut diff.removed, false);
                    self.mark(new, path, level, at, &mut diff.added, false);
                }
            }
        }
    }

    /// First item per key (duplicates are invalid; the first one counts).
    fn items_by_key<'v>(
        &self,
        items: &'v [Value],
        keys: &[String],
        path: &[String],
    ) -> BTreeMap<String, &'v Value> {
        let mut by_key = BTreeMap::new();
        for item in items {
            by_key
                .entry(self.item_key(item, keys, path))
                .or_insert(item);
        }
        by_key
    }

    /// Adds to `set` every tracked path at and (if `include_self`) below `at`.
    fn mark(
        &self,
        value: &Value,
        path: &mut Vec<String>,
        level: Level,
        at: &mut Vec<String>,
        set: &mut FieldSet,
        include_self: bool,
    ) {
        if include_self {
            set.insert(at);
        }
        match value {
            Value::Object(map) if !self.is_atomic_map(path) => {
                for (key, child) in map {
                    if self.is_ignored(level, key) {
                        continue;
                    }
                    path.push(key.clone());
                    at.push(field_element(key));
                    self.mark(child, path, level.child(key), at, set, true);
                    path.pop();
                    at.pop();
                }
            }
            Value::Array(items) => match self.list_type(path) {
                ListType::Atomic => {}
                ListType::Set => {
                    for item in items {
                        at.push(value_element(item));
                        set.insert(at);
                        at.pop();
                    }
                }
                ListType::Map(keys) => {
                    for item in items {
                        at.push(self.item_key(item, &keys, path));
                        self.mark(item, path, Level::Nested, at, set, true);
                        at.pop();
                    }
                }
            },
            _ => {}
        }
    }
}

/// `metadata` itself is never owned (Kubernetes strips it from every set);
/// only fields inside it are.
fn clear_metadata_member(set: &mut FieldSet) {
    let element = field_element("metadata");
    if let Some(metadata) = set.children.get_mut(&element) {
        metadata.member = false;
        if metadata.is_empty() {
            set.children.remove(&element);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T1: &str = "2024-01-01T00:00:01Z";
    const T2: &str = "2024-01-01T00:00:02Z";
    const T3: &str = "2024-01-01T00:00:03Z";
    const T4: &str = "2024-01-01T00:00:04Z";

    fn request<'a>(manager: &'a str, time: &'a str) -> FieldManagerRequest<'a> {
        FieldManagerRequest {
            manager,
            api_version: "apps/v1",
            subresource: None,
            time,
            ignored_top_level: &[],
        }
    }

    fn apply_as(
        live: Option<&Value>,
        applied: &Value,
        manager: &str,
        time: &str,
    ) -> Result<Value, Vec<Conflict>> {
        apply(
            live,
            applied,
            &request(manager, time),
            &BuiltinMergeSchema,
            false,
        )
    }

    fn force_apply_as(live: &Value, applied: &Value, manager: &str, time: &str) -> Value {
        match apply(
            Some(live),
            applied,
            &request(manager, time),
            &BuiltinMergeSchema,
            true,
        ) {
            Ok(object) => object,
            Err(conflicts) => panic!("forced apply failed: {conflicts:?}"),
        }
    }

    fn ok(result: Result<Value, Vec<Conflict>>) -> Value {
        match result {
            Ok(object) => object,
            Err(conflicts) => panic!("unexpected conflicts: {}", conflict_message(&conflicts)),
        }
    }

    fn update_as(old: Option<&Value>, new: Value, manager: &str, time: &str) -> Value {
        let mut new = new;
        record_update(old, &mut new, &request(manager, time), &BuiltinMergeSchema);
        new
    }

    fn managed(object: &Value) -> Vec<Value> {
        object
            .pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    fn entry(object: &Value, manager: &str, operation: &str) -> Option<Value> {
        managed(object)
            .into_iter()
            .find(|e| e["manager"] == manager && e["operation"] == operation)
    }

    fn fields(object: &Value, manager: &str, operation: &str) -> Value {
        entry(object, manager, operation)
            .map(|e| e["fieldsV1"].clone())
            .unwrap_or(Value::Null)
    }

    fn without_managed_fields(object: &Value) -> Value {
        let mut object = object.clone();
        remove_managed_fields(&mut object);
        object
    }

    fn deployment(spec: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": spec,
        })
    }

    fn bare_deployment() -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}})
    }

    fn with_containers(containers: Value) -> Value {
        deployment(json!({"template": {"spec": {"containers": containers}}}))
    }

    #[test]
    fn apply_create_sets_fields_and_fields_v1() {
        let applied = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1", "ports": [{"containerPort": 80}]}]},
                },
            },
        });
        let created = ok(apply_as(None, &applied, "kubectl", T1));
        assert_eq!(without_managed_fields(&created), applied);
        assert_eq!(
            managed(&created),
            vec![json!({
                "manager": "kubectl",
                "operation": "Apply",
                "apiVersion": "apps/v1",
                "time": T1,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:selector": {},
                        "f:template": {
                            "f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {
                                ".": {},
                                "f:image": {},
                                "f:name": {},
                                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                    ".": {},
                                    "f:containerPort": {},
                                }},
                            }}},
                        },
                    },
                },
            })]
        );
    }

    #[test]
    fn reapply_without_a_field_removes_it_but_keeps_unowned_and_server_fields() {
        let mut live = ok(apply_as(
            None,
            &deployment(json!({"replicas": 2, "paused": true})),
            "kubectl",
            T1,
        ));
        live["metadata"]["uid"] = json!("u-1");
        live["metadata"]["resourceVersion"] = json!("7");
        live["metadata"]["creationTimestamp"] = json!("2024-01-01T00:00:00Z");
        live["metadata"]["generation"] = json!(1);
        // Another client adds an annotation with a plain update.
        let mut annotated = live.clone();
        annotated["metadata"]["annotations"] = json!({"note": "hi"});
        let live = update_as(Some(&live), annotated, "controller", T2);

        let reapplied = ok(apply_as(
            Some(&live),
            &deployment(json!({"replicas": 2})),
            "kubectl",
            T3,
        ));
        assert_eq!(reapplied["spec"], json!({"replicas": 2}));
        assert_eq!(reapplied["metadata"]["annotations"], json!({"note": "hi"}));
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "name",
            "namespace",
        ] {
            assert_eq!(
                reapplied["metadata"][field], live["metadata"][field],
                "{field}"
            );
        }
        assert_eq!(
            fields(&reapplied, "kubectl", "Apply"),
            json!({"f:spec": {"f:replicas": {}}})
        );
        assert_eq!(
            entry(&reapplied, "kubectl", "Apply").map(|e| e["time"].clone()),
            Some(json!(T3))
        );
    }

    #[test]
    fn conflict_with_another_applier_lists_manager_and_paths() {
        let containers = |image: &str| json!([{"name": "app", "image": image}]);
        let mut spec =
            json!({"replicas": 2, "template": {"spec": {"containers": containers("nginx:1")}}});
        let live = ok(apply_as(None, &deployment(spec.clone()), "alice", T1));

        spec["replicas"] = json!(3);
        spec["template"]["spec"]["containers"] = containers("nginx:2");
        let conflicts = apply_as(Some(&live), &deployment(spec), "bob", T2)
            .err()
            .unwrap_or_default();
        let described: Vec<(String, Operation, String)> = conflicts
            .iter()
            .map(|c| (c.manager.clone(), c.operation, c.field.clone()))
            .collect();
        assert_eq!(
            described,
            vec![
                (
                    "alice".to_string(),
                    Operation::Apply,
                    ".spec.replicas".to_string()
                ),
                (
                    "alice".to_string(),
                    Operation::Apply,
                    ".spec.template.spec.containers[name=\"app\"].image".to_string()
                ),
            ]
        );
        assert_eq!(
            conflict_message(&conflicts),
            "Apply failed with 2 conflicts: conflicts with \"alice\"\n- .spec.replicas\n\
             - .spec.template.spec.containers[name=\"app\"].image"
        );
        assert_eq!(
            conflict_message(&conflicts[..1]),
            "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas"
        );
    }

    #[test]
    fn force_moves_ownership_to_the_applier() {
        let live = ok(apply_as(
            None,
            &deployment(json!({"replicas": 2, "paused": false})),
            "alice",
            T1,
        ));
        let forced = force_apply_as(&live, &deployment(json!({"replicas": 5})), "bob", T2);
        assert_eq!(forced["spec"], json!({"replicas": 5, "paused": false}));
        assert_eq!(
            fields(&forced, "alice", "Apply"),
            json!({"f:spec": {"f:paused": {}}})
        );
        assert_eq!(
            fields(&forced, "bob", "Apply"),
            json!({"f:spec": {"f:replicas": {}}})
        );

        // Alice no longer owns replicas: reasserting her old value conflicts
        // with bob, and dropping it no longer removes it.
        let conflicts = apply_as(
            Some(&forced),
            &deployment(json!({"replicas": 2, "paused": false})),
            "alice",
            T3,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(conflicts[0].manager, "bob");
        assert_eq!(conflicts[0].field, ".spec.replicas");
        let dropped = ok(apply_as(
            Some(&forced),
            &deployment(json!({"paused": false})),
            "alice",
            T3,
        ));
        assert_eq!(dropped["spec"]["replicas"], json!(5));
    }

    #[test]
    fn same_value_is_shared_without_conflict() {
        let live = ok(apply_as(
            None,
            &deployment(json!({"replicas": 2})),
            "alice",
            T1,
        ));
        let shared = ok(apply_as(
            Some(&live),
            &deployment(json!({"replicas": 2})),
            "bob",
            T2,
        ));
        assert_eq!(
            fields(&shared, "alice", "Apply"),
            json!({"f:spec": {"f:replicas": {}}})
        );
        assert_eq!(
            fields(&shared, "bob", "Apply"),
            json!({"f:spec": {"f:replicas": {}}})
        );

        // Changing a shared field conflicts with the co-owner.
        let conflicts = apply_as(
            Some(&shared),
            &deployment(json!({"replicas": 4})),
            "bob",
            T3,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            conflicts
                .iter()
                .map(|c| c.manager.as_str())
                .collect::<Vec<_>>(),
            ["alice"]
        );

        // One owner letting go keeps the value; the last one removes it.
        let alice_gone = ok(apply_as(Some(&shared), &bare_deployment(), "alice", T3));
        assert_eq!(alice_gone["spec"]["replicas"], json!(2));
        assert!(
            entry(&alice_gone, "alice", "Apply").is_none(),
            "empty entries are dropped"
        );
        let both_gone = ok(apply_as(Some(&alice_gone), &bare_deployment(), "bob", T4));
        // spec held nothing but bob's field, so it goes as a whole.
        assert!(both_gone.get("spec").is_none());
        assert_eq!(both_gone["metadata"]["name"], json!("web"));
        assert!(managed(&both_gone).is_empty());
        assert!(both_gone["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn update_manager_fields_conflict_with_apply() {
        let created = update_as(
            None,
            deployment(json!({"replicas": 1})),
            "kubectl-create",
            T1,
        );
        let conflicts = apply_as(
            Some(&created),
            &deployment(json!({"replicas": 3})),
            "ssa",
            T2,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            conflicts,
            vec![Conflict {
                manager: "kubectl-create".to_string(),
                operation: Operation::Update,
                api_version: "apps/v1".to_string(),
                subresource: None,
                time: Some(T1.to_string()),
                field: ".spec.replicas".to_string(),
            }]
        );
        assert_eq!(
            conflict_message(&conflicts),
            format!(
                "Apply failed with 1 conflict: conflict with \"kubectl-create\" using apps/v1 at {T1}: .spec.replicas"
            )
        );
        // Applying the value it already has is fine and shares the field.
        let shared = ok(apply_as(
            Some(&created),
            &deployment(json!({"replicas": 1})),
            "ssa",
            T2,
        ));
        assert_eq!(
            fields(&shared, "kubectl-create", "Update"),
            json!({"f:spec": {".": {}, "f:replicas": {}}})
        );
        assert_eq!(
            fields(&shared, "ssa", "Apply"),
            json!({"f:spec": {"f:replicas": {}}})
        );
        // A plain update takes the field from everyone, appliers included.
        let mut scaled = shared.clone();
        scaled["spec"]["replicas"] = json!(7);
        let scaled = update_as(Some(&shared), scaled, "hpa", T3);
        assert_eq!(
            fields(&scaled, "hpa", "Update"),
            json!({"f:spec": {"f:replicas": {}}})
        );
        assert!(entry(&scaled, "ssa", "Apply").is_none());
        // The creator still owns the spec object it created, as a leaf.
        assert_eq!(
            fields(&scaled, "kubectl-create", "Update"),
            json!({"f:spec": {}})
        );
    }

    #[test]
    fn record_update_on_create_owns_every_set_field() {
        let object = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cm", "namespace": "default", "uid": "u", "labels": {"app": "x"}},
            "data": {"a": "1"},
        });
        let created = update_as(None, object.clone(), "kubectl-create", T1);
        assert_eq!(without_managed_fields(&created), object);
        assert_eq!(
            managed(&created),
            vec![json!({
                "manager": "kubectl-create",
                "operation": "Update",
                "apiVersion": "apps/v1",
                "time": T1,
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:data": {".": {}, "f:a": {}},
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                },
            })]
        );
    }

    #[test]
    fn record_update_merges_entries_and_drops_empty_ones() {
        let created = update_as(None, deployment(json!({"replicas": 1})), "a", T1);
        let mut changed = created.clone();
        changed["spec"]["paused"] = json!(true);
        let changed = update_as(Some(&created), changed, "a", T2);
        assert_eq!(managed(&changed).len(), 1);
        assert_eq!(
            entry(&changed, "a", "Update"),
            Some(json!({
                "manager": "a", "operation": "Update", "apiVersion": "apps/v1", "time": T2,
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {".": {}, "f:paused": {}, "f:replicas": {}}},
            }))
        );

        // A write that changes nothing leaves the entry and its time alone.
        let unchanged = update_as(Some(&changed), changed.clone(), "b", T3);
        assert_eq!(managed(&unchanged), managed(&changed));

        // Fields replaced by another writer leave; the spec object stays a's.
        let mut replaced = changed.clone();
        replaced["spec"] = json!({"minReadySeconds": 5});
        let replaced = update_as(Some(&changed), replaced, "b", T3);
        assert_eq!(fields(&replaced, "a", "Update"), json!({"f:spec": {}}));
        assert_eq!(
            fields(&replaced, "b", "Update"),
            json!({"f:spec": {"f:minReadySeconds": {}}})
        );

        // Removing every field a manager owns removes its entry.
        let mut labelled = bare_deployment();
        labelled["metadata"]["labels"] = json!({"x": "1"});
        let labelled = update_as(None, labelled, "labeller", T1);
        let mut unlabelled = labelled.clone();
        if let Some(metadata) = unlabelled["metadata"].as_object_mut() {
            metadata.remove("labels");
        }
        let unlabelled = update_as(Some(&labelled), unlabelled, "b", T2);
        assert!(managed(&unlabelled).is_empty());
    }

    #[test]
    fn map_lists_merge_by_key_and_each_applier_owns_its_items() {
        let live = ok(apply_as(
            None,
            &with_containers(json!([{"name": "a", "image": "a:1"}])),
            "alice",
            T1,
        ));
        let live = ok(apply_as(
            Some(&live),
            &with_containers(json!([{"name": "b", "image": "b:1"}])),
            "bob",
            T2,
        ));
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}])
        );
        assert_eq!(
            fields(&live, "alice", "Apply"),
            json!({"f:spec": {"f:template": {"f:spec": {"f:containers": {
                "k:{\"name\":\"a\"}": {".": {}, "f:image": {}, "f:name": {}},
            }}}}})
        );

        // Bob changes his container: order kept, alice's untouched.
        let live = ok(apply_as(
            Some(&live),
            &with_containers(json!([{"name": "b", "image": "b:2"}])),
            "bob",
            T3,
        ));
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a:1"}, {"name": "b", "image": "b:2"}])
        );

        // Alice stops applying her container: only hers goes.
        let live = ok(apply_as(
            Some(&live),
            &deployment(json!({"replicas": 1})),
            "alice",
            T4,
        ));
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "b:2"}])
        );
        assert_eq!(
            fields(&live, "alice", "Apply"),
            json!({"f:spec": {"f:replicas": {}}})
        );
    }

    #[test]
    fn map_list_order_follows_the_applied_config_around_live_items() {
        let names = |object: &Value| -> Vec<String> {
            object["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        };
        let named = |list: &[&str]| {
            with_containers(Value::Array(
                list.iter().map(|n| json!({"name": n})).collect(),
            ))
        };
        let live = ok(apply_as(None, &named(&["a"]), "alice", T1));
        let live = ok(apply_as(Some(&live), &named(&["b"]), "bob", T2));
        assert_eq!(names(&live), ["a", "b"]);
        // A new item placed before a shared one lands before it; bob's
        // item keeps its place after alice's.
        let live = ok(apply_as(Some(&live), &named(&["c", "a"]), "alice", T3));
        assert_eq!(names(&live), ["c", "a", "b"]);
        // Reordering one's own items reorders them; a moved item is placed
        // at its applied turn, after the live-only items passed on the way.
        let live = ok(apply_as(Some(&live), &named(&["a", "c"]), "alice", T4));
        assert_eq!(names(&live), ["a", "b", "c"]);
    }

    #[test]
    fn map_list_item_removal_takes_unowned_fields_along() {
        let live = ok(apply_as(
            None,
            &with_containers(json!([{"name": "a", "image": "a:1"}])),
            "alice",
            T1,
        ));
        // A server default nobody owns.
        let mut defaulted = live.clone();
        defaulted["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] =
            json!("/dev/termination-log");
        let live = ok(apply_as(
            Some(&defaulted),
            &with_containers(json!([{"name": "b"}])),
            "alice",
            T2,
        ));
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b"}])
        );
    }

    #[test]
    fn dropped_object_fields_go_unless_someone_owns_something_below() {
        let strategy =
            json!({"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}});
        let live = ok(apply_as(None, &deployment(strategy), "alice", T1));
        let dropped = ok(apply_as(
            Some(&live),
            &deployment(json!({"replicas": 1})),
            "alice",
            T2,
        ));
        assert_eq!(dropped["spec"], json!({"replicas": 1}));

        let mut tuned = live.clone();
        tuned["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] = json!(0);
        let tuned = update_as(Some(&live), tuned, "ops", T2);
        let dropped = ok(apply_as(
            Some(&tuned),
            &deployment(json!({"replicas": 1})),
            "alice",
            T3,
        ));
        assert_eq!(
            dropped["spec"],
            json!({"replicas": 1, "strategy": {"rollingUpdate": {"maxUnavailable": 0}}})
        );
    }

    #[test]
    fn sets_merge_by_union() {
        let finalizers = |list: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "finalizers": list}});
        let live = ok(apply_as(None, &finalizers(json!(["a.io/x"])), "alice", T1));
        let live = ok(apply_as(
            Some(&live),
            &finalizers(json!(["a.io/x", "b.io/y"])),
            "bob",
            T2,
        ));
        assert_eq!(live["metadata"]["finalizers"], json!(["a.io/x", "b.io/y"]));
        assert_eq!(
            fields(&live, "bob", "Apply"),
            json!({"f:metadata": {"f:finalizers": {"v:\"a.io/x\"": {}, "v:\"b.io/y\"": {}}}})
        );
        // Alice lets go of a shared value: it stays. Bob lets go: it goes.
        let live = ok(apply_as(Some(&live), &finalizers(json!([])), "alice", T3));
        assert_eq!(live["metadata"]["finalizers"], json!(["a.io/x", "b.io/y"]));
        let live = ok(apply_as(
            Some(&live),
            &finalizers(json!(["b.io/y"])),
            "bob",
            T4,
        ));
        assert_eq!(live["metadata"]["finalizers"], json!(["b.io/y"]));
    }

    #[test]
    fn atomic_lists_are_replaced_and_owned_whole() {
        let with_args = |args: Value| with_containers(json!([{"name": "app", "args": args}]));
        let live = ok(apply_as(None, &with_args(json!(["x", "y"])), "alice", T1));
        let live = ok(apply_as(Some(&live), &with_args(json!(["z"])), "alice", T2));
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"][0]["args"],
            json!(["z"])
        );
        assert_eq!(
            fields(&live, "alice", "Apply")["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"],
            json!({".": {}, "f:args": {}, "f:name": {}})
        );
        let conflicts = apply_as(Some(&live), &with_args(json!(["z", "extra"])), "bob", T3)
            .err()
            .unwrap_or_default();
        assert_eq!(
            conflicts
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>(),
            [".spec.template.spec.containers[name=\"app\"].args"]
        );
    }

    /// A custom-resource schema: `spec.config` is an atomic map,
    /// `spec.hosts` a set.
    struct WidgetSchema;

    impl MergeSchema for WidgetSchema {
        fn list_type(&self, path: &[&str]) -> ListType {
            if path == ["spec", "hosts"] {
                ListType::Set
            } else {
                ListType::Atomic
            }
        }

        fn is_atomic_map(&self, path: &[&str]) -> bool {
            path == ["spec", "config"]
        }
    }

    #[test]
    fn custom_schema_atomic_maps_are_replaced_and_owned_whole() {
        let widget = |spec: Value| json!({"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec});
        let apply_widget = |live: Option<&Value>, spec: Value, manager: &str| {
            apply(
                live,
                &widget(spec),
                &request(manager, T1),
                &WidgetSchema,
                false,
            )
        };
        let live = ok(apply_widget(
            None,
            json!({"config": {"a": 1, "b": 2}, "hosts": ["x"]}),
            "alice",
        ));
        assert_eq!(
            fields(&live, "alice", "Apply"),
            json!({"f:spec": {"f:config": {}, "f:hosts": {"v:\"x\"": {}}}})
        );
        let live = ok(apply_widget(
            Some(&live),
            json!({"config": {"a": 1}, "hosts": ["x"]}),
            "alice",
        ));
        assert_eq!(live["spec"]["config"], json!({"a": 1}));
        let conflicts = apply_widget(Some(&live), json!({"config": {"a": 2}}), "bob")
            .err()
            .unwrap_or_default();
        assert_eq!(
            conflicts
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>(),
            [".spec.config"]
        );
    }

    #[test]
    fn status_is_ignored_on_the_main_resource() {
        let ignored = ["status"];
        let main = FieldManagerRequest {
            ignored_top_level: &ignored,
            ..request("kubectl", T1)
        };
        let mut live = ok(apply_as(
            None,
            &deployment(json!({"replicas": 1})),
            "kubectl",
            T1,
        ));
        live["status"] = json!({"replicas": 1});

        let mut applied = deployment(json!({"replicas": 2}));
        applied["status"] = json!({"replicas": 9});
        let applied = ok(apply(
            Some(&live),
            &applied,
            &main,
            &BuiltinMergeSchema,
            false,
        ));
        assert_eq!(applied["status"], json!({"replicas": 1}));
        assert_eq!(applied["spec"]["replicas"], json!(2));
        assert_eq!(
            fields(&applied, "kubectl", "Apply"),
            json!({"f:spec": {"f:replicas": {}}})
        );

        let mut updated = applied.clone();
        updated["status"] = json!({"replicas": 2});
        let update_request = FieldManagerRequest {
            ignored_top_level: &ignored,
            ..request("editor", T2)
        };
        record_update(
            Some(&applied),
            &mut updated,
            &update_request,
            &BuiltinMergeSchema,
        );
        assert!(entry(&updated, "editor", "Update").is_none());
    }

    #[test]
    fn status_subresource_tracks_only_status() {
        let live = ok(apply_as(
            None,
            &deployment(json!({"replicas": 1})),
            "kubectl",
            T1,
        ));
        let status_request = FieldManagerRequest {
            subresource: Some("status"),
            ..request("controller", T2)
        };
        let mut applied = deployment(json!({"replicas": 5}));
        applied["metadata"]["labels"] = json!({"sneaky": "yes"});
        applied["status"] =
            json!({"readyReplicas": 1, "conditions": [{"type": "Available", "status": "True"}]});
        let object = ok(apply(
            Some(&live),
            &applied,
            &status_request,
            &BuiltinMergeSchema,
            false,
        ));
        assert_eq!(object["spec"], json!({"replicas": 1}));
        assert!(object["metadata"].get("labels").is_none());
        assert_eq!(object["status"]["readyReplicas"], json!(1));
        assert_eq!(
            entry(&object, "controller", "Apply"),
            Some(json!({
                "manager": "controller", "operation": "Apply", "apiVersion": "apps/v1", "time": T2,
                "fieldsType": "FieldsV1", "subresource": "status",
                "fieldsV1": {"f:status": {
                    "f:conditions": {"k:{\"type\":\"Available\"}": {".": {}, "f:status": {}, "f:type": {}}},
                    "f:readyReplicas": {},
                }},
            }))
        );

        // A status update by someone else conflicts with nothing but takes
        // over the condition's status.
        let mut updated = object.clone();
        updated["status"]["conditions"][0]["status"] = json!("False");
        let update_request = FieldManagerRequest {
            subresource: Some("status"),
            ..request("kcm", T3)
        };
        record_update(
            Some(&object),
            &mut updated,
            &update_request,
            &BuiltinMergeSchema,
        );
        assert_eq!(
            entry(&updated, "kcm", "Update")
                .map(|e| (e["subresource"].clone(), e["fieldsV1"].clone())),
            Some((
                json!("status"),
                json!({"f:status": {"f:conditions": {"k:{\"type\":\"Available\"}": {"f:status": {}}}}})
            ))
        );
        let conflicts = apply(
            Some(&updated),
            &applied,
            &status_request,
            &BuiltinMergeSchema,
            false,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(conflicts.len(), 1);
        assert_eq!(
            conflicts[0].manager_description(),
            format!("\"kcm\" with subresource \"status\" using apps/v1 at {T3}")
        );
        assert_eq!(
            conflicts[0].field,
            ".status.conditions[type=\"Available\"].status"
        );
    }

    #[test]
    fn labels_are_owned_key_by_key() {
        let labelled = |labels: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "labels": labels}});
        let live = ok(apply_as(None, &labelled(json!({"a": "1"})), "alice", T1));
        let live = ok(apply_as(
            Some(&live),
            &labelled(json!({"b": "2"})),
            "bob",
            T2,
        ));
        assert_eq!(live["metadata"]["labels"], json!({"a": "1", "b": "2"}));
        let conflicts = apply_as(Some(&live), &labelled(json!({"a": "changed"})), "bob", T3)
            .err()
            .unwrap_or_default();
        assert_eq!(
            conflicts
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>(),
            [".metadata.labels.a"]
        );
        let live = ok(apply_as(
            Some(&live),
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}),
            "alice",
            T3,
        ));
        assert_eq!(live["metadata"]["labels"], json!({"b": "2"}));
        assert_eq!(live["metadata"]["name"], json!("cm"));
    }

    #[test]
    fn owner_references_merge_by_uid() {
        let owned_by = |uid: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm",
                "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": uid, "uid": uid}]}})
        };
        let live = ok(apply_as(None, &owned_by("u1"), "alice", T1));
        let live = ok(apply_as(Some(&live), &owned_by("u2"), "bob", T2));
        let uids: Vec<&Value> = live["metadata"]["ownerReferences"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| &r["uid"])
            .collect();
        assert_eq!(uids, [&json!("u1"), &json!("u2")]);
        assert!(
            fields(&live, "bob", "Apply")["f:metadata"]["f:ownerReferences"]
                .get("k:{\"uid\":\"u2\"}")
                .is_some()
        );
    }

    #[test]
    fn port_keys_default_protocol_to_tcp() {
        let service = |ports: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": ports}});
        let live = update_as(
            None,
            service(json!([{"port": 80, "protocol": "TCP", "targetPort": 8080}])),
            "creator",
            T1,
        );
        let shared = ok(apply_as(
            Some(&live),
            &service(json!([{"port": 80, "targetPort": 8080}])),
            "ssa",
            T2,
        ));
        assert_eq!(
            shared["spec"]["ports"],
            json!([{"port": 80, "protocol": "TCP", "targetPort": 8080}])
        );
        let conflicts = apply_as(
            Some(&live),
            &service(json!([{"port": 80, "targetPort": 9090}])),
            "ssa",
            T2,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            conflicts
                .iter()
                .map(|c| c.field.as_str())
                .collect::<Vec<_>>(),
            [".spec.ports[port=80,protocol=\"TCP\"].targetPort"]
        );
    }

    #[test]
    fn first_apply_to_an_untracked_object_conflicts_with_before_first_apply() {
        let live = deployment(json!({"replicas": 1}));
        let conflicts = apply_as(Some(&live), &deployment(json!({"replicas": 2})), "ssa", T1)
            .err()
            .unwrap_or_default();
        assert_eq!(
            conflicts
                .iter()
                .map(|c| c.manager.as_str())
                .collect::<Vec<_>>(),
            ["before-first-apply"]
        );
        let forced = force_apply_as(&live, &deployment(json!({"replicas": 2})), "ssa", T1);
        assert_eq!(forced["spec"]["replicas"], json!(2));
        assert_eq!(
            fields(&forced, "before-first-apply", "Update"),
            json!({"f:spec": {}})
        );
    }

    #[test]
    fn no_op_apply_keeps_time_and_entries_are_sorted() {
        let live = update_as(None, deployment(json!({"paused": false})), "creator", T1);
        let live = ok(apply_as(
            Some(&live),
            &deployment(json!({"replicas": 1})),
            "ssa",
            T2,
        ));
        let again = ok(apply_as(
            Some(&live),
            &deployment(json!({"replicas": 1})),
            "ssa",
            T3,
        ));
        assert_eq!(
            entry(&again, "ssa", "Apply").map(|e| e["time"].clone()),
            Some(json!(T2))
        );
        let order: Vec<(Value, Value)> = managed(&again)
            .iter()
            .map(|e| (e["manager"].clone(), e["operation"].clone()))
            .collect();
        assert_eq!(
            order,
            [
                (json!("ssa"), json!("Apply")),
                (json!("creator"), json!("Update"))
            ]
        );
    }

    #[test]
    fn client_sent_managed_fields_replace_the_live_ones() {
        let live = update_as(None, deployment(json!({"replicas": 1})), "creator", T1);
        let mut reset = live.clone();
        reset["metadata"]["managedFields"] = json!([{}]);
        reset["spec"]["paused"] = json!(true);
        let reset = update_as(Some(&live), reset, "editor", T2);
        assert!(entry(&reset, "creator", "Update").is_none());
        assert_eq!(
            fields(&reset, "editor", "Update"),
            json!({"f:spec": {"f:paused": {}}})
        );
    }

    #[test]
    fn fields_v1_round_trips_and_canonicalizes_keys() {
        let stored = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {"f:ports": {"k:{\"protocol\":\"TCP\",\"port\":80}": {".": {}, "f:port": {}}}},
        });
        let set = FieldSet::from_fields_v1(&stored);
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}}}},
            })
        );
        let paths: Vec<String> = set.member_paths().iter().map(|p| display_path(p)).collect();
        assert_eq!(
            paths,
            [
                ".metadata.labels",
                ".metadata.labels.app",
                ".spec.ports[port=80,protocol=\"TCP\"]",
                ".spec.ports[port=80,protocol=\"TCP\"].port",
            ]
        );
    }

    #[test]
    fn validate_applied_rejects_missing_keys_and_duplicates() {
        let missing = with_containers(json!([{"image": "x"}]));
        assert_eq!(
            validate_applied(&missing, &BuiltinMergeSchema),
            Err(".spec.template.spec.containers: element 0: associative list with keys has an element \
                 that omits key field \"name\" (and doesn't have default value)"
                .to_string())
        );
        let duplicate = with_containers(json!([{"name": "a"}, {"name": "a"}]));
        assert_eq!(
            validate_applied(&duplicate, &BuiltinMergeSchema),
            Err(
                ".spec.template.spec.containers: duplicate entries for key [name=\"a\"]"
                    .to_string()
            )
        );
        let nested = with_containers(json!([{"name": "a", "env": [{"name": "X"}, {"name": "X"}]}]));
        assert_eq!(
            validate_applied(&nested, &BuiltinMergeSchema),
            Err(".spec.template.spec.containers[name=\"a\"].env: duplicate entries for key [name=\"X\"]".to_string())
        );
        let defaulted = with_containers(json!([{"name": "a", "ports": [{"containerPort": 80}]}]));
        assert_eq!(validate_applied(&defaulted, &BuiltinMergeSchema), Ok(()));
    }

    #[test]
    fn builtin_schema_list_types() {
        let schema = BuiltinMergeSchema;
        assert_eq!(schema.list_type(&["metadata", "finalizers"]), ListType::Set);
        assert_eq!(
            schema.list_type(&["spec", "template", "spec", "containers", "ports"]),
            ListType::Map(vec!["containerPort".into(), "protocol".into()])
        );
        assert_eq!(
            schema.list_type(&["spec", "ports"]),
            ListType::Map(vec!["port".into(), "protocol".into()])
        );
        assert_eq!(
            schema.list_type(&["spec", "template", "spec", "containers", "args"]),
            ListType::Atomic
        );
        assert_eq!(schema.list_type(&["spec", "ingress"]), ListType::Atomic);
        assert!(schema.is_atomic_map(&["spec", "selector"]));
        assert!(!schema.is_atomic_map(&["metadata", "labels"]));
    }
}
