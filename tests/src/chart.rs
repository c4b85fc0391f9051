//! The Helm chart rendered by Helm itself (the official build that
//! `make test-deps` installs into target/helm, `SUPAPLANE_HELM`, or one on
//! PATH), for the tests that check what it renders.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

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
