//! The facade against its own OpenAPI document, by Schemathesis (from
//! PyPI, installed by `make test-deps` into target/schemathesis): generated
//! requests to every documented operation, as the Owner of an organization
//! with a running project (real PostgreSQL and pg-meta behind it), must
//! never answer a status the document does not list (so never a 500, which
//! no operation documents), always with the documented content type and
//! body shape. The one 5xx it meets is the documented 503 of a project
//! service that is not answering: no GoTrue or Storage API runs here.
//! Bounded: a fixed seed and a few examples per operation.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::json;
use supaplane_crds::OrganizationRole;
use supaplane_crds::constants::keys_secret;
use supaplane_facade::server::{ConnectionLimits, serve};
use supaplane_tests::facade::{TestFacade, User};
use supaplane_tests::upstreams::{
    PG_META_CRYPTO_KEY, POSTGRES_PASSWORD, PgMetaServer, PostgresServer, READ_ONLY_PASSWORD,
};

fn schemathesis_directory() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/schemathesis")
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() -> anyhow::Result<()> {
    let installed = schemathesis_directory();
    anyhow::ensure!(
        installed.join("schemathesis").is_dir(),
        "Schemathesis is missing in {}: run `make test-deps`",
        installed.display()
    );
    let database = PostgresServer::start()?;
    let pg_meta = PgMetaServer::start(&database)?;
    let facade = TestFacade::start_with(|config| {
        config.pg_meta_url = pg_meta.url();
        // Generated writes come fast; the rate limit has its own test.
        config.writes_per_minute = 100_000;
        config.upstream_timeout_seconds = 2;
        config.request_timeout_seconds = 5;
    })
    .await?;
    let user = User::new("fuzzer");
    let slug = facade
        .organization_with(&[(&user, OrganizationRole::Owner)])
        .await?;
    let project = facade.apply_project(&slug).await?;
    facade
        .write_status(
            &project,
            json!({"status": "ACTIVE_HEALTHY",
                   "endpoints": {"databaseHost": "127.0.0.1", "databasePort": database.port}}),
        )
        .await?;
    facade
        .write_keys(
            &project,
            &[
                (keys_secret::PG_META_CRYPTO_KEY, PG_META_CRYPTO_KEY),
                (keys_secret::POSTGRES_PASSWORD, POSTGRES_PASSWORD),
                (keys_secret::READ_ONLY_PASSWORD, READ_ONLY_PASSWORD),
                (keys_secret::SERVICE_ROLE_KEY, "not-a-real-service-key"),
                (keys_secret::ANON_KEY, "not-a-real-anon-key"),
                (
                    keys_secret::JWT_SECRET,
                    "not-a-real-jwt-secret-of-enough-length",
                ),
            ],
        )
        .await?;
    let (status, document) = facade.get(&user, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    let scratch_directory = tempfile::Builder::new()
        .prefix("supaplane-schemathesis-")
        .tempdir()?;
    let directory = scratch_directory.path().to_path_buf();
    let schema = directory.join("openapi.json");
    std::fs::write(&schema, serde_json::to_vec(&document)?)?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    let limits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(10),
        max_header_bytes: 64 * 1024,
    };
    let server = tokio::spawn(serve(
        listener,
        facade.router.clone(),
        limits,
        std::future::pending(),
    ));

    let token = user.token.clone();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-m", "schemathesis.cli", "run"])
            .arg(&schema)
            .args(["--url", &format!("http://{address}")])
            .args(["--header", &format!("Authorization: Bearer {token}")])
            .args([
                "--checks",
                "status_code_conformance,content_type_conformance,response_schema_conformance",
                "--max-examples",
                "8",
                "--seed",
                "20261201",
                "--request-timeout",
                "10",
                "--no-color",
            ])
            .env("PYTHONPATH", schemathesis_directory())
            .env("SCHEMATHESIS_HOOKS", "")
            .current_dir(&directory)
            .output()
    })
    .await??;
    server.abort();
    let output = format!(
        "{}\n{}",
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr)
    );
    eprintln!("{output}");
    assert!(
        run.status.success(),
        "Schemathesis found problems (project {project}, organization {slug})"
    );
    Ok(())
}
