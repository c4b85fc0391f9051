//! The resource types the test API server serves: the built-in kinds our
//! binaries use, plus every CustomResourceDefinition created through the API.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

use super::fieldmanager::{BuiltinMergeSchema, ListType, MergeSchema};
use super::schema::CrdSchema;

/// Decodes a built-in object into its typed form and back, as the real API
/// server's codec does: wrongly typed fields are refused and unknown fields
/// are dropped.
pub type Codec = fn(Value) -> Result<Value, String>;

/// Everything the server needs to know about one served resource.
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub short_names: Vec<String>,
    pub namespaced: bool,
    pub status_subresource: bool,
    /// Whether `metadata.generation` is kept (bumped on spec changes).
    pub tracks_generation: bool,
    /// Whether a PUT without `metadata.resourceVersion` is accepted.
    pub allow_unconditional_update: bool,
    /// Typed round trip for built-in kinds.
    pub codec: Option<Codec>,
    /// Structural schema for custom resources.
    pub schema: Option<Arc<CrdSchema>>,
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural` for the core group, `plural.group` otherwise, as error
    /// messages name resources.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Kind` or `Kind.group`, as validation errors name kinds.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Storage key shared by all versions of a resource.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn is_custom(&self) -> bool {
        self.schema.is_some()
    }

    pub fn is_namespace(&self) -> bool {
        self.group.is_empty() && self.plural == "namespaces"
    }

    pub fn is_crd(&self) -> bool {
        self.group == "apiextensions.k8s.io" && self.plural == "customresourcedefinitions"
    }

    pub fn is_service(&self) -> bool {
        self.group.is_empty() && self.plural == "services"
    }
}

/// List merge strategy for server-side apply: custom resources follow their
/// schema's `x-kubernetes-list-type` markers, built-ins their Go struct tags.
impl MergeSchema for ResourceType {
    fn list_type(&self, path: &[&str]) -> ListType {
        match &self.schema {
            Some(schema) if path.first() != Some(&"metadata") => match schema.list_type_at(path) {
                super::schema::ListType::Atomic => ListType::Atomic,
                super::schema::ListType::Set => ListType::Set,
                super::schema::ListType::Map(keys) => ListType::Map(keys),
            },
            _ => BuiltinMergeSchema.list_type(path),
        }
    }

    fn is_atomic_map(&self, path: &[&str]) -> bool {
        match &self.schema {
            Some(schema) if path.first() != Some(&"metadata") => schema.is_atomic_map_at(path),
            _ => BuiltinMergeSchema.is_atomic_map(path),
        }
    }
}

fn typed_round_trip<K>(value: Value) -> Result<Value, String>
where
    K: serde::de::DeserializeOwned + serde::Serialize,
{
    let typed: K = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

struct BuiltinSpec {
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    short_names: &'static [&'static str],
    namespaced: bool,
    status_subresource: bool,
    tracks_generation: bool,
    codec: Codec,
}

fn builtin_specs() -> Vec<BuiltinSpec> {
    use k8s_openapi::api::{apps, coordination, core, events, networking, rbac};
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions;
    macro_rules! spec {
        ($group:expr, $ty:ty, $plural:expr, [$($short:expr),*], $ns:expr, $status:expr, $generation:expr) => {
            BuiltinSpec {
                group: $group,
                kind: <$ty as k8s_openapi::Resource>::KIND,
                plural: $plural,
                short_names: &[$($short),*],
                namespaced: $ns,
                status_subresource: $status,
                tracks_generation: $generation,
                codec: typed_round_trip::<$ty>,
            }
        };
    }
    vec![
        spec!(
            "",
            core::v1::Namespace,
            "namespaces",
            ["ns"],
            false,
            true,
            false
        ),
        spec!("", core::v1::Secret, "secrets", [], true, false, false),
        spec!(
            "",
            core::v1::ConfigMap,
            "configmaps",
            ["cm"],
            true,
            false,
            false
        ),
        spec!(
            "",
            core::v1::Service,
            "services",
            ["svc"],
            true,
            true,
            false
        ),
        spec!(
            "",
            core::v1::ServiceAccount,
            "serviceaccounts",
            ["sa"],
            true,
            false,
            false
        ),
        spec!(
            "",
            core::v1::PersistentVolumeClaim,
            "persistentvolumeclaims",
            ["pvc"],
            true,
            true,
            false
        ),
        spec!(
            "",
            core::v1::ResourceQuota,
            "resourcequotas",
            ["quota"],
            true,
            true,
            false
        ),
        spec!(
            "",
            core::v1::LimitRange,
            "limitranges",
            ["limits"],
            true,
            false,
            false
        ),
        spec!("", core::v1::Event, "events", ["ev"], true, false, false),
        spec!("", core::v1::Pod, "pods", ["po"], true, true, false),
        spec!(
            "apps",
            apps::v1::Deployment,
            "deployments",
            ["deploy"],
            true,
            true,
            true
        ),
        spec!(
            "apps",
            apps::v1::StatefulSet,
            "statefulsets",
            ["sts"],
            true,
            true,
            true
        ),
        spec!(
            "networking.k8s.io",
            networking::v1::Ingress,
            "ingresses",
            ["ing"],
            true,
            true,
            true
        ),
        spec!(
            "networking.k8s.io",
            networking::v1::NetworkPolicy,
            "networkpolicies",
            ["netpol"],
            true,
            false,
            true
        ),
        spec!(
            "coordination.k8s.io",
            coordination::v1::Lease,
            "leases",
            [],
            true,
            false,
            false
        ),
        spec!(
            "events.k8s.io",
            events::v1::Event,
            "events",
            ["ev"],
            true,
            false,
            false
        ),
        spec!(
            "rbac.authorization.k8s.io",
            rbac::v1::Role,
            "roles",
            [],
            true,
            false,
            false
        ),
        spec!(
            "rbac.authorization.k8s.io",
            rbac::v1::RoleBinding,
            "rolebindings",
            [],
            true,
            false,
            false
        ),
        spec!(
            "rbac.authorization.k8s.io",
            rbac::v1::ClusterRole,
            "clusterroles",
            [],
            false,
            false,
            false
        ),
        spec!(
            "rbac.authorization.k8s.io",
            rbac::v1::ClusterRoleBinding,
            "clusterrolebindings",
            [],
            false,
            false,
            false
        ),
        spec!(
            "apiextensions.k8s.io",
            apiextensions::v1::CustomResourceDefinition,
            "customresourcedefinitions",
            ["crd", "crds"],
            false,
            true,
            true
        ),
    ]
}

/// The served resource types, keyed by group, version and plural.
#[derive(Default)]
pub struct Registry {
    types: RwLock<HashMap<(String, String, String), Arc<ResourceType>>>,
}

impl Registry {
    pub fn with_builtins() -> Self {
        let registry = Registry::default();
        for spec in builtin_specs() {
            registry.insert(ResourceType {
                group: spec.group.to_string(),
                version: "v1".to_string(),
                kind: spec.kind.to_string(),
                plural: spec.plural.to_string(),
                singular: spec.kind.to_lowercase(),
                short_names: spec.short_names.iter().map(|s| s.to_string()).collect(),
                namespaced: spec.namespaced,
                status_subresource: spec.status_subresource,
                tracks_generation: spec.tracks_generation,
                // Unconditional updates are allowed for built-ins, refused for
                // custom resources (apiextensions' strategy).
                allow_unconditional_update: true,
                codec: Some(spec.codec),
                schema: None,
            });
        }
        registry
    }

    pub fn insert(&self, resource: ResourceType) {
        let key = (
            resource.group.clone(),
            resource.version.clone(),
            resource.plural.clone(),
        );
        self.write().insert(key, Arc::new(resource));
    }

    pub fn remove_group_resource(&self, group: &str, plural: &str) {
        self.write()
            .retain(|(g, _, p), _| !(g == group && p == plural));
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.read()
            .get(&(group.to_string(), version.to_string(), plural.to_string()))
            .cloned()
    }

    /// Finds a type by apiVersion and kind, as owner references name it.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        let (group, version) = split_api_version(api_version);
        self.read()
            .values()
            .find(|t| t.group == group && t.version == version && t.kind == kind)
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        let mut types: Vec<_> = self.read().values().cloned().collect();
        types.sort_by(|a, b| {
            (&a.group, &a.version, &a.plural).cmp(&(&b.group, &b.version, &b.plural))
        });
        types
    }

    fn read(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<(String, String, String), Arc<ResourceType>>> {
        self.types
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<(String, String, String), Arc<ResourceType>>> {
        self.types
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}
