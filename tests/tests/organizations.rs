//! The operator's Organization controller, in-process against the test API
//! server (or a real cluster): member checks, project counts, and deletion
//! protection while projects remain.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use supaplane_crds::{Organization, Project, conditions};
use supaplane_operator::organization_controller::{self, Context};
use supaplane_tests::harness::{TestCluster, unique_name, wait_deleted, wait_for};

const TIMEOUT: Duration = Duration::from_secs(30);

async fn create_organization(client: &Client, name: &str, role: &str) -> anyhow::Result<()> {
    let organizations: Api<Organization> = Api::all(client.clone());
    let organization: Organization = serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization", "metadata": {"name": name},
        "spec": {"displayName": "Acme", "members": [{"userId": "u1", "email": "owner@example.com", "role": role}]},
    }))?;
    organizations
        .create(&PostParams::default(), &organization)
        .await?;
    Ok(())
}

async fn create_project(client: &Client, name: &str, organization: &str) -> anyhow::Result<()> {
    let projects: Api<Project> = Api::all(client.clone());
    let project: Project = serde_json::from_value(json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project", "metadata": {"name": name},
        "spec": {"organization": organization, "displayName": "Shop"},
    }))?;
    projects.create(&PostParams::default(), &project).await?;
    Ok(())
}

fn condition_is(organization: Option<&Organization>, kind: &str, value: &str) -> bool {
    organization
        .and_then(|o| o.status.as_ref())
        .is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == kind && c.status == value)
        })
}

#[tokio::test]
async fn organizations_count_projects_check_owners_and_block_deletion() -> anyhow::Result<()> {
    let cluster = TestCluster::start().await?;
    let client = cluster.client();
    let controller = tokio::spawn(organization_controller::run(Arc::new(Context {
        client: client.clone(),
        metrics: Default::default(),
        // The only operator of this test binary's control plane.
        selector: None,
        projects: Default::default(),
    })));
    let organizations: Api<Organization> = Api::all(client.clone());
    let projects: Api<Project> = Api::all(client.clone());

    let name = unique_name("org");
    create_organization(&client, &name, "Owner").await?;
    wait_for(
        &organizations,
        &name,
        |o: Option<&Organization>| condition_is(o, conditions::MEMBERS_VALID, "True"),
        TIMEOUT,
    )
    .await?;

    let (first, second) = (unique_name("p"), unique_name("p"));
    create_project(&client, &first, &name).await?;
    create_project(&client, &second, &name).await?;
    create_project(&client, &unique_name("p"), "someone-else").await?;
    wait_for(
        &organizations,
        &name,
        |o: Option<&Organization>| {
            o.and_then(|o| o.status.as_ref())
                .is_some_and(|s| s.project_count == 2)
        },
        TIMEOUT,
    )
    .await?;

    // A project's own changes (a label here, status updates in life) move
    // no count: they wake no organization, and nothing lists the Projects.
    let audit = cluster.audit().expect("our control plane");
    let mark = audit.mark();
    for round in 0..3 {
        projects
            .patch(
                &first,
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"round": round.to_string()}}})),
            )
            .await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let project_lists = audit
        .since(mark)?
        .iter()
        .filter(|e| e.verb == "list" && e.resource() == "projects")
        .count();
    assert_eq!(
        project_lists, 0,
        "an organization's count is read from its watch"
    );

    // An organization without an Owner is reported, with what to fix.
    organizations
        .patch(&name, &PatchParams::default(), &Patch::Merge(json!({"spec": {"members": [{"userId": "u1", "email": "owner@example.com", "role": "Developer"}]}})))
        .await?;
    let invalid = wait_for(
        &organizations,
        &name,
        |o: Option<&Organization>| condition_is(o, conditions::MEMBERS_VALID, "False"),
        TIMEOUT,
    )
    .await?;
    let status = invalid.status.expect("status");
    let members = status
        .conditions
        .iter()
        .find(|c| c.type_ == conditions::MEMBERS_VALID)
        .expect("condition");
    let message = &members.message;
    assert!(message.contains("Owner"), "{message}");

    // Deleting it while projects remain is held, and says why.
    organizations
        .delete(&name, &DeleteParams::default())
        .await?;
    let blocked = wait_for(
        &organizations,
        &name,
        |o: Option<&Organization>| condition_is(o, conditions::DELETION_BLOCKED, "True"),
        TIMEOUT,
    )
    .await?;
    assert!(blocked.metadata.deletion_timestamp.is_some());

    projects.delete(&first, &DeleteParams::default()).await?;
    projects.delete(&second, &DeleteParams::default()).await?;
    wait_deleted(&organizations, &name, TIMEOUT).await?;
    controller.abort();
    Ok(())
}
