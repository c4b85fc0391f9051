//! Runs the facade in-process against a test cluster, and calls it as Studio
//! does: with a dashboard GoTrue session token per user.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Client};
use serde_json::{Value, json};
use supaplane_crds::constants::{KEYS_SECRET_NAME, project_namespace};
use supaplane_crds::{Organization, OrganizationRole, Project};
use supaplane_facade::common::config::FacadeConfig;
use supaplane_facade::health::Readiness;
use supaplane_facade::state::AppState;
use tower::ServiceExt;

use crate::harness::{TestCluster, create_unique_namespace, unique_name};

pub const JWT_SECRET: &str = "test-dashboard-jwt-secret-with-enough-length";

pub struct TestFacade {
    pub cluster: TestCluster,
    pub state: AppState,
    pub router: Router,
    /// What `/readyz` answers from; the facade's watch of the API server
    /// keeps it, as in the binary.
    pub readiness: Arc<Readiness>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TestFacade {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// A dashboard user: an id, an email and a session token for them.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

impl User {
    pub fn new(prefix: &str) -> User {
        let id = uuid::Uuid::new_v4().to_string();
        let email = format!("{}@example.com", unique_name(prefix));
        let token = session_token(&id, &email);
        User { id, email, token }
    }
}

/// A token as the dashboard GoTrue issues: HS256, audience `authenticated`.
pub fn session_token(user_id: &str, email: &str) -> String {
    signed_token(json!({
        "sub": user_id, "email": email, "aud": "authenticated", "role": "authenticated",
        "exp": chrono::Utc::now().timestamp() + 3600, "iat": chrono::Utc::now().timestamp(),
    }))
}

/// `claims`, signed with the dashboard GoTrue's test secret.
pub fn signed_token(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("token")
}

impl TestFacade {
    pub async fn start() -> anyhow::Result<TestFacade> {
        Self::start_with(|_| {}).await
    }

    /// Starts the facade with a configuration `adjust` may change.
    pub async fn start_with(adjust: impl FnOnce(&mut FacadeConfig)) -> anyhow::Result<TestFacade> {
        Self::start_as_user(None, adjust).await
    }

    /// Starts the facade acting as `user` (its service account, by
    /// impersonation).
    pub async fn start_as(
        user: &str,
        adjust: impl FnOnce(&mut FacadeConfig),
    ) -> anyhow::Result<TestFacade> {
        Self::start_as_user(Some(user), adjust).await
    }

    async fn start_as_user(
        user: Option<&str>,
        adjust: impl FnOnce(&mut FacadeConfig),
    ) -> anyhow::Result<TestFacade> {
        let cluster = TestCluster::start().await?;
        let client = cluster.client();
        let namespace = create_unique_namespace(&client, "facade").await?;
        let mut config = FacadeConfig::for_tests(JWT_SECRET, &namespace);
        config.base_domain = "apps.test".into();
        config.regions = vec!["local=Local cluster".into(), "eu=Europe".into()];
        adjust(&mut config);
        let facade_client = match user {
            Some(user) => {
                // Acting as the chart's service account: the chart's RBAC
                // decides what it may do.
                crate::chart::install_rbac(&cluster, &namespace).await?;
                cluster.client_impersonating(user).await?
            }
            None => client,
        };
        let (state, mut tasks) = AppState::start(facade_client, config)?;
        tokio::time::timeout(Duration::from_secs(30), state.ready()).await??;
        let readiness = Arc::new(Readiness::waiting_for(
            supaplane_facade::health::WAITING_FOR,
        ));
        readiness.mark_ready();
        tasks.push(tokio::spawn(supaplane_crds::serving::watch_api_server(
            state.client.clone(),
            readiness.clone(),
        )));
        let router = supaplane_facade::router(state.clone(), readiness.clone());
        Ok(TestFacade {
            cluster,
            state,
            router,
            readiness,
            tasks,
        })
    }

    pub fn client(&self) -> Client {
        self.cluster.client()
    }

    /// Sends a request with a bearer token and a raw body; answers the
    /// status and the JSON body (Null when empty).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request
                .header("content-type", "application/json")
                .body(Body::from(body)),
            None => request.body(Body::empty()),
        }
        .expect("request");
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("response");
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, value)
    }

    pub async fn get(&self, user: &User, path: &str) -> (StatusCode, Value) {
        self.raw(Method::GET, path, Some(&user.token), None).await
    }

    pub async fn send(
        &self,
        user: &User,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        self.raw(method, path, Some(&user.token), Some(body.to_string()))
            .await
    }

    /// Creates an organization directly as a resource (as `kubectl apply`
    /// would), with these members, and waits until the facade sees it.
    pub async fn organization_with(
        &self,
        members: &[(&User, OrganizationRole)],
    ) -> anyhow::Result<String> {
        let slug = unique_name("org");
        let organization: Organization = serde_json::from_value(json!({
            "apiVersion": "supaplane.io/v1alpha1", "kind": "Organization",
            "metadata": {"name": slug},
            "spec": {"displayName": format!("Org {slug}"), "members": members.iter().map(|(user, role)| json!({
                "userId": user.id, "email": user.email, "role": role,
            })).collect::<Vec<_>>()},
        }))?;
        Api::<Organization>::all(self.client())
            .create(&PostParams::default(), &organization)
            .await?;
        self.wait_until(|state| {
            state
                .index
                .organizations
                .get(&kube::runtime::reflector::ObjectRef::new(&slug))
                .is_some()
        })
        .await?;
        Ok(slug)
    }

    /// Creates a Project directly as a resource (as `kubectl apply -f`
    /// would) and waits until the facade sees it.
    pub async fn apply_project(&self, organization: &str) -> anyhow::Result<String> {
        let name = unique_name("p");
        let project = Project::test(&name)
            .unsaved()
            .in_organization(organization)
            .displayed_as(&format!("Shop {name}"));
        Api::<Project>::all(self.client())
            .create(&PostParams::default(), &project)
            .await?;
        let wanted = name.clone();
        self.wait_until(move |state| state.index.projects.get(&ObjectRef::new(&wanted)).is_some())
            .await?;
        Ok(name)
    }

    /// Writes a Project's status as the operator would, and waits until the
    /// facade sees it.
    pub async fn write_status(&self, name: &str, status: Value) -> anyhow::Result<()> {
        let written = Api::<Project>::all(self.client())
            .patch_status(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": status })),
            )
            .await?;
        let (wanted, version) = (name.to_string(), written.metadata.resource_version);
        self.wait_until(move |state| {
            state
                .index
                .projects
                .get(&ObjectRef::new(&wanted))
                .is_some_and(|p| p.metadata.resource_version == version)
        })
        .await
    }

    /// Writes a project's keys Secret as the operator would (its namespace
    /// too, when missing), with these entries.
    pub async fn write_keys(&self, project: &str, entries: &[(&str, &str)]) -> anyhow::Result<()> {
        let namespace = project_namespace(project);
        let namespaces: Api<Namespace> = Api::all(self.client());
        if namespaces.get_opt(&namespace).await?.is_none() {
            namespaces
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": namespace}}))?,
                )
                .await?;
        }
        let data: serde_json::Map<String, Value> = entries
            .iter()
            .map(|(key, value)| (key.to_string(), json!(value)))
            .collect();
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": KEYS_SECRET_NAME}, "stringData": data,
        }))?;
        Api::<Secret>::namespaced(self.client(), &namespace)
            .create(&PostParams::default(), &secret)
            .await?;
        Ok(())
    }

    /// Waits until the facade's caches satisfy `condition`.
    pub async fn wait_until(&self, condition: impl Fn(&AppState) -> bool) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !condition(&self.state) {
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("the facade's caches never showed the change");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Ok(())
    }
}
