//! Real services booted from exactly what the operator renders: PostgreSQL
//! (Debian's server) given the database container's own environment and
//! init SQL, then pg-meta (the real server, from npm) started with the
//! rendered environment, Secret references resolved from the rendered keys
//! Secret and Service names resolved to loopback ports. A wrong variable
//! name, a missing role or a wrong password fails here.
//!
//! GoTrue is not booted: its Go module is not served by the module proxy
//! this machine reaches (see README).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVar};
use rand::SeedableRng;
use supaplane_crds::Project;
use supaplane_operator::keys::ProjectKeys;
use supaplane_operator::render;
use supaplane_operator::render::stack::{Stack, StackSettings};
use supaplane_tests::upstreams::{PgMetaServer, PostgresServer, free_port};

fn project() -> anyhow::Result<Project> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "supaplane.io/v1alpha1", "kind": "Project",
        "metadata": {"name": "bootabcdefghijklmnop", "uid": "u"},
        "spec": {"organization": "acme", "displayName": "Boot"},
    }))?)
}

/// A workload's first container as rendered.
fn container_of(stack: &Stack, name: &str) -> Container {
    let pods = stack
        .deployments
        .iter()
        .filter(|d| d.metadata.name.as_deref() == Some(name))
        .map(|d| d.spec.template.spec.clone())
        .chain(
            stack
                .stateful_sets
                .iter()
                .filter(|s| s.metadata.name.as_deref() == Some(name))
                .map(|s| s.spec.template.spec.clone()),
        );
    pods.flatten()
        .next()
        .map(|pod| pod.containers[0].clone())
        .unwrap_or_else(|| panic!("{name} is rendered"))
}

/// The environment a container gets: plain values as they are, Secret
/// references read from the rendered keys Secret (a reference to anything
/// else fails), then `rewrite` for what differs on this machine.
fn resolved_env(
    container: &Container,
    secret_data: &BTreeMap<String, Vec<u8>>,
    rewrite: impl Fn(&str, String) -> String,
) -> anyhow::Result<Vec<(String, String)>> {
    container
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(
            |EnvVar {
                 name,
                 value,
                 value_from,
             }| {
                let value = match (value, value_from) {
                    (Some(value), None) => value,
                    (None, Some(from)) => {
                        let reference = from.secret_key_ref.ok_or_else(|| {
                            anyhow::anyhow!("{name} reads something other than a Secret")
                        })?;
                        anyhow::ensure!(
                            reference.name == supaplane_crds::constants::KEYS_SECRET_NAME,
                            "{name} reads Secret {}, not the keys Secret",
                            reference.name
                        );
                        let bytes = secret_data.get(&reference.key).ok_or_else(|| {
                            anyhow::anyhow!(
                                "{name} reads {}, which the keys Secret lacks",
                                reference.key
                            )
                        })?;
                        String::from_utf8(bytes.clone())?
                    }
                    _ => String::new(),
                };
                let value = rewrite(&name, value);
                Ok((name, value))
            },
        )
        .collect()
}

#[tokio::test]
async fn pg_meta_boots_on_the_rendered_database_roles_and_lists_tables() -> anyhow::Result<()> {
    let project = project()?;
    let keys = ProjectKeys::generate(&mut rand::rngs::StdRng::seed_from_u64(11), 0, None)?;
    let secret_data = keys.to_secret_data();
    let stack = render::stack::render(&project, &keys, &StackSettings::default());

    // The database: what the supabase/postgres image makes before our init
    // SQL runs (its bootstrap superuser and service roles), then roles.sql
    // with the database container's rendered environment.
    let database = PostgresServer::start()?;
    database.psql(
        "create role pgbouncer login; \
         create role authenticator login; create role supabase_auth_admin login; \
         create role supabase_storage_admin login; \
         alter role supabase_read_only_user nologin password null; \
         create table public.todos (id int primary key, title text)",
    )?;
    let database_env = resolved_env(&container_of(&stack, "db"), &secret_data, |_, v| v)?;
    let database_env: Vec<(&str, &str)> = database_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let roles = render::database::init_sql("roles.sql").expect("roles.sql");
    database.psql_script(roles, &database_env)?;

    // pg-meta, with its rendered environment: the database Service becomes
    // this machine's PostgreSQL, its own port a free one.
    let database_host = render::database::database_host(&project);
    let pg_meta_port = free_port()?;
    let env = resolved_env(
        &container_of(&stack, "meta"),
        &secret_data,
        |name, value| match name {
            "PG_META_DB_HOST" if value == database_host => "127.0.0.1".to_string(),
            "PG_META_DB_PORT" => database.port.to_string(),
            "PG_META_PORT" => pg_meta_port.to_string(),
            _ => value,
        },
    )?;
    let pg_meta = PgMetaServer::start_with_env(&env)?;

    let http = reqwest_like::Client::new();
    let health = http.get(&format!("{}/health", pg_meta.url())).await?;
    assert_eq!(health.0, 200, "{}", health.1);
    let tables = http
        .get(&format!("{}/tables?included_schemas=public", pg_meta.url()))
        .await?;
    assert_eq!(tables.0, 200, "{}", tables.1);
    let listed: serde_json::Value = serde_json::from_str(&tables.1)?;
    assert!(
        listed
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t["name"] == "todos")),
        "{listed}"
    );
    // Its SQL runs as the role the rendered credentials log in as.
    let query = http
        .post(
            &format!("{}/query", pg_meta.url()),
            r#"{"query": "select current_user"}"#,
        )
        .await?;
    assert_eq!(query.0, 200, "{}", query.1);
    assert!(query.1.contains("supabase_admin"), "{}", query.1);
    Ok(())
}

/// The few HTTP calls the test makes, over hyper.
mod reqwest_like {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;
    use hyper_util::client::legacy::Client as HyperClient;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;

    pub struct Client(HyperClient<HttpConnector, Full<Bytes>>);

    impl Client {
        pub fn new() -> Self {
            Client(HyperClient::builder(TokioExecutor::new()).build_http())
        }

        pub async fn get(&self, url: &str) -> anyhow::Result<(u16, String)> {
            self.send(hyper::Request::get(url).body(Full::new(Bytes::new()))?)
                .await
        }

        pub async fn post(&self, url: &str, body: &str) -> anyhow::Result<(u16, String)> {
            self.send(
                hyper::Request::post(url)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))?,
            )
            .await
        }

        async fn send(
            &self,
            request: hyper::Request<Full<Bytes>>,
        ) -> anyhow::Result<(u16, String)> {
            let response = self.0.request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            Ok((status, String::from_utf8_lossy(&body).into_owned()))
        }
    }
}
