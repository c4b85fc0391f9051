//! The real Kubernetes control plane the integration tests run on: etcd,
//! kube-apiserver and kube-controller-manager, built from their Go modules
//! by `tests/controlplane` (`make controlplane`) into `target/controlplane`.
//!
//! One control plane serves every test of a test binary; tests stay apart by
//! unique names. It is started on first use by the small launcher of our Go
//! module, which stops it when this process ends (its standard input
//! closes).

use std::io::{BufRead, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

/// How long the launcher may take to report a ready API server (a cold
/// start on a busy 2-core machine takes 10–30 s).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// Set to keep the control plane's directory (logs, audit log) after the
/// tests, for a look at what happened.
pub const KEEP_ENV: &str = "SUPAPLANE_TEST_KEEP_CONTROL_PLANE";

/// A running control plane.
pub struct ControlPlane {
    kubeconfig: PathBuf,
    audit_log: PathBuf,
    directory: PathBuf,
    node: String,
    pod_logs: PathBuf,
    // Held open for the life of the control plane: the launcher stops it
    // when this pipe closes. Commands (the fault tests') go in here...
    launcher: Mutex<(Child, Option<ChildStdin>)>,
    // ...and their answers come back here, a JSON line each.
    answers: Mutex<std::sync::mpsc::Receiver<std::io::Result<String>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ready {
    kubeconfig: PathBuf,
    audit_log: PathBuf,
    directory: PathBuf,
    node: String,
    pod_logs: PathBuf,
}

static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();

/// Where `make controlplane` puts the binaries.
pub fn binaries_directory() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/controlplane")
}

impl ControlPlane {
    /// The control plane of this test process, started on first use.
    pub fn shared() -> anyhow::Result<&'static ControlPlane> {
        SHARED
            .get_or_init(|| Self::start().map_err(|error| format!("{error:#}")))
            .as_ref()
            .map_err(|error| anyhow::anyhow!("{error}"))
    }

    /// A control plane of its own, beside the shared one, stopped (and its
    /// directory removed) when dropped: a benchmark's phases each start
    /// from an empty API server and do not pay for each other's objects.
    pub fn dedicated() -> anyhow::Result<Self> {
        Self::start()
    }

    fn start() -> anyhow::Result<Self> {
        let binaries = binaries_directory();
        let launcher = binaries.join("controlplane");
        anyhow::ensure!(
            launcher.is_file(),
            "{} is missing: run `make controlplane` (or `make test`, which builds it)",
            launcher.display()
        );
        if std::env::var_os(KEEP_ENV).is_none() {
            remove_abandoned_directories();
        }
        let directory = std::env::temp_dir().join(format!(
            "supaplane-controlplane-{}-{}",
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        ));
        let mut command = Command::new(&launcher);
        if std::env::var_os(KEEP_ENV).is_some() {
            command.arg("-keep");
            eprintln!(
                "the test control plane keeps its logs in {}",
                directory.display()
            );
        }
        let mut child = command
            .arg("-bin-dir")
            .arg(&binaries)
            .arg("-dir")
            .arg(&directory)
            // The chart's CRDs, installed before the controllers start.
            .arg("-crds")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/supaplane/crds"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", launcher.display()))?;
        let stdin = child.stdin.take().context("launcher stdin")?;
        let stdout = child.stdout.take().context("launcher stdout")?;
        let mut stderr = child.stderr.take().context("launcher stderr")?;
        let (sender, receiver) = std::sync::mpsc::channel();
        // Every line the launcher prints: first its ready line, then one
        // answer per command. Read to the end, so it never writes to a
        // closed pipe.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut line = String::new();
                let read = reader.read_line(&mut line);
                let done = !matches!(read, Ok(n) if n > 0);
                if sender.send(read.map(|_| line)).is_err() || done {
                    break;
                }
            }
        });
        let failure = |what: String, child: &mut Child, stderr: &mut std::process::ChildStderr| {
            let _ = child.kill();
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            anyhow::anyhow!("the test control plane did not start: {what}\n{text}")
        };
        let line = match receiver.recv_timeout(START_TIMEOUT) {
            Ok(Ok(line)) if !line.trim().is_empty() => line,
            Ok(Ok(_)) => return Err(failure("it exited".into(), &mut child, &mut stderr)),
            Ok(Err(error)) => return Err(failure(error.to_string(), &mut child, &mut stderr)),
            Err(_) => {
                return Err(failure(
                    format!("no answer within {START_TIMEOUT:?}"),
                    &mut child,
                    &mut stderr,
                ));
            }
        };
        let ready: Ready = serde_json::from_str(line.trim())
            .with_context(|| format!("reading the launcher's answer {line:?}"))?;
        // Whatever the control plane says later goes to our stderr.
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut stderr, &mut std::io::stderr());
        });
        Ok(ControlPlane {
            kubeconfig: ready.kubeconfig,
            audit_log: ready.audit_log,
            directory: ready.directory,
            node: ready.node,
            pod_logs: ready.pod_logs,
            launcher: Mutex::new((child, Some(stdin))),
            answers: Mutex::new(receiver),
        })
    }

    /// Sends the launcher one command and waits for its answer.
    fn command(&self, command: &str) -> anyhow::Result<()> {
        use std::io::Write;
        let answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        {
            let mut launcher = self.launcher.lock().unwrap_or_else(|p| p.into_inner());
            let stdin = launcher
                .1
                .as_mut()
                .context("the control plane is stopped")?;
            writeln!(stdin, "{command}")?;
            stdin.flush()?;
        }
        let line = answers
            .recv_timeout(std::time::Duration::from_secs(180))
            .with_context(|| format!("no answer to {command:?}"))??;
        let answer: serde_json::Value = serde_json::from_str(line.trim())
            .with_context(|| format!("the answer to {command:?}: {line:?}"))?;
        if let Some(error) = answer.get("error") {
            anyhow::bail!("{command:?} failed: {error}");
        }
        Ok(())
    }

    /// Stops kube-apiserver (etcd keeps the data); blocks until it is gone.
    pub fn stop_apiserver(&self) -> anyhow::Result<()> {
        self.command("stop kube-apiserver")
    }

    /// Starts kube-apiserver again; blocks until it is ready.
    pub fn start_apiserver(&self) -> anyhow::Result<()> {
        self.command("start kube-apiserver")
    }

    /// The administrator's kubeconfig (a `system:masters` client certificate).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The working directory: certificates, logs of each component.
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The Node whose pods' container logs the API server serves (from
    /// [`ControlPlane::write_pod_log`]): bind a pod to it to read its logs.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Appends lines to a container's log, as the pod's node keeps it: each
    /// line is `<RFC 3339 time> <message>`.
    pub fn write_pod_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        lines: &[(String, String)],
    ) -> anyhow::Result<()> {
        use std::io::Write;
        let directory = self.pod_logs.join(namespace).join(pod);
        std::fs::create_dir_all(&directory)?;
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(directory.join(format!("{container}.log")))?;
        for (time, message) in lines {
            writeln!(file, "{time} {message}")?;
        }
        Ok(())
    }

    /// The API server's audit log.
    pub fn audit(&self) -> AuditLog {
        AuditLog {
            path: self.audit_log.clone(),
        }
    }
}

impl Drop for ControlPlane {
    /// Closes the launcher's input, which stops the control plane, and
    /// waits for it (the shared one is never dropped: it ends with the
    /// process).
    fn drop(&mut self) {
        let launcher = self.launcher.get_mut().unwrap_or_else(|p| p.into_inner());
        launcher.1.take();
        let _ = launcher.0.wait();
    }
}

/// kube-apiserver's audit log (JSON lines, Metadata level, written before
/// each response is sent), read from a mark on.
#[derive(Clone)]
pub struct AuditLog {
    path: PathBuf,
}

/// A point in the audit log.
#[derive(Clone, Copy, Debug)]
pub struct AuditMark(u64);

/// One completed request, as the API server audited it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub stage: String,
    pub verb: String,
    #[serde(default, rename = "requestURI")]
    pub request_uri: String,
    pub user: AuditUser,
    #[serde(default)]
    pub impersonated_user: Option<AuditUser>,
    #[serde(default)]
    pub object_ref: Option<AuditObject>,
    #[serde(default)]
    pub response_status: Option<AuditResponse>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditUser {
    #[serde(default)]
    pub username: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditObject {
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub subresource: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub api_group: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuditResponse {
    #[serde(default)]
    pub code: u16,
}

/// The verbs that change what the API server stores.
pub const WRITE_VERBS: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

impl AuditEvent {
    /// Who asked: the impersonated user when there is one.
    pub fn acting_user(&self) -> &str {
        self.impersonated_user
            .as_ref()
            .map_or(self.user.username.as_str(), |u| u.username.as_str())
    }

    pub fn code(&self) -> u16 {
        self.response_status.as_ref().map_or(0, |s| s.code)
    }

    pub fn object(&self) -> AuditObject {
        self.object_ref.clone().unwrap_or_default()
    }

    /// The resource as RBAC names it: `deployments`, `projects/status`.
    pub fn resource(&self) -> String {
        let object = self.object();
        if object.subresource.is_empty() {
            object.resource
        } else {
            format!("{}/{}", object.resource, object.subresource)
        }
    }

    /// A write the server carried out (a refused or dry-run request changed nothing).
    pub fn is_write(&self) -> bool {
        WRITE_VERBS.contains(&self.verb.as_str())
            && (200..300).contains(&self.code())
            && !self.request_uri.contains("dryRun=")
    }
}

impl AuditLog {
    /// The end of the log now: what happens from here on is read from it.
    pub fn mark(&self) -> AuditMark {
        AuditMark(std::fs::metadata(&self.path).map_or(0, |m| m.len()))
    }

    /// A mark taken once what just happened has settled: the reconciles a
    /// write triggered have run, and the API server has audited every write
    /// a watch already showed (it audits after answering, and a watch event
    /// can arrive first).
    pub async fn mark_when_settled(&self) -> AuditMark {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        self.mark()
    }

    /// Every completed request (and every watch started) logged since `mark`.
    pub fn since(&self, mark: AuditMark) -> anyhow::Result<Vec<AuditEvent>> {
        let mut file = std::fs::File::open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        file.seek(SeekFrom::Start(mark.0))?;
        let mut events = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line?;
            // The last line may be half-written; it is read next time.
            let Ok(event) = serde_json::from_str::<AuditEvent>(&line) else {
                continue;
            };
            // A watch is audited when it starts, and again only when it ends.
            let watch_started = event.stage == "ResponseStarted" && event.verb == "watch";
            if event.stage == "ResponseComplete" || watch_started {
                events.push(event);
            }
        }
        Ok(events)
    }

    /// Every completed request logged since the control plane started.
    pub fn all(&self) -> anyhow::Result<Vec<AuditEvent>> {
        self.since(AuditMark(0))
    }
}

/// Removes the directories of earlier runs whose test process is gone (a
/// run killed outright leaves its ~130 MB behind).
fn remove_abandoned_directories() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("supaplane-controlplane-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}
