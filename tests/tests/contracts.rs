//! Every `/v1` response the facade gives validates against the schema of
//! that operation in the Management API's OpenAPI document.

use axum::http::{Method, StatusCode};
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use supaplane_crds::Project;
use supaplane_tests::contracts::ManagementApi;
use supaplane_tests::facade::{TestFacade, User};

struct Checked<'a> {
    facade: &'a TestFacade,
    contract: ManagementApi,
    user: User,
    checked: usize,
}

impl Checked<'_> {
    /// Calls `method path` and checks the answer against `template`'s schema.
    async fn call(
        &mut self,
        method: Method,
        path: &str,
        template: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, answer) = self
            .facade
            .raw(
                method.clone(),
                path,
                Some(&self.user.token),
                body.map(|b| b.to_string()),
            )
            .await;
        assert!(status.is_success(), "{method} {path}: {status} {answer}");
        if let Err(errors) =
            self.contract
                .check(method.as_str(), template, status.as_u16(), &answer)
        {
            panic!(
                "{method} {path} breaks the contract:\n{}\n{answer}",
                errors.join("\n")
            );
        }
        self.checked += 1;
        (status, answer)
    }
}

#[tokio::test]
async fn v1_responses_follow_the_management_api_contract() -> anyhow::Result<()> {
    let facade = TestFacade::start().await?;
    let mut api = Checked {
        facade: &facade,
        contract: ManagementApi::load()?,
        user: User::new("script"),
        checked: 0,
    };
    let (status, organization) = api
        .call(
            Method::POST,
            "/v1/organizations",
            "/v1/organizations",
            Some(json!({"name": "Scripted"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let slug = organization["slug"].as_str().expect("slug").to_string();
    api.call(Method::GET, "/v1/organizations", "/v1/organizations", None)
        .await;
    api.call(
        Method::GET,
        &format!("/v1/organizations/{slug}"),
        "/v1/organizations/{slug}",
        None,
    )
    .await;
    api.call(
        Method::GET,
        &format!("/v1/organizations/{slug}/members"),
        "/v1/organizations/{slug}/members",
        None,
    )
    .await;

    let (status, project) = api
        .call(
            Method::POST,
            "/v1/projects",
            "/v1/projects",
            Some(
                json!({"name": "Api", "organization_slug": slug, "db_pass": "a-strong-password-1"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let project_ref = project["ref"].as_str().expect("ref").to_string();
    // What is not offered here answers the documented shape all the same.
    for template in [
        "/v1/projects/{ref}/functions",
        "/v1/projects/{ref}/network-restrictions",
        "/v1/projects/{ref}/ssl-enforcement",
        "/v1/projects/{ref}/upgrade/eligibility",
    ] {
        api.call(
            Method::GET,
            &template.replace("{ref}", &project_ref),
            template,
            None,
        )
        .await;
    }
    // As the operator reports, so the responses carry a full status.
    Api::<Project>::all(facade.client())
        .patch_status(
            &project_ref,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "status": "ACTIVE_HEALTHY", "anonKey": "anon.jwt.value",
                "endpoints": {"databaseHost": "db.example", "databasePort": 5432},
                "conditions": [{"type": "AuthReady", "status": "True", "reason": "Ready", "message": "",
                                "lastTransitionTime": "2026-01-01T00:00:00Z"}],
            }})),
        )
        .await?;
    let wanted = project_ref.clone();
    facade
        .wait_until(move |state| {
            state
                .index
                .projects
                .get(&kube::runtime::reflector::ObjectRef::new(&wanted))
                .is_some_and(|p| p.status.is_some())
        })
        .await?;

    api.call(Method::GET, "/v1/projects", "/v1/projects", None)
        .await;
    api.call(
        Method::GET,
        &format!("/v1/projects/{project_ref}"),
        "/v1/projects/{ref}",
        None,
    )
    .await;
    api.call(
        Method::GET,
        &format!("/v1/projects/{project_ref}/health?services=auth,db,rest,realtime,storage"),
        "/v1/projects/{ref}/health",
        None,
    )
    .await;
    let (_, keys) = api
        .call(
            Method::GET,
            &format!("/v1/projects/{project_ref}/api-keys?reveal=false"),
            "/v1/projects/{ref}/api-keys",
            None,
        )
        .await;
    assert_eq!(keys[0]["api_key"], "anon.jwt.value");
    for (path, template) in [
        ("api-keys/legacy", "/v1/projects/{ref}/api-keys/legacy"),
        (
            "config/auth/signing-keys",
            "/v1/projects/{ref}/config/auth/signing-keys",
        ),
        (
            "config/auth/signing-keys/legacy",
            "/v1/projects/{ref}/config/auth/signing-keys/legacy",
        ),
        ("database/backups", "/v1/projects/{ref}/database/backups"),
    ] {
        api.call(
            Method::GET,
            &format!("/v1/projects/{project_ref}/{path}"),
            template,
            None,
        )
        .await;
    }
    api.call(
        Method::POST,
        &format!("/v1/projects/{project_ref}/pause"),
        "/v1/projects/{ref}/pause",
        None,
    )
    .await;
    api.call(
        Method::POST,
        &format!("/v1/projects/{project_ref}/restore"),
        "/v1/projects/{ref}/restore",
        None,
    )
    .await;
    api.call(
        Method::DELETE,
        &format!("/v1/projects/{project_ref}"),
        "/v1/projects/{ref}",
        None,
    )
    .await;
    assert_eq!(api.checked, 20);
    Ok(())
}

#[test]
fn the_contract_check_refuses_wrong_shapes() -> anyhow::Result<()> {
    let contract = ManagementApi::load()?;
    let project = json!({"id": "x", "ref": "abcdefghijklmnopqrst", "organization_id": "o",
        "organization_slug": "o", "name": "n", "region": "r", "created_at": "t", "status": "ACTIVE_HEALTHY"});
    assert!(
        contract
            .check("POST", "/v1/projects", 201, &project)
            .is_ok()
    );
    let mut missing = project.clone();
    missing.as_object_mut().expect("object").remove("status");
    assert!(
        contract
            .check("POST", "/v1/projects", 201, &missing)
            .is_err()
    );
    let mut wrong_enum = project.clone();
    wrong_enum["status"] = json!("SLEEPING");
    assert!(
        contract
            .check("POST", "/v1/projects", 201, &wrong_enum)
            .is_err()
    );
    assert!(
        contract
            .check("GET", "/v1/organizations", 200, &json!({"not": "a list"}))
            .is_err()
    );
    let key = json!([{"name": "anon", "api_key": null}]);
    assert!(
        contract
            .check("GET", "/v1/projects/{ref}/api-keys", 200, &key)
            .is_ok()
    );
    Ok(())
}
