//! The HTTP surface: URL routing to resources, discovery, reads, writes and
//! watches, speaking JSON exactly as kube-apiserver does.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;
use tokio_stream::wrappers::ReceiverStream;

use super::metadata::{name_of, namespace_of};
use super::objects::{self, DeleteOptions, PatchType, ServerState, WriteContext};
use super::registry::ResourceType;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, ApiResult};
use super::store::{EventType, StoredEvent};
use super::{AppState, RbacRequest};

/// What a URL names.
enum Target {
    ApiVersions,
    GroupList,
    ResourceList { group: String, version: String },
    Version,
    Resource(ResourceRequest),
}

struct ResourceRequest {
    resource: Arc<ResourceType>,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn route(state: &ServerState, path: &str) -> ApiResult<Target> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Ok(Target::Version),
        ["api"] => return Ok(Target::ApiVersions),
        ["apis"] => return Ok(Target::GroupList),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    let lookup = |plural: &str| {
        state
            .registry
            .get(group, version, plural)
            .ok_or_else(ApiError::path_not_found)
    };
    let request =
        |resource, namespace: Option<&str>, name: Option<&str>, subresource: Option<&str>| {
            Ok(Target::Resource(ResourceRequest {
                resource,
                namespace: namespace.map(str::to_string),
                name: name.map(str::to_string),
                subresource: subresource.map(str::to_string),
            }))
        };
    match rest {
        [] => Ok(Target::ResourceList {
            group: group.to_string(),
            version: version.to_string(),
        }),
        // A namespace's own subresources, before namespaced paths claim them.
        ["namespaces", name, sub @ ("status" | "finalize")] if group.is_empty() => {
            request(lookup("namespaces")?, None, Some(name), Some(sub))
        }
        ["namespaces", namespace, plural, tail @ ..] => {
            let resource = lookup(plural)?;
            if !resource.namespaced {
                return Err(ApiError::path_not_found());
            }
            match tail {
                [] => request(resource, Some(namespace), None, None),
                [name] => request(resource, Some(namespace), Some(name), None),
                [name, sub] => request(resource, Some(namespace), Some(name), Some(sub)),
                _ => Err(ApiError::path_not_found()),
            }
        }
        [plural, tail @ ..] => {
            let resource = lookup(plural)?;
            match tail {
                [] => request(resource, None, None, None),
                [name] if !resource.namespaced => request(resource, None, Some(name), None),
                [name, sub] if !resource.namespaced => {
                    request(resource, None, Some(name), Some(sub))
                }
                _ => Err(ApiError::path_not_found()),
            }
        }
    }
}

/// The single entry point: everything under /api and /apis.
pub async fn dispatch(
    State(app): State<AppState>,
    method: Method,
    uri: Uri,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let state = app.state.clone();
    match route(&state, uri.path()) {
        Err(error) => error.into_response(),
        Ok(Target::Version) => axum::Json(json!({
            "major": "1", "minor": "34", "gitVersion": "v1.34.0+supaplane-test",
            "platform": "linux/amd64", "goVersion": "n/a", "compiler": "n/a",
        }))
        .into_response(),
        Ok(Target::ApiVersions) => axum::Json(json!({
            "kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": app.address}],
        }))
        .into_response(),
        Ok(Target::GroupList) => axum::Json(group_list(&state)).into_response(),
        Ok(Target::ResourceList { group, version }) => match resource_list(&state, &group, &version) {
            Some(list) => axum::Json(list).into_response(),
            None => ApiError::path_not_found().into_response(),
        },
        Ok(Target::Resource(request)) => {
            let verb = verb_of(&method, &request, &params);
            app.counters.record(verb, &request.resource.storage_key());
            if let Some(user) = headers.get("impersonate-user").and_then(|v| v.to_str().ok()) {
                app.counters.record_user(user, RbacRequest {
                    verb: verb.to_string(),
                    group: request.resource.group.clone(),
                    resource: match &request.subresource {
                        Some(sub) => format!("{}/{sub}", request.resource.plural),
                        None => request.resource.plural.clone(),
                    },
                    namespace: request.namespace.clone(),
                    name: request.name.clone(),
                });
            }
            match serve(&state, &method, request, &params, &headers, body).await {
                Ok(response) => response,
                Err(error) => error.into_response(),
            }
        }
    }
}

fn verb_of(
    method: &Method,
    request: &ResourceRequest,
    params: &HashMap<String, String>,
) -> &'static str {
    let collection = request.name.is_none();
    match *method {
        Method::GET if collection && is_true(params.get("watch")) => "watch",
        Method::GET if collection => "list",
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if collection => "deletecollection",
        Method::DELETE => "delete",
        _ => "other",
    }
}

fn is_true(value: Option<&String>) -> bool {
    matches!(value.map(String::as_str), Some("true") | Some("1"))
}

fn write_context(params: &HashMap<String, String>, headers: &HeaderMap) -> WriteContext {
    // Without a fieldManager, the API server names the manager after the
    // client's user agent up to its first '/'.
    let field_manager = params.get("fieldManager").cloned().unwrap_or_else(|| {
        headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.split('/').next().unwrap_or(ua).to_string())
            .unwrap_or_else(|| "unknown".to_string())
    });
    WriteContext {
        field_manager,
        dry_run: params.get("dryRun").is_some_and(|v| v == "All"),
    }
}

fn parse_body(body: &Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized or not valid JSON: {e}"
        ))
    })
}

/// Presents a stored object in the version it was requested in.
fn present(resource: &ResourceType, mut object: Value) -> Value {
    object["apiVersion"] = json!(resource.api_version());
    object
}

async fn serve(
    state: &Arc<ServerState>,
    method: &Method,
    request: ResourceRequest,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let resource = request.resource.clone();
    let namespace = request.namespace.as_deref();
    let subresource = request.subresource.as_deref();
    if let Some(sub) = subresource {
        let supported = match sub {
            "status" => resource.status_subresource,
            "finalize" => resource.is_namespace(),
            _ => false,
        };
        if !supported {
            return Err(ApiError::path_not_found());
        }
    }
    let ctx = write_context(params, headers);
    let storage_namespace = namespace.unwrap_or("");
    match (method.clone(), request.name.as_deref()) {
        (Method::GET, None) if is_true(params.get("watch")) => {
            watch(state.clone(), resource, request.namespace.clone(), params)
        }
        (Method::GET, None) => list(state, &resource, namespace, params),
        (Method::POST, None) => {
            let created = objects::create(state, &resource, namespace, parse_body(&body)?, &ctx)?;
            Ok((StatusCode::CREATED, axum::Json(present(&resource, created))).into_response())
        }
        (Method::DELETE, None) => delete_collection(state, &resource, namespace, params, &body),
        (Method::GET, Some(name)) => {
            let object = state
                .store
                .get(&resource.storage_key(), storage_namespace, name)
                .ok_or_else(|| ApiError::not_found(&resource, name))?;
            Ok(axum::Json(present(&resource, object)).into_response())
        }
        (Method::PUT, Some(name)) => {
            let updated = objects::update(
                state,
                &resource,
                namespace,
                name,
                subresource,
                parse_body(&body)?,
                &ctx,
            )?;
            Ok(axum::Json(present(&resource, updated)).into_response())
        }
        (Method::PATCH, Some(name)) => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let patch_type = match PatchType::from_content_type(content_type)? {
                PatchType::Apply { .. } => PatchType::Apply {
                    force: is_true(params.get("force")),
                },
                other => {
                    if params.contains_key("force") {
                        return Err(ApiError::bad_request(
                            "force may not be set for non-apply patch requests",
                        ));
                    }
                    other
                }
            };
            let (object, created) = objects::patch(
                state,
                &resource,
                namespace,
                name,
                subresource,
                patch_type,
                &body,
                &ctx,
            )?;
            let code = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((code, axum::Json(present(&resource, object))).into_response())
        }
        (Method::DELETE, Some(name)) => {
            if subresource.is_some() {
                return Err(ApiError::method_not_allowed());
            }
            let options = delete_options(params, &body)?;
            let (object, gone) =
                objects::delete(state, &resource, storage_namespace, name, &options)?;
            // 200 when the object is gone; 202 while finalizers hold it.
            let code = if gone {
                StatusCode::OK
            } else {
                StatusCode::ACCEPTED
            };
            Ok((code, axum::Json(present(&resource, object))).into_response())
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn delete_options(params: &HashMap<String, String>, body: &Bytes) -> ApiResult<DeleteOptions> {
    let body: Value = if body.is_empty() {
        json!({})
    } else {
        parse_body(body)?
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    let mut propagation_policy =
        text(body.get("propagationPolicy")).or_else(|| params.get("propagationPolicy").cloned());
    // The deprecated orphanDependents flag maps onto a policy.
    if propagation_policy.is_none() {
        match body.get("orphanDependents").and_then(Value::as_bool) {
            Some(true) => propagation_policy = Some("Orphan".into()),
            Some(false) => propagation_policy = Some("Background".into()),
            None => {}
        }
    }
    if let Some(policy) = &propagation_policy
        && !matches!(policy.as_str(), "Foreground" | "Background" | "Orphan")
    {
        return Err(ApiError::bad_request(format!(
            "DeleteOptions.propagationPolicy: Unsupported value: \"{policy}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
        )));
    }
    let dry_run = params.get("dryRun").is_some_and(|v| v == "All")
        || body
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|x| x == "All"));
    Ok(DeleteOptions {
        propagation_policy,
        precondition_uid: text(body.pointer("/preconditions/uid")),
        precondition_resource_version: text(body.pointer("/preconditions/resourceVersion")),
        dry_run,
    })
}

/// Supported field selectors: every resource has name and namespace; a few
/// kinds add their own (as their Go registry strategies declare).
fn supported_fields(resource: &ResourceType) -> Vec<&'static str> {
    let mut fields = vec!["metadata.name", "metadata.namespace"];
    match (resource.group.as_str(), resource.plural.as_str()) {
        ("", "secrets") => fields.push("type"),
        ("", "namespaces") => fields.push("status.phase"),
        ("", "events") => fields.extend([
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ]),
        ("", "pods") => fields.extend([
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ]),
        _ => {}
    }
    fields
}

struct Filter {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn from_params(resource: &ResourceType, params: &HashMap<String, String>) -> ApiResult<Self> {
        let labels = LabelSelector::parse(
            params
                .get("labelSelector")
                .map(String::as_str)
                .unwrap_or(""),
        )
        .map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(
            params
                .get("fieldSelector")
                .map(String::as_str)
                .unwrap_or(""),
            &supported_fields(resource),
        )
        .map_err(ApiError::bad_request)?;
        Ok(Filter { labels, fields })
    }

    fn matches(&self, object: &Value) -> bool {
        self.labels.matches(object) && self.fields.matches(object)
    }
}

fn list(
    state: &ServerState,
    resource: &ResourceType,
    namespace: Option<&str>,
    params: &HashMap<String, String>,
) -> ApiResult<Response> {
    let filter = Filter::from_params(resource, params)?;
    let limit = match params.get("limit") {
        Some(text) => text
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {text}")))?,
        None => 0,
    };
    let (candidates, resource_version) = match params.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => state.store.take_page_rest(token)?,
        None => {
            let (objects, resource_version) = state.store.list(&resource.storage_key(), namespace);
            (
                objects.into_iter().filter(|o| filter.matches(o)).collect(),
                resource_version,
            )
        }
    };
    let (items, rest): (Vec<Value>, Vec<Value>) = if limit > 0 && candidates.len() > limit {
        let mut items = candidates;
        let rest = items.split_off(limit);
        (items, rest)
    } else {
        (candidates, Vec::new())
    };
    let mut list_meta = json!({"resourceVersion": resource_version.to_string()});
    if !rest.is_empty() {
        list_meta["remainingItemCount"] = json!(rest.len());
        list_meta["continue"] = json!(state.store.save_page_rest(rest, resource_version));
    }
    let items: Vec<Value> = items.into_iter().map(|o| present(resource, o)).collect();
    Ok(axum::Json(json!({
        "kind": format!("{}List", resource.kind),
        "apiVersion": resource.api_version(),
        "metadata": list_meta,
        "items": items,
    }))
    .into_response())
}

fn delete_collection(
    state: &ServerState,
    resource: &ResourceType,
    namespace: Option<&str>,
    params: &HashMap<String, String>,
    body: &Bytes,
) -> ApiResult<Response> {
    let filter = Filter::from_params(resource, params)?;
    let options = delete_options(params, body)?;
    let (objects, _) = state.store.list(&resource.storage_key(), namespace);
    let mut deleted = Vec::new();
    for object in objects.into_iter().filter(|o| filter.matches(o)) {
        match objects::delete(
            state,
            resource,
            namespace_of(&object),
            name_of(&object),
            &options,
        ) {
            Ok((object, _)) => deleted.push(present(resource, object)),
            Err(error) if error.code == 404 => {}
            Err(error) => return Err(error),
        }
    }
    Ok(axum::Json(json!({
        "kind": format!("{}List", resource.kind),
        "apiVersion": resource.api_version(),
        "metadata": {"resourceVersion": state.store.current_resource_version().to_string()},
        "items": deleted,
    }))
    .into_response())
}

fn watch_line(event_type: &str, object: &Value) -> Bytes {
    let mut line =
        serde_json::to_vec(&json!({"type": event_type, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn bookmark(resource: &ResourceType, resource_version: u64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": resource_version.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    watch_line(
        "BOOKMARK",
        &json!({"kind": resource.kind, "apiVersion": resource.api_version(), "metadata": metadata}),
    )
}

/// How often a watch with allowWatchBookmarks gets a bookmark. The real
/// server sends one about every minute; tests benefit from a shorter one and
/// clients must accept any interval.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(5);
/// The server-side watch timeout when the client sets none (the real server
/// picks 30–60 minutes).
const DEFAULT_WATCH_TIMEOUT: Duration = Duration::from_secs(1800);

/// The event a watcher with `filter` sees for a change: label changes can
/// move an object into or out of a selector's view.
fn visible_event(
    event: &StoredEvent,
    filter: &Filter,
    namespace: Option<&str>,
) -> Option<EventType> {
    if namespace.is_some_and(|ns| ns != namespace_of(&event.object)) {
        return None;
    }
    let now_matches = filter.matches(&event.object);
    let before_matched = event.previous.as_ref().is_some_and(|p| filter.matches(p));
    match event.event_type {
        EventType::Added => now_matches.then_some(EventType::Added),
        EventType::Deleted => before_matched.then_some(EventType::Deleted),
        EventType::Modified => match (before_matched, now_matches) {
            (true, true) => Some(EventType::Modified),
            (false, true) => Some(EventType::Added),
            (true, false) => Some(EventType::Deleted),
            (false, false) => None,
        },
    }
}

fn watch(
    state: Arc<ServerState>,
    resource: Arc<ResourceType>,
    namespace: Option<String>,
    params: &HashMap<String, String>,
) -> ApiResult<Response> {
    let filter = Filter::from_params(&resource, params)?;
    let send_initial_events = is_true(params.get("sendInitialEvents"));
    let allow_bookmarks = is_true(params.get("allowWatchBookmarks"));
    if send_initial_events && !allow_bookmarks {
        return Err(ApiError::bad_request(
            "sendInitialEvents requires allowWatchBookmarks=true",
        ));
    }
    let since = match params.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        _ if send_initial_events => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {text}")))?,
        ),
    };
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_WATCH_TIMEOUT);

    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::convert::Infallible>>(1024);
    let subscription = state
        .store
        .subscribe(&resource.storage_key(), namespace.as_deref(), since);
    tokio::spawn(async move {
        let mut subscription = match subscription {
            Ok(subscription) => subscription,
            Err(error) => {
                let _ = sender
                    .send(Ok(watch_line("ERROR", &error.to_status())))
                    .await;
                return;
            }
        };
        for object in subscription.initial_objects.drain(..) {
            if filter.matches(&object)
                && sender
                    .send(Ok(watch_line("ADDED", &present(&resource, object))))
                    .await
                    .is_err()
            {
                return;
            }
        }
        let mut last_seen = subscription.resource_version;
        if send_initial_events
            && sender
                .send(Ok(bookmark(&resource, last_seen, true)))
                .await
                .is_err()
        {
            return;
        }
        for event in subscription.replay.drain(..) {
            if let Some(kind) = visible_event(&event, &filter, namespace.as_deref())
                && sender
                    .send(Ok(watch_line(
                        kind.as_str(),
                        &present(&resource, event.object.clone()),
                    )))
                    .await
                    .is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut bookmarks = tokio::time::interval(BOOKMARK_INTERVAL);
        bookmarks.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = sender.closed() => return,
                _ = bookmarks.tick(), if allow_bookmarks => {
                    if sender.send(Ok(bookmark(&resource, last_seen, false))).await.is_err() {
                        return;
                    }
                }
                received = subscription.receiver.recv() => match received {
                    Ok(event) => {
                        if event.resource_version <= last_seen {
                            continue;
                        }
                        last_seen = event.resource_version;
                        if event.storage_key != resource.storage_key() {
                            continue;
                        }
                        if let Some(kind) = visible_event(&event, &filter, namespace.as_deref())
                            && sender.send(Ok(watch_line(kind.as_str(), &present(&resource, event.object.clone())))).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // A watcher too slow to keep up is told to relist.
                        let error = ApiError::expired(format!("too old resource version: {last_seen}"));
                        let _ = sender.send(Ok(watch_line("ERROR", &error.to_status()))).await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                },
            }
        }
    });
    let body = Body::from_stream(ReceiverStream::new(receiver));
    Ok(Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-cache, private")
        .body(body)
        .unwrap_or_else(|_| ApiError::internal("building the watch response").into_response()))
}

fn group_list(state: &ServerState) -> Value {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for resource in state.registry.all() {
        if resource.group.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(g, _)| *g == resource.group) {
            Some((_, versions)) if !versions.contains(&resource.version) => {
                versions.push(resource.version.clone())
            }
            Some(_) => {}
            None => groups.push((resource.group.clone(), vec![resource.version.clone()])),
        }
    }
    let groups: Vec<Value> = groups
        .into_iter()
        .map(|(group, versions)| {
            let entries: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
                .collect();
            json!({"name": group, "versions": entries.clone(), "preferredVersion": entries[0]})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(state: &ServerState, group: &str, version: &str) -> Option<Value> {
    let resources: Vec<Arc<ResourceType>> = state
        .registry
        .all()
        .into_iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if resources.is_empty() {
        return None;
    }
    let mut entries = Vec::new();
    for resource in &resources {
        entries.push(json!({
            "name": resource.plural, "singularName": resource.singular, "namespaced": resource.namespaced,
            "kind": resource.kind, "shortNames": resource.short_names,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        }));
        if resource.status_subresource {
            entries.push(json!({
                "name": format!("{}/status", resource.plural), "singularName": "", "namespaced": resource.namespaced,
                "kind": resource.kind, "verbs": ["get", "patch", "update"],
            }));
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}),
    )
}
