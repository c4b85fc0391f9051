//! The Helm chart rendered by Helm itself (the official build that
//! `make test-deps` installs into target/helm, `SUPAPLANE_HELM`, or one on
//! PATH), for the tests that check what it renders.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::harness::{FIELD_MANAGER, TestCluster};

/// The namespace the chart is rendered into.
pub const RELEASE_NAMESPACE: &str = "supaplane-system";

fn chart() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../charts/supaplane"))
}

fn helm() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("SUPAPLANE_HELM") {
        return Ok(PathBuf::from(path));
    }
    let installed = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/helm/bin/helm"
    ));
    if installed.is_file() {
        return Ok(installed);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("helm"))
            .find(|candidate| candidate.is_file())
    });
    on_path.ok_or_else(|| {
        anyhow::anyhow!("helm not found: run `make test-deps` (installs it into target/helm) or set SUPAPLANE_HELM")
    })
}

/// `helm template` with these `--set` values; the objects, or Helm's error.
pub fn render(sets: &[&str]) -> anyhow::Result<Result<Vec<Value>, String>> {
    let mut command = Command::new(helm()?);
    command
        .args(["template", "supaplane"])
        .arg(chart())
        .args(["--namespace", RELEASE_NAMESPACE]);
    for set in sets {
        command.args(["--set", set]);
    }
    let output = command.output()?;
    if !output.status.success() {
        return Ok(Err(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let text = String::from_utf8(output.stdout)?;
    let mut objects = Vec::new();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value: Value = serde::Deserialize::deserialize(document)?;
        if !value.is_null() {
            objects.push(value);
        }
    }
    Ok(Ok(objects))
}

/// Installs the chart's RBAC objects (roles and bindings) as Helm would,
/// its Roles and RoleBindings in `namespace` (created when missing).
pub async fn install_rbac(cluster: &TestCluster, namespace: &str) -> anyhow::Result<()> {
    let client = cluster.client();
    Api::<Namespace>::all(client.clone())
        .patch(
            namespace,
            &PatchParams::apply(FIELD_MANAGER),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}),
            ),
        )
        .await
        .with_context(|| format!("creating namespace {namespace}"))?;
    let objects = render(&[])?.map_err(anyhow::Error::msg)?;
    let kinds = ["ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"];
    for object in objects
        .iter()
        .filter(|o| kinds.iter().any(|k| o["kind"] == *k))
    {
        let mut object = object.clone();
        let name = object["metadata"]["name"]
            .as_str()
            .context("a rendered RBAC object without a name")?
            .to_string();
        let kind = object["kind"].as_str().unwrap_or_default().to_string();
        let resource = ApiResource {
            group: "rbac.authorization.k8s.io".into(),
            version: "v1".into(),
            api_version: "rbac.authorization.k8s.io/v1".into(),
            kind: kind.clone(),
            plural: format!("{}s", kind.to_lowercase()),
        };
        let api: Api<DynamicObject> = if kind.starts_with("Cluster") {
            Api::all_with(client.clone(), &resource)
        } else {
            object["metadata"]["namespace"] = json!(namespace);
            Api::namespaced_with(client.clone(), namespace, &resource)
        };
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
        .with_context(|| format!("installing {kind} {name}"))?;
    }
    Ok(())
}
