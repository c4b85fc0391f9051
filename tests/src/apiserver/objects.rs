//! The write paths of the API server: create, update, patch (merge, JSON,
//! strategic, server-side apply) and delete, each a single store transaction
//! run through defaulting, validation and field management as the real
//! server's registry does.

use std::sync::Arc;

use serde_json::{Value, json};

use super::builtin;
use super::fieldmanager::{self, FieldManagerRequest};
use super::metadata::{
    self, NameFormat, finalizers_of, is_terminating, metadata_mut, name_of, namespace_of, now,
    resource_version_of,
};
use super::registry::{Registry, ResourceType};
use super::schema::{FieldError, FieldErrorKind};
use super::status::{ApiError, ApiResult};
use super::store::{Store, Write};

/// Finalizers the API server itself understands.
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
pub const ORPHAN_FINALIZER: &str = "orphan";
pub const CRD_CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

/// The request-scoped parts of a write.
#[derive(Debug, Clone)]
pub struct WriteContext {
    pub field_manager: String,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply { force: bool },
}

impl PatchType {
    pub fn from_content_type(content_type: &str) -> ApiResult<Self> {
        match content_type.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Ok(PatchType::Apply { force: false })
            }
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation_policy: Option<String>,
    pub precondition_uid: Option<String>,
    pub precondition_resource_version: Option<String>,
    pub dry_run: bool,
}

/// The state shared by every request handler and built-in controller.
pub struct ServerState {
    pub registry: Registry,
    pub store: Store,
}

fn name_format(resource: &ResourceType) -> NameFormat {
    if resource.is_namespace() {
        NameFormat::Label
    } else if resource.is_service() {
        NameFormat::Rfc1035Label
    } else {
        NameFormat::Subdomain
    }
}

/// Checks apiVersion/kind in a body against the endpoint and fills them in.
fn check_type_meta(resource: &ResourceType, object: &mut Value, required: bool) -> ApiResult<()> {
    if !object.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    let expected_api_version = resource.api_version();
    match object.get("apiVersion").and_then(Value::as_str) {
        Some(api_version) if api_version != expected_api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({api_version}) does not match the expected API version ({expected_api_version})"
            )));
        }
        None if required => return Err(ApiError::bad_request("apiVersion must be set")),
        _ => {}
    }
    match object.get("kind").and_then(Value::as_str) {
        Some(kind) if kind != resource.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                resource.kind
            )));
        }
        None if required => return Err(ApiError::bad_request("kind must be set")),
        _ => {}
    }
    object["apiVersion"] = json!(expected_api_version);
    object["kind"] = json!(resource.kind);
    Ok(())
}

/// Reconciles the namespace of the URL with the one in the body.
fn resolve_namespace(
    resource: &ResourceType,
    url_namespace: Option<&str>,
    object: &mut Value,
) -> ApiResult<String> {
    if !resource.namespaced {
        metadata_mut(object).remove("namespace");
        return Ok(String::new());
    }
    let url_namespace = url_namespace
        .ok_or_else(|| ApiError::bad_request("a namespace is required for this resource"))?;
    let body_namespace = namespace_of(object);
    if !body_namespace.is_empty() && body_namespace != url_namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    metadata_mut(object).insert("namespace".into(), json!(url_namespace));
    Ok(url_namespace.to_string())
}

/// Whether new objects may be created in `namespace`: it must exist and not
/// be terminating.
fn check_namespace_accepts(
    state: &ServerState,
    resource: &ResourceType,
    namespace: &str,
    name: &str,
) -> ApiResult<()> {
    if !resource.namespaced {
        return Ok(());
    }
    match state.store.get("/namespaces", "", namespace) {
        None => Err(ApiError::namespace_not_found(namespace)),
        Some(ns) if is_terminating(&ns) => Err(ApiError::forbidden(
            resource,
            name,
            &format!(
                "unable to create new content in namespace {namespace} because it is being terminated"
            ),
        )),
        Some(_) => Ok(()),
    }
}

fn field_manager_request<'a>(
    resource: &'a ResourceType,
    api_version: &'a str,
    ctx: &'a WriteContext,
    subresource: Option<&'a str>,
    time: &'a str,
    ignored: &'a [&'a str],
) -> FieldManagerRequest<'a> {
    let _ = resource;
    FieldManagerRequest {
        manager: &ctx.field_manager,
        api_version,
        subresource,
        time,
        ignored_top_level: ignored,
    }
}

/// The top-level fields a write to the main resource or a subresource must
/// not take ownership of.
fn ignored_fields(
    resource: &ResourceType,
    subresource: Option<&str>,
    object: &Value,
) -> Vec<String> {
    match subresource {
        Some(_) => object
            .as_object()
            .map(|o| {
                o.keys()
                    .filter(|k| k.as_str() != "status")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        None if resource.status_subresource => vec!["status".to_string()],
        None => Vec::new(),
    }
}

/// Type-specific normalization and validation shared by create and update.
fn admit(
    resource: &ResourceType,
    object: &mut Value,
    old: Option<&Value>,
    creating: bool,
) -> ApiResult<()> {
    let name = name_of(object).to_string();
    if let Some(codec) = resource.codec {
        *object = codec(object.clone()).map_err(|e| {
            ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {}",
                resource.kind, resource.version, resource.kind, e
            ))
        })?;
        builtin::apply_defaults(resource, object, creating);
    }
    let mut errors: Vec<FieldError> = Vec::new();
    if let Some(schema) = &resource.schema {
        // Pruning drops unknown fields silently (fieldValidation=Ignore/Warn).
        schema.prune(object);
        schema.apply_defaults(object);
        errors.extend(schema.validate(object, old));
    }
    errors.extend(builtin::validate(resource, object));
    errors.extend(metadata::validate_labels_and_annotations(object));
    if let Some(error) = metadata::validate_name(&name, name_format(resource)) {
        errors.insert(0, error);
    }
    if resource.is_crd() {
        errors.extend(super::crd::validate(object));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(resource, &name, &errors))
    }
}

/// Sets the fields the server owns on a new object.
fn prepare_create(resource: &ResourceType, object: &mut Value) -> ApiResult<()> {
    let meta = metadata_mut(object);
    if meta
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|rv| !rv.is_empty())
    {
        return Err(ApiError::internal(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    let has_name = meta
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    if !has_name {
        match meta.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => {
                let name = format!("{prefix}{}", metadata::random_suffix());
                meta.insert("name".into(), json!(name));
            }
            _ => {
                return Err(ApiError::invalid(
                    resource,
                    "",
                    &[FieldError {
                        field: "metadata.name".into(),
                        kind: FieldErrorKind::Required,
                        bad_value: None,
                        detail: "name or generateName is required".into(),
                    }],
                ));
            }
        }
    }
    meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
    meta.insert("creationTimestamp".into(), json!(now()));
    meta.remove("deletionTimestamp");
    meta.remove("deletionGracePeriodSeconds");
    meta.remove("selfLink");
    if resource.tracks_generation || resource.is_custom() {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    if resource.status_subresource
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    if resource.is_crd() {
        let mut finalizers = finalizers_of(object);
        if !finalizers.iter().any(|f| f == CRD_CLEANUP_FINALIZER) {
            finalizers.push(CRD_CLEANUP_FINALIZER.to_string());
        }
        metadata_mut(object).insert("finalizers".into(), json!(finalizers));
    }
    Ok(())
}

/// Creates an object (POST).
pub fn create(
    state: &ServerState,
    resource: &Arc<ResourceType>,
    url_namespace: Option<&str>,
    mut object: Value,
    ctx: &WriteContext,
) -> ApiResult<Value> {
    check_type_meta(resource, &mut object, false)?;
    let namespace = resolve_namespace(resource, url_namespace, &mut object)?;
    prepare_create(resource, &mut object)?;
    let name = name_of(&object).to_string();
    admit(resource, &mut object, None, true)?;
    let time = now();
    let ignored = ignored_fields(resource, None, &object);
    let ignored: Vec<&str> = ignored.iter().map(String::as_str).collect();
    let api_version = resource.api_version();
    let request = field_manager_request(resource, &api_version, ctx, None, &time, &ignored);
    fieldmanager::record_update(None, &mut object, &request, resource.as_ref());
    check_namespace_accepts(state, resource, &namespace, &name)?;
    if ctx.dry_run {
        return match state.store.get(&resource.storage_key(), &namespace, &name) {
            Some(_) => Err(ApiError::already_exists(resource, &name)),
            None => Ok(object),
        };
    }
    let (created, ()) =
        state
            .store
            .write(&resource.storage_key(), &namespace, &name, |current| {
                if current.is_some() {
                    return Err(ApiError::already_exists(resource, &name));
                }
                Ok((Write::Put(object), ()))
            })?;
    let created = created.ok_or_else(|| ApiError::internal("create committed nothing"))?;
    after_commit(state, resource, &created);
    Ok(created)
}

/// Hooks that follow a commit, as the API server's own controllers would
/// (CRD establishment).
fn after_commit(state: &ServerState, resource: &ResourceType, object: &Value) {
    if resource.is_crd() && !is_terminating(object) {
        super::crd::establish(state, object);
    }
}

/// The fields of an object that its generation tracks: everything but
/// metadata and status.
fn spec_part(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
        map.remove("apiVersion");
        map.remove("kind");
    }
    copy
}

/// Everything but the resourceVersion and managedFields timestamps: two
/// objects equal under this did not change, and the write is a no-op.
fn comparable(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(meta) = copy.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
        if let Some(Value::Array(entries)) = meta.get_mut("managedFields") {
            for entry in entries {
                if let Some(entry) = entry.as_object_mut() {
                    entry.remove("time");
                }
            }
        }
    }
    copy
}

/// The heart of every update: merges what the request may change into the
/// stored object, then admits it.
fn admit_update(
    resource: &ResourceType,
    old: &Value,
    requested: Value,
    subresource: Option<&str>,
    ctx: &WriteContext,
    record_fields: bool,
) -> ApiResult<Write> {
    let name = name_of(old).to_string();
    let mut new = match subresource {
        Some("status") => {
            let mut merged = old.clone();
            match requested.get("status") {
                Some(status) => merged["status"] = status.clone(),
                None => {
                    if let Some(map) = merged.as_object_mut() {
                        map.remove("status");
                    }
                }
            }
            // The status subresource records its own managers.
            if let Some(fields) = requested.pointer("/metadata/managedFields") {
                merged["metadata"]["managedFields"] = fields.clone();
            }
            merged
        }
        Some("finalize") if resource.is_namespace() => {
            let mut merged = old.clone();
            merged["spec"]["finalizers"] = requested
                .pointer("/spec/finalizers")
                .cloned()
                .unwrap_or(json!([]));
            merged
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "subresource {other} is not supported"
            )));
        }
        None => {
            let mut merged = requested;
            if resource.status_subresource {
                match old.get("status") {
                    Some(status) => merged["status"] = status.clone(),
                    None => {
                        if let Some(map) = merged.as_object_mut() {
                            map.remove("status");
                        }
                    }
                }
            }
            merged
        }
    };

    // Fields only the server sets are carried over from the stored object.
    let old_meta = old.get("metadata").cloned().unwrap_or(json!({}));
    {
        let meta = metadata_mut(&mut new);
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "namespace",
        ] {
            match old_meta.get(field) {
                Some(value) => meta.insert(field.to_string(), value.clone()),
                None => meta.remove(field),
            };
        }
        meta.remove("selfLink");
        if meta.get("managedFields").is_none_or(Value::is_null)
            && let Some(fields) = old_meta.get("managedFields")
        {
            meta.insert("managedFields".into(), fields.clone());
        }
    }

    if is_terminating(old) {
        let old_finalizers = finalizers_of(old);
        let added: Vec<String> = finalizers_of(&new)
            .into_iter()
            .filter(|f| !old_finalizers.contains(f))
            .collect();
        if !added.is_empty() {
            return Err(ApiError::invalid(
                resource,
                &name,
                &[FieldError {
                    field: "metadata.finalizers".into(),
                    kind: FieldErrorKind::Forbidden,
                    bad_value: None,
                    detail: format!(
                        "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    ),
                }],
            ));
        }
    }

    admit(resource, &mut new, Some(old), false)?;

    if (resource.tracks_generation || resource.is_custom()) && spec_part(&new) != spec_part(old) {
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        new["metadata"]["generation"] = json!(generation + 1);
    }

    if record_fields {
        let time = now();
        let ignored = ignored_fields(resource, subresource, &new);
        let ignored: Vec<&str> = ignored.iter().map(String::as_str).collect();
        let api_version = resource.api_version();
        let request =
            field_manager_request(resource, &api_version, ctx, subresource, &time, &ignored);
        fieldmanager::record_update(Some(old), &mut new, &request, resource);
    }

    if comparable(&new) == comparable(old) {
        return Ok(Write::Unchanged);
    }
    if is_terminating(&new)
        && finalizers_of(&new).is_empty()
        && !namespace_finalizers_pending(resource, &new)
    {
        return Ok(Write::Delete(new));
    }
    Ok(Write::Put(new))
}

fn namespace_finalizers_pending(resource: &ResourceType, object: &Value) -> bool {
    resource.is_namespace()
        && object
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
}

fn check_precondition(
    resource: &ResourceType,
    old: &Value,
    requested_version: &str,
    required: bool,
) -> ApiResult<()> {
    let name = name_of(old);
    if requested_version.is_empty() {
        if required && !resource.allow_unconditional_update {
            return Err(ApiError::invalid(
                resource,
                name,
                &[FieldError {
                    field: "metadata.resourceVersion".into(),
                    kind: FieldErrorKind::Invalid,
                    bad_value: Some(json!(0)),
                    detail: "must be specified for an update".into(),
                }],
            ));
        }
        return Ok(());
    }
    if requested_version != resource_version_of(old) {
        return Err(ApiError::stale_update(resource, name));
    }
    Ok(())
}

fn committed(
    state: &ServerState,
    resource: &ResourceType,
    namespace: &str,
    name: &str,
    ctx: &WriteContext,
    decide: impl FnOnce(Option<&Value>) -> ApiResult<Write>,
) -> ApiResult<Value> {
    if ctx.dry_run {
        let current = state.store.get(&resource.storage_key(), namespace, name);
        return match decide(current.as_ref())? {
            Write::Put(object) | Write::Delete(object) => Ok(object),
            Write::Unchanged => current.ok_or_else(|| ApiError::not_found(resource, name)),
        };
    }
    let (object, ()) = state
        .store
        .write(&resource.storage_key(), namespace, name, |current| {
            Ok((decide(current)?, ()))
        })?;
    let object = object.ok_or_else(|| ApiError::not_found(resource, name))?;
    after_commit(state, resource, &object);
    Ok(object)
}

/// Replaces an object (PUT), or its status or finalize subresource.
pub fn update(
    state: &ServerState,
    resource: &Arc<ResourceType>,
    url_namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    mut object: Value,
    ctx: &WriteContext,
) -> ApiResult<Value> {
    check_type_meta(resource, &mut object, false)?;
    let namespace = resolve_namespace(resource, url_namespace, &mut object)?;
    let body_name = name_of(&object).to_string();
    if body_name.is_empty() {
        metadata_mut(&mut object).insert("name".into(), json!(name));
    } else if body_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    let requested_version = resource_version_of(&object).to_string();
    committed(state, resource, &namespace, name, ctx, |current| {
        let old = current.ok_or_else(|| ApiError::not_found(resource, name))?;
        check_precondition(resource, old, &requested_version, true)?;
        admit_update(resource, old, object, subresource, ctx, true)
    })
}

/// Patches an object; server-side apply may create it. Returns the object
/// and whether it was created.
#[allow(clippy::too_many_arguments)]
pub fn patch(
    state: &ServerState,
    resource: &Arc<ResourceType>,
    url_namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    patch_type: PatchType,
    body: &[u8],
    ctx: &WriteContext,
) -> ApiResult<(Value, bool)> {
    let namespace = if resource.namespaced {
        url_namespace
            .ok_or_else(|| ApiError::bad_request("a namespace is required for this resource"))?
            .to_string()
    } else {
        String::new()
    };
    match patch_type {
        PatchType::Apply { force } => apply(
            state,
            resource,
            &namespace,
            name,
            subresource,
            body,
            ctx,
            force,
        ),
        other => {
            let patch_document: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if other == PatchType::Strategic && resource.is_custom() {
                return Err(ApiError::unsupported_media_type(
                    "application/strategic-merge-patch+json",
                ));
            }
            let object = committed(state, resource, &namespace, name, ctx, |current| {
                let old = current.ok_or_else(|| ApiError::not_found(resource, name))?;
                let patched = apply_patch_document(resource, old, &patch_document, other)?;
                if name_of(&patched) != name {
                    return Err(ApiError::bad_request(
                        "metadata.name cannot be changed by a patch",
                    ));
                }
                let requested_version = resource_version_of(&patched).to_string();
                check_precondition(resource, old, &requested_version, false)?;
                admit_update(resource, old, patched, subresource, ctx, true)
            })?;
            Ok((object, false))
        }
    }
}

fn apply_patch_document(
    resource: &ResourceType,
    old: &Value,
    patch: &Value,
    patch_type: PatchType,
) -> ApiResult<Value> {
    let mut patched = old.clone();
    match patch_type {
        PatchType::Json => {
            let operations: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            for operation in operations.iter() {
                // As in the API server's JSON patch library, testing a
                // missing path against null succeeds (kube-runtime's
                // finalizer helper relies on it).
                let described = serde_json::to_value(operation).unwrap_or_default();
                let tests_absent_for_null = described.get("op").and_then(Value::as_str)
                    == Some("test")
                    && described.get("value").is_some_and(Value::is_null)
                    && described
                        .get("path")
                        .and_then(Value::as_str)
                        .is_some_and(|path| patched.pointer(path).is_none());
                if tests_absent_for_null {
                    continue;
                }
                json_patch::patch(&mut patched, std::slice::from_ref(operation)).map_err(|e| {
                    ApiError::invalid(
                        resource,
                        name_of(old),
                        &[FieldError {
                            field: String::new(),
                            kind: FieldErrorKind::Invalid,
                            bad_value: None,
                            detail: format!(
                                "the server rejected our request due to an error in our request: {e}"
                            ),
                        }],
                    )
                })?;
            }
        }
        PatchType::Merge => json_patch::merge(&mut patched, patch),
        PatchType::Strategic => {
            super::strategic::merge(&mut patched, patch, resource, &mut Vec::new())
        }
        PatchType::Apply { .. } => return Err(ApiError::internal("apply is not a patch document")),
    }
    // A patch may not turn the object into something that is not an object.
    if !patched.is_object() {
        return Err(ApiError::bad_request("the patch must produce an object"));
    }
    Ok(patched)
}

/// Server-side apply.
#[allow(clippy::too_many_arguments)]
fn apply(
    state: &ServerState,
    resource: &Arc<ResourceType>,
    namespace: &str,
    name: &str,
    subresource: Option<&str>,
    body: &[u8],
    ctx: &WriteContext,
    force: bool,
) -> ApiResult<(Value, bool)> {
    if ctx.field_manager.is_empty() {
        return Err(ApiError::bad_request(
            "PATCH requests with apply content type must have fieldManager",
        ));
    }
    let mut applied: Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    check_type_meta(resource, &mut applied, true)?;
    fieldmanager::validate_applied(&applied, resource.as_ref()).map_err(|why| {
        ApiError::invalid(
            resource,
            name,
            &[FieldError {
                field: String::new(),
                kind: FieldErrorKind::Invalid,
                bad_value: None,
                detail: why,
            }],
        )
    })?;
    let applied_name = name_of(&applied).to_string();
    if applied_name != name {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({applied_name}) does not match the name on the URL ({name})"
        )));
    }
    let applied_namespace = namespace_of(&applied).to_string();
    if resource.namespaced && !applied_namespace.is_empty() && applied_namespace != namespace {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let namespace_check = check_namespace_accepts(state, resource, namespace, name);
    let api_version = resource.api_version();
    let time = now();
    let requested_version = resource_version_of(&applied).to_string();
    let mut created = false;
    let object = committed(state, resource, namespace, name, ctx, |current| {
        let ignored = ignored_fields(resource, subresource, &applied);
        let ignored: Vec<&str> = ignored.iter().map(String::as_str).collect();
        let request =
            field_manager_request(resource, &api_version, ctx, subresource, &time, &ignored);
        match current {
            None => {
                if subresource.is_some() {
                    return Err(ApiError::not_found(resource, name));
                }
                namespace_check.clone()?;
                let mut object =
                    fieldmanager::apply(None, &applied, &request, resource.as_ref(), force)
                        .map_err(|conflicts| {
                            ApiError::apply_conflicts(resource, name, &conflicts)
                        })?;
                if resource.namespaced {
                    metadata_mut(&mut object).insert("namespace".into(), json!(namespace));
                }
                prepare_create(resource, &mut object)?;
                admit(resource, &mut object, None, true)?;
                created = true;
                Ok(Write::Put(object))
            }
            Some(old) => {
                check_precondition(resource, old, &requested_version, false)?;
                let mut merged =
                    fieldmanager::apply(Some(old), &applied, &request, resource.as_ref(), force)
                        .map_err(|conflicts| {
                            ApiError::apply_conflicts(resource, name, &conflicts)
                        })?;
                // The live object's resourceVersion is kept through the merge.
                merged["metadata"]["resourceVersion"] = json!(resource_version_of(old));
                admit_update(resource, old, merged, subresource, ctx, false)
            }
        }
    })?;
    Ok((object, created))
}

/// Deletes an object: at once when nothing holds it, otherwise by marking it
/// with a deletionTimestamp until its finalizers are gone. Returns the
/// object and whether it is gone now.
pub fn delete(
    state: &ServerState,
    resource: &ResourceType,
    namespace: &str,
    name: &str,
    options: &DeleteOptions,
) -> ApiResult<(Value, bool)> {
    let mut gone = false;
    let ctx = WriteContext {
        field_manager: String::new(),
        dry_run: options.dry_run,
    };
    let object = committed(state, resource, namespace, name, &ctx, |current| {
        let old = current.ok_or_else(|| ApiError::not_found(resource, name))?;
        if let Some(uid) = &options.precondition_uid
            && uid != metadata::uid_of(old)
        {
            return Err(ApiError::conflict(
                resource,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    metadata::uid_of(old)
                ),
            ));
        }
        if let Some(version) = &options.precondition_resource_version
            && version != resource_version_of(old)
        {
            return Err(ApiError::conflict(
                resource,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {version}, ResourceVersion in object meta: {}",
                    resource_version_of(old)
                ),
            ));
        }
        let mut new = old.clone();
        let mut finalizers = finalizers_of(old);
        let policy_finalizer = match options.propagation_policy.as_deref() {
            Some("Foreground") => Some(FOREGROUND_FINALIZER),
            Some("Orphan") => Some(ORPHAN_FINALIZER),
            _ => None,
        };
        if let Some(finalizer) = policy_finalizer
            && !finalizers.iter().any(|f| f == finalizer)
        {
            // The policy of a delete already in progress is only changed by
            // a new request when the object is not yet terminating.
            if !is_terminating(old) {
                finalizers.push(finalizer.to_string());
                new["metadata"]["finalizers"] = json!(finalizers);
            }
        }
        let held = !finalizers.is_empty() || namespace_finalizers_pending(resource, &new);
        if !held {
            gone = true;
            return Ok(Write::Delete(new));
        }
        if is_terminating(old) {
            return Ok(if new == *old {
                Write::Unchanged
            } else {
                Write::Put(new)
            });
        }
        new["metadata"]["deletionTimestamp"] = json!(now());
        new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        if resource.tracks_generation || resource.is_custom() {
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            new["metadata"]["generation"] = json!(generation + 1);
        }
        if resource.is_namespace() {
            new["status"]["phase"] = json!("Terminating");
        }
        Ok(Write::Put(new))
    })?;
    Ok((object, gone))
}

/// The namespaces every cluster starts with.
pub fn bootstrap(state: &ServerState) {
    let Some(namespaces) = state.registry.get("", "v1", "namespaces") else {
        return;
    };
    let ctx = WriteContext {
        field_manager: "kube-apiserver".into(),
        dry_run: false,
    };
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let _ = create(
            state,
            &namespaces,
            None,
            json!({"metadata": {"name": name}}),
            &ctx,
        );
    }
}
