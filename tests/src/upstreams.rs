//! Real upstream services for the facade's proxy tests, started by the
//! harness on 127.0.0.1: a PostgreSQL server (Debian's package) and the
//! pg-meta server (`@supabase/postgres-meta` from the npm registry, which
//! `.ci/run` installs into `target/pg-meta`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// The role the supabase/postgres image gives read-only dashboard members;
/// the harness creates it as the image does.
pub const READ_ONLY_ROLE: &str = "supabase_read_only_user";
pub const READ_ONLY_PASSWORD: &str = "read-only-test-password";
/// The image's bootstrap superuser, which the harness's own psql (over the
/// Unix socket) and pg-meta's default connection use.
pub const SUPERUSER: &str = "supabase_admin";
pub const SUPERUSER_PASSWORD: &str = "supabase-admin-test-password";
/// The password of `postgres`, the role dashboard SQL runs as (in the keys
/// Secret as `postgres-password`).
pub const POSTGRES_PASSWORD: &str = "postgres-test-password";
/// The key pg-meta decrypts `x-connection-encrypted` with.
pub const PG_META_CRYPTO_KEY: &str = "pg-meta-crypto-key-for-tests-0123456789";

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, what: &str, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited before listening: {status}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not listen on port {port} within 60 s")
}

/// The directory of the PostgreSQL client and server binaries the tests use.
pub fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    postgres_binary("pg_dump")?
        .parent()
        .map(Path::to_path_buf)
        .context("pg_dump has no directory")
}

/// A PostgreSQL binary: on PATH, else in Debian's versioned directory.
fn postgres_binary(name: &str) -> anyhow::Result<PathBuf> {
    if let Some(found) = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    }) {
        return Ok(found);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|p| p.is_file())
        .with_context(|| format!("{name} not found: install Debian's postgresql package"))
}

/// The uid and gid of the `postgres` user, for running the server when the
/// tests run as root (PostgreSQL refuses to).
fn postgres_user() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&"postgres"))
            .then(|| Some((fields.get(2)?.parse().ok()?, fields.get(3)?.parse().ok()?)))?
    })
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn as_postgres_user(command: &mut Command) -> anyhow::Result<()> {
    use std::os::unix::process::CommandExt;
    if is_root() {
        let (uid, gid) = postgres_user().context("running as root needs a postgres user")?;
        command.uid(uid).gid(gid);
    }
    Ok(())
}

fn chown_to_postgres(path: &Path) -> anyhow::Result<()> {
    if is_root() {
        let (uid, gid) = postgres_user().context("running as root needs a postgres user")?;
        std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    }
    Ok(())
}

/// A throwaway PostgreSQL cluster, stopped when dropped.
pub struct PostgresServer {
    pub port: u16,
    child: Child,
    directory: PathBuf,
}

impl PostgresServer {
    pub fn start() -> anyhow::Result<PostgresServer> {
        let directory =
            std::env::temp_dir().join(format!("supaplane-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&directory)?;
        chown_to_postgres(&directory)?;
        let data = directory.join("data");
        let mut initdb = Command::new(postgres_binary("initdb")?);
        initdb
            .args([
                "--auth=trust",
                "--username=supabase_admin",
                "--encoding=UTF8",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        as_postgres_user(&mut initdb)?;
        let output = initdb.output()?;
        if !output.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        // As in a project database: every role needs its password over
        // TCP; the harness's own psql comes through the Unix socket.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )?;
        let port = free_port()?;
        let mut server = Command::new(postgres_binary("postgres")?);
        server
            .arg("-D")
            .arg(&data)
            .args([
                "-p",
                &port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
                "-k",
            ])
            .arg(&directory)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        as_postgres_user(&mut server)?;
        let mut child = server.spawn().context("starting postgres")?;
        wait_for_port(port, "postgres", &mut child)?;
        let server = PostgresServer {
            port,
            child,
            directory,
        };
        server.wait_accepting()?;
        server.prepare()?;
        Ok(server)
    }

    /// Waits until the server accepts sessions: it listens while it is still
    /// starting up, and refuses sessions until then ("the database system is
    /// starting up"), which a loaded machine makes long enough to hit.
    fn wait_accepting(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // pg_isready exits 0 only once the server accepts connections.
            let ready = self
                .superuser_command("pg_isready")?
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "postgres on port {} did not accept sessions within 60 s",
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// psql connected over TCP as `role` to database `postgres`.
    fn psql_as(&self, role: &str) -> anyhow::Result<Command> {
        let mut command = Command::new(postgres_binary("psql")?);
        command.args([
            "-h",
            "127.0.0.1",
            "-p",
            &self.port.to_string(),
            "-U",
            role,
            "-d",
            "postgres",
        ]);
        Ok(command)
    }

    /// psql as the superuser, through the Unix socket.
    fn psql_superuser(&self) -> anyhow::Result<Command> {
        self.superuser_command("psql")
    }

    /// A PostgreSQL client tool connected as the superuser to database
    /// `postgres` through the Unix socket.
    fn superuser_command(&self, tool: &str) -> anyhow::Result<Command> {
        let mut command = Command::new(postgres_binary(tool)?);
        command.arg("-h").arg(&self.directory).args([
            "-p",
            &self.port.to_string(),
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
        ]);
        Ok(command)
    }

    /// Runs SQL as the superuser through psql.
    pub fn psql(&self, sql: &str) -> anyhow::Result<String> {
        let output = self
            .psql_superuser()?
            .args(["-v", "ON_ERROR_STOP=1", "-qAtc", sql])
            .output()?;
        if !output.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Runs a psql script (from stdin) as the superuser, with `env` in its
    /// environment, stopping at the first error.
    pub fn psql_script(&self, script: &str, env: &[(&str, &str)]) -> anyhow::Result<String> {
        use std::io::Write;
        let mut child = self
            .psql_superuser()?
            .args(["-v", "ON_ERROR_STOP=1", "-qAt", "-f", "-"])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        child
            .stdin
            .take()
            .context("psql stdin")?
            .write_all(script.as_bytes())?;
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Whether `role` can log in over TCP with `password`.
    pub fn can_log_in(&self, role: &str, password: &str) -> anyhow::Result<bool> {
        let output = self
            .psql_as(role)?
            .args(["-w", "-qAtc", "select 1"])
            .env("PGPASSWORD", password)
            .output()?;
        Ok(output.status.success())
    }

    /// What the supabase/postgres image provides that the proxy relies on:
    /// `postgres` as its migrations leave it (no superuser; its
    /// `demote-postgres` migration's attributes and grants), and the
    /// read-only role, able to log in with a password and read all.
    fn prepare(&self) -> anyhow::Result<()> {
        self.psql(&format!(
            "ALTER ROLE {SUPERUSER} PASSWORD '{SUPERUSER_PASSWORD}'; \
             CREATE ROLE postgres NOSUPERUSER CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS PASSWORD '{POSTGRES_PASSWORD}'; \
             GRANT ALL ON DATABASE postgres TO postgres; GRANT ALL ON SCHEMA public TO postgres; \
             CREATE ROLE {READ_ONLY_ROLE} LOGIN PASSWORD '{READ_ONLY_PASSWORD}' IN ROLE pg_read_all_data"
        ))?;
        Ok(())
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}

/// Where `@supabase/postgres-meta` is installed.
fn pg_meta_package() -> anyhow::Result<PathBuf> {
    let directory = std::env::var_os("SUPAPLANE_PG_META_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../target/pg-meta/node_modules/@supabase/postgres-meta")
        });
    let server = directory.join("dist/server/server.js");
    if !server.is_file() {
        bail!(
            "pg-meta is not installed at {}: run `npm install --prefix target/pg-meta @supabase/postgres-meta` (as .ci/run does) or set SUPAPLANE_PG_META_DIR",
            directory.display()
        );
    }
    Ok(server)
}

/// The pg-meta server, connected by default to `database` as its superuser
/// (as a project's pg-meta is to its database as supabase_admin).
pub struct PgMetaServer {
    pub port: u16,
    child: Child,
}

impl PgMetaServer {
    pub fn start(database: &PostgresServer) -> anyhow::Result<PgMetaServer> {
        // A port picked free can be taken by another test's server before
        // pg-meta binds it: then pg-meta exits, and a new port is tried.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match Self::start_once(database) {
                Ok(server) => return Ok(server),
                Err(error) if attempts < 3 => {
                    eprintln!("pg-meta did not start ({error:#}); trying another port");
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn start_once(database: &PostgresServer) -> anyhow::Result<PgMetaServer> {
        let env = [
            ("PG_META_HOST", "127.0.0.1".to_string()),
            ("PG_META_PORT", free_port()?.to_string()),
            ("PG_META_DB_HOST", "127.0.0.1".to_string()),
            ("PG_META_DB_PORT", database.port.to_string()),
            ("PG_META_DB_NAME", "postgres".to_string()),
            ("PG_META_DB_USER", SUPERUSER.to_string()),
            ("PG_META_DB_PASSWORD", SUPERUSER_PASSWORD.to_string()),
            ("CRYPTO_KEY", PG_META_CRYPTO_KEY.to_string()),
        ];
        Self::start_with_env(&env.map(|(name, value)| (name.to_string(), value)))
    }

    /// pg-meta started with exactly `env` (and PATH), as a container would
    /// be; it listens on `PG_META_PORT`.
    pub fn start_with_env(env: &[(String, String)]) -> anyhow::Result<PgMetaServer> {
        let port: u16 = env
            .iter()
            .find(|(name, _)| name == "PG_META_PORT")
            .context("the environment sets no PG_META_PORT")?
            .1
            .parse()?;
        let mut child = Command::new("node")
            .arg(pg_meta_package()?)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting pg-meta with node")?;
        wait_for_port(port, "pg-meta", &mut child)?;
        // What answered may have been another process on a port pg-meta
        // could not bind; pg-meta then exits at once.
        std::thread::sleep(Duration::from_millis(300));
        if let Some(status) = child.try_wait()? {
            bail!("pg-meta exited after port {port} answered: {status}");
        }
        Ok(PgMetaServer { port, child })
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for PgMetaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The access key of the test MinIO's root user.
pub const MINIO_ACCESS_KEY: &str = "supaplane-test";
/// Its secret key (with a character curl's config quoting must escape).
pub const MINIO_SECRET_KEY: &str = "minio-secret\"key-0123456789";

/// A throwaway MinIO server (the real S3-compatible server, built from its
/// Go module by `make minio` into `target/minio`), stopped when dropped.
pub struct MinioServer {
    pub port: u16,
    child: Child,
    directory: PathBuf,
}

impl MinioServer {
    pub fn start() -> anyhow::Result<MinioServer> {
        let binary = std::env::var_os("SUPAPLANE_MINIO")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/minio/minio")
            });
        anyhow::ensure!(
            binary.is_file(),
            "MinIO is not built at {}: run `make minio` (as `make test-deps` does)",
            binary.display()
        );
        let directory =
            std::env::temp_dir().join(format!("supaplane-minio-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&directory)?;
        let port = free_port()?;
        let console = free_port()?;
        let mut child = Command::new(binary)
            .arg("server")
            .arg(directory.join("data"))
            .args(["--address", &format!("127.0.0.1:{port}")])
            .args(["--console-address", &format!("127.0.0.1:{console}")])
            .env("MINIO_ROOT_USER", MINIO_ACCESS_KEY)
            .env("MINIO_ROOT_PASSWORD", MINIO_SECRET_KEY)
            .env("MINIO_BROWSER", "off")
            .env("HOME", &directory)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting minio")?;
        wait_for_port(port, "minio", &mut child)?;
        let server = MinioServer {
            port,
            child,
            directory,
        };
        // Listening is not ready: until its storage is initialized MinIO
        // answers 503. Its own readiness endpoint says when.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = Command::new("curl")
                .args([
                    "--silent",
                    "--output",
                    "/dev/null",
                    "--write-out",
                    "%{http_code}",
                ])
                .arg(format!("{}/minio/health/ready", server.endpoint()))
                .output()
                .context("running curl")?;
            if String::from_utf8_lossy(&ready.stdout).trim() == "200" {
                return Ok(server);
            }
            anyhow::ensure!(Instant::now() < deadline, "MinIO never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Its endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A signed request with curl (the same signing the backup Jobs use):
    /// its HTTP status code.
    pub fn request(&self, method: &str, path: &str) -> anyhow::Result<u16> {
        let output = Command::new("curl")
            .args([
                "--silent",
                "--output",
                "/dev/null",
                "--write-out",
                "%{http_code}",
            ])
            // HEAD by --head: with --request HEAD curl waits for a body.
            .args(if method == "HEAD" {
                vec!["--head".to_string()]
            } else {
                vec!["--request".to_string(), method.to_string()]
            })
            .args(["--aws-sigv4", "aws:amz:us-east-1:s3"])
            .args(["--user", &format!("{MINIO_ACCESS_KEY}:{MINIO_SECRET_KEY}")])
            .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
            .arg(format!(
                "{}/{}",
                self.endpoint(),
                path.trim_start_matches('/')
            ))
            .output()
            .context("running curl")?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
    }
}

impl Drop for MinioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.directory);
    }
}
