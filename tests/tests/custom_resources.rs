//! supaplane's CRDs served by the API: the server itself enforces their
//! schemas and CEL rules, prunes unknown fields and applies defaults.
//! Bodies are raw JSON so the tests send exactly what a hand-written
//! `kubectl apply -f project.yaml` would.

use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use supaplane_crds::{Organization, Project};
use supaplane_tests::harness::{TestCluster, unique_name};

fn projects(client: Client) -> Api<DynamicObject> {
    Api::all_with(client, &ApiResource::erase::<Project>(&()))
}

fn organizations(client: Client) -> Api<DynamicObject> {
    Api::all_with(client, &ApiResource::erase::<Organization>(&()))
}

fn project_body(name: &str, organization: &str) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1",
        "kind": "Project",
        "metadata": {"name": name},
        "spec": {"organization": organization, "displayName": "My project"},
    }))
    .expect("a valid DynamicObject")
}

fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> kube::core::Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn causes(status: &kube::core::Status) -> Vec<(String, String)> {
    status
        .details
        .as_ref()
        .map(|d| {
            d.causes
                .iter()
                .map(|c| (c.field.clone(), c.reason.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_valid_project_is_stored_with_defaults_and_unknown_fields_pruned() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = projects(cluster.client());
    let name = unique_name("proj");
    let mut body = project_body(&name, "acme");
    body.data["spec"]["notAField"] = json!("dropped");

    let created = api.create(&PostParams::default(), &body).await?;
    assert_eq!(created.metadata.generation, Some(1));
    let spec = &created.data["spec"];
    assert_eq!(spec["organization"], "acme");
    assert!(
        spec.get("notAField").is_none(),
        "unknown fields are pruned: {spec}"
    );
    assert_eq!(
        spec["paused"], false,
        "defaults are applied by the server: {spec}"
    );
    Ok(())
}

#[tokio::test]
async fn a_project_with_an_invalid_organization_ref_is_refused_with_422() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = projects(cluster.client());
    let name = unique_name("proj");

    let refused = api_error(
        api.create(&PostParams::default(), &project_body(&name, "Not_A_Slug"))
            .await,
    );
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert!(
        refused.message.starts_with(&format!(
            "Project.supaplane.io \"{name}\" is invalid: spec.organization"
        )),
        "{}",
        refused.message
    );
    assert_eq!(
        causes(&refused),
        [(
            "spec.organization".to_string(),
            "FieldValueInvalid".to_string()
        )]
    );

    let missing = api_error(api.get(&name).await);
    assert_eq!(missing.code, 404, "nothing was created");
    Ok(())
}

#[tokio::test]
async fn a_project_name_must_be_a_dns_name() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = projects(cluster.client());
    let refused = api_error(
        api.create(&PostParams::default(), &project_body("Bad_Ref", "acme"))
            .await,
    );
    assert_eq!(refused.code, 422);
    assert_eq!(causes(&refused)[0].0, "metadata.name");
    Ok(())
}

#[tokio::test]
async fn a_wrongly_typed_or_missing_field_is_refused() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = projects(cluster.client());
    let name = unique_name("proj");

    let mut wrong_type = project_body(&name, "acme");
    wrong_type.data["spec"]["paused"] = json!("yes");
    let refused = api_error(api.create(&PostParams::default(), &wrong_type).await);
    assert_eq!(refused.code, 422);
    assert!(
        causes(&refused)
            .iter()
            .any(|(field, _)| field == "spec.paused"),
        "{refused:?}"
    );

    let mut missing = project_body(&name, "acme");
    missing.data["spec"]
        .as_object_mut()
        .expect("spec")
        .remove("displayName");
    let refused = api_error(api.create(&PostParams::default(), &missing).await);
    assert_eq!(refused.code, 422);
    assert!(
        causes(&refused).contains(&(
            "spec.displayName".to_string(),
            "FieldValueRequired".to_string()
        )),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test]
async fn the_organization_of_a_project_cannot_change() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = projects(cluster.client());
    let name = unique_name("proj");
    api.create(&PostParams::default(), &project_body(&name, "acme"))
        .await?;

    let moved = api_error(
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"organization": "other"}})),
        )
        .await,
    );
    assert_eq!(moved.code, 422, "{moved:?}");
    assert!(
        moved.message.contains("spec.organization"),
        "{}",
        moved.message
    );

    // Other fields still change, and that bumps the generation.
    let renamed = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"displayName": "Renamed"}})),
        )
        .await?;
    assert_eq!(renamed.data["spec"]["displayName"], "Renamed");
    assert_eq!(renamed.metadata.generation, Some(2));
    Ok(())
}

#[tokio::test]
async fn a_project_keeps_its_postgres_major_version() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = projects(cluster.client());
    let name = unique_name("proj");
    let created = api
        .create(&PostParams::default(), &project_body(&name, "acme"))
        .await?;
    assert_eq!(
        created.data["spec"]["postgresVersion"], "17",
        "new projects default to Postgres 17"
    );

    let upgraded = api_error(
        api.patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"postgresVersion": "15"}})),
        )
        .await,
    );
    assert_eq!(upgraded.code, 422, "{upgraded:?}");
    assert!(
        upgraded.message.contains("postgresVersion is immutable"),
        "{}",
        upgraded.message
    );

    let mut unknown = project_body(&unique_name("proj"), "acme");
    unknown.data["spec"]["postgresVersion"] = json!("16");
    let refused = api_error(api.create(&PostParams::default(), &unknown).await);
    assert_eq!(refused.code, 422);
    assert!(
        causes(&refused)
            .iter()
            .any(|(field, _)| field == "spec.postgresVersion"),
        "{refused:?}"
    );
    Ok(())
}

#[tokio::test]
async fn project_status_is_written_through_the_status_subresource_only() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = projects(cluster.client());
    let name = unique_name("proj");
    api.create(&PostParams::default(), &project_body(&name, "acme"))
        .await?;

    let ignored = api
        .patch(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"status": "ACTIVE_HEALTHY"}})),
        )
        .await?;
    assert!(
        ignored.data.get("status").is_none_or(Value::is_null),
        "spec writes ignore status"
    );

    let status = api
        .patch_status(
            &name,
            &PatchParams::apply("supaplane-operator"),
            &Patch::Apply(json!({
                "apiVersion": "supaplane.io/v1alpha1", "kind": "Project", "metadata": {"name": name},
                "status": {"status": "COMING_UP", "observedGeneration": 1},
            })),
        )
        .await?;
    assert_eq!(status.data["status"]["status"], "COMING_UP");
    assert_eq!(
        status.metadata.generation,
        Some(1),
        "status writes leave the generation alone"
    );

    let refused = api_error(
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"status": "NOT_A_STATUS"}})),
        )
        .await,
    );
    assert_eq!(
        refused.code, 422,
        "status is validated against the schema too"
    );
    Ok(())
}

#[tokio::test]
async fn an_organization_needs_a_display_name_and_known_roles() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let api = organizations(cluster.client());
    let name = unique_name("org");
    let organization = |role: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization",
            "metadata": {"name": name},
            "spec": {"displayName": "Acme", "members": [{"userId": "u1", "email": "a@example.com", "role": role}]},
        }))
        .expect("a valid DynamicObject")
    };
    let refused = api_error(
        api.create(&PostParams::default(), &organization("Emperor"))
            .await,
    );
    assert_eq!(refused.code, 422);
    assert!(
        causes(&refused)
            .iter()
            .any(|(field, reason)| field == "spec.members[0].role"
                && reason == "FieldValueNotSupported"),
        "{refused:?}"
    );

    api.create(&PostParams::default(), &organization("Read-only"))
        .await?;
    Ok(())
}

#[tokio::test]
async fn discovery_lists_the_custom_resources() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let discovery = kube::Discovery::new(cluster.client()).run().await?;
    let group = discovery
        .get("supaplane.io")
        .expect("the supaplane.io group is served");
    let kinds: Vec<String> = group
        .recommended_resources()
        .into_iter()
        .map(|(resource, _)| resource.kind)
        .collect();
    assert!(
        kinds.contains(&"Project".to_string()) && kinds.contains(&"Organization".to_string()),
        "{kinds:?}"
    );
    let (projects, capabilities) = group.recommended_kind("Project").expect("Project");
    assert_eq!(projects.plural, "projects");
    assert_eq!(capabilities.scope, kube::discovery::Scope::Cluster);
    Ok(())
}
