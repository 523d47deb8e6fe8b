//! Test harness: a real dualwarn server on 127.0.0.1:0 over a temporary data
//! directory, with the bundled directory and rules, plus alert builders.
#![allow(dead_code)]
pub mod kafka;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use dualwarn::app;
use dualwarn::config::{Config, ConsoleAccess};
use dualwarn::directory::Directory;
use dualwarn::proto;
use dualwarn::proto::alert_ingest_client::AlertIngestClient;
use dualwarn::proto::task_console_client::TaskConsoleClient;
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The admin token of test configs that have consoles.
pub const ADMIN: &str = "test-admin-token-0000";

pub fn directory_path() -> PathBuf {
    Path::new(ROOT).join("directory/directory.json")
}

pub fn rules_path() -> PathBuf {
    Path::new(ROOT).join("rules")
}

pub fn directory() -> Directory {
    Directory::load(&directory_path()).unwrap()
}

/// A config over `data_dir` with the bundled directory and rules.
pub fn config(data_dir: &Path) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        rules_dir: rules_path(),
        directory: directory_path(),
        ..Config::default()
    }
}

/// A centre console of `jurisdiction` whose bearer token is `token`.
pub fn console(name: &str, token: &str, jurisdiction: &str) -> ConsoleAccess {
    ConsoleAccess {
        name: name.into(),
        token_sha256: dualwarn::config::token_digest(token),
        jurisdiction: jurisdiction.into(),
        kind: dualwarn::config::ConsoleKind::Centre,
        station: None,
        person: None,
    }
}

/// A person console (an officer or grid worker of the directory).
pub fn person_console(name: &str, token: &str, jurisdiction: &str, person: &str) -> ConsoleAccess {
    ConsoleAccess {
        kind: dualwarn::config::ConsoleKind::Person,
        person: Some(person.into()),
        ..console(name, token, jurisdiction)
    }
}

/// A police station console.
pub fn station_console(
    name: &str,
    token: &str,
    jurisdiction: &str,
    station: &str,
) -> ConsoleAccess {
    ConsoleAccess {
        kind: dualwarn::config::ConsoleKind::Station,
        station: Some(station.into()),
        ..console(name, token, jurisdiction)
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub _data: Option<tempfile::TempDir>,
}

impl Server {
    pub async fn start() -> Server {
        let data = tempfile::tempdir().unwrap();
        let cfg = config(data.path());
        let mut s = Server::start_with(cfg).await;
        s._data = Some(data);
        s
    }

    pub async fn start_with(cfg: Config) -> Server {
        Server::serve(app::build(cfg).unwrap()).await
    }

    /// A server whose writer runs on `clock`, and its shared state (to send
    /// the writer jobs such as an escalation tick).
    pub async fn start_with_clock(
        cfg: Config,
        clock: fn() -> i64,
    ) -> (Server, std::sync::Arc<app::Shared>) {
        let shared = app::build_with_clock(cfg, clock).unwrap();
        (Server::serve(shared.clone()).await, shared)
    }

    async fn serve(shared: std::sync::Arc<app::Shared>) -> Server {
        keep_in_process_logs();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(app::serve(shared, listener, async {
            let _ = rx.await;
        }));
        Server {
            addr,
            url: format!("http://{addr}"),
            stop: Some(stop),
            handle,
            _data: None,
        }
    }

    pub async fn ingest(&self) -> AlertIngestClient<Channel> {
        AlertIngestClient::connect(self.url.clone()).await.unwrap()
    }

    pub async fn console(&self) -> TaskConsoleClient<Channel> {
        TaskConsoleClient::connect(self.url.clone()).await.unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), &mut self.handle).await;
    }
}

pub fn now_ms() -> i64 {
    app::now_ms()
}

/// First `n` values of a bundled list.
pub fn list(name: &str, n: usize) -> Vec<String> {
    let text =
        std::fs::read_to_string(rules_path().join("lists").join(format!("{name}.txt"))).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .take(n)
        .map(str::to_string)
        .collect()
}

/// A person in a real village.
#[derive(Clone, Debug)]
pub struct Person {
    pub phone: String,
    pub id_hash: String,
    pub name: String,
    pub division: String,
    pub grid: String,
}

/// `n` distinct persons in villages under `prefix`, one per village.
pub fn persons(dir: &Directory, prefix: &str, n: usize, salt: u32) -> Vec<Person> {
    dir.villages()
        .iter()
        .filter(|v| v.code.to_string().starts_with(prefix))
        .take(n)
        .enumerate()
        .map(|(i, v)| Person {
            phone: format!("139{:04}{:04}", salt % 10_000, i),
            id_hash: format!("{:016x}{:016x}", salt, i),
            name: "王小明".into(),
            division: v.code.to_string(),
            grid: v.grids[0].to_string(),
        })
        .collect()
}

/// A telecom alert: `p` was called by `fraud_phone` (flagged ⇒ medium).
pub fn call_alert(source_id: &str, p: &Person, fraud_phone: &str) -> proto::Alert {
    proto::Alert {
        source: "test-telecom".into(),
        source_id: source_id.into(),
        source_kind: proto::SourceKind::Telecom as i32,
        occurred_at_ms: now_ms() - 60_000,
        subject: Some(proto::Subject {
            phone: p.phone.clone(),
            id_hash: p.id_hash.clone(),
            name: p.name.clone(),
            division_code: p.division.clone(),
            grid_id: p.grid.clone(),
            address: "某路1号".into(),
            age: 66,
        }),
        counterparts: vec![proto::Artefact {
            kind: proto::ArtefactKind::Phone as i32,
            value: fraud_phone.into(),
        }],
        ..Default::default()
    }
}

/// A bank alert: `p` paid `amount_fen` to `card` (flagged and ≥ 5000 yuan ⇒ high).
pub fn transfer_alert(source_id: &str, p: &Person, card: &str, amount_fen: i64) -> proto::Alert {
    proto::Alert {
        source: "test-bank".into(),
        source_kind: proto::SourceKind::Bank as i32,
        counterparts: vec![proto::Artefact {
            kind: proto::ArtefactKind::BankCard as i32,
            value: card.into(),
        }],
        amount_fen,
        ..call_alert(source_id, p, "")
    }
}

pub async fn submit(
    client: &mut AlertIngestClient<Channel>,
    seq: u64,
    alerts: Vec<proto::Alert>,
) -> proto::PublishAck {
    client
        .submit(proto::AlertBatch {
            sequence: seq,
            alerts,
        })
        .await
        .unwrap()
        .into_inner()
}

/// Every task under `prefix`, all pages.
pub async fn all_tasks(console: &mut TaskConsoleClient<Channel>, prefix: &str) -> Vec<proto::Task> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = console
            .list_tasks(proto::ListTasksRequest {
                jurisdiction: prefix.into(),
                page_size: 7,
                page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        out.extend(page.tasks);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

/// Starts the real `dualwarn serve` binary on a free port over `data`,
/// after `configure` had its say on the command; returns the child and its
/// URL once it is serving. Its stderr is drained so it never blocks.
pub fn spawn_server_with(
    data: &Path,
    configure: impl FnOnce(&mut std::process::Command),
) -> (std::process::Child, String) {
    let (child, url, _) = spawn_server_at(data, "127.0.0.1:0", configure);
    (child, url)
}

/// The real binary listening on `listen`, once it serves: the child, its
/// URL and what it logged until then.
pub fn spawn_server_at(
    data: &Path,
    listen: &str,
    configure: impl FnOnce(&mut std::process::Command),
) -> (std::process::Child, String, String) {
    spawn_server_on(data, listen, &rules_path(), configure)
}

/// [`spawn_server_at`] with the rules of `rules` (an edited copy).
pub fn spawn_server_on(
    data: &Path,
    listen: &str,
    rules: &Path,
    configure: impl FnOnce(&mut std::process::Command),
) -> (std::process::Child, String, String) {
    use std::io::{BufRead, BufReader, Write};
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dualwarn"));
    cmd.args([
        "serve",
        "--listen",
        listen,
        "--http-listen",
        "127.0.0.1:0",
        "--data-dir",
    ])
    .arg(data)
    .arg("--rules")
    .arg(rules)
    .arg("--directory")
    .arg(directory_path())
    .env("RUST_LOG", "info")
    .stderr(std::process::Stdio::piped())
    .stdout(std::process::Stdio::null());
    configure(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut log = String::new();
    let addr = loop {
        let line = lines.next().expect("server printed its address").unwrap();
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line
            .split("addr=")
            .nth(1)
            .filter(|_| line.contains("serving"))
        {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    let mut kept = server_log_file();
    let _ = kept.write_all(log.as_bytes());
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = writeln!(kept, "{line}");
        }
    });
    (child, format!("http://{addr}"), log)
}

/// A new file under target/test-logs for one server's log: every line the
/// real binary writes in the suite is kept, and scripts/test.sh runs them
/// all through the personal-data checker (tests/tools/check_log_masking.py).
fn server_log_file() -> std::fs::File {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = Path::new(ROOT).join("target/test-logs");
    std::fs::create_dir_all(&dir).unwrap();
    let exe = std::env::current_exe().unwrap();
    let name = exe.file_stem().unwrap().to_string_lossy().into_owned();
    let n = N.fetch_add(1, Ordering::SeqCst);
    std::fs::File::create(dir.join(format!("{name}-{}-{n}.log", std::process::id()))).unwrap()
}

/// Sends the logs of in-process servers (this test binary's own tracing) to
/// a file under target/test-logs too, at info, for the personal-data check.
fn keep_in_process_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let file = std::sync::Mutex::new(server_log_file());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
            .with_ansi(false)
            .with_writer(file)
            .try_init();
    });
}

/// `msg` with `authorization: Bearer <token>`.
pub fn with_token<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

/// The first page of tasks the console behind `token` sees.
pub async fn tasks_of(c: &mut TaskConsoleClient<Channel>, token: &str) -> Vec<proto::Task> {
    c.list_tasks(with_token(proto::ListTasksRequest::default(), token))
        .await
        .unwrap()
        .into_inner()
        .tasks
}

/// The `retry-after-ms` hint of a RESOURCE_EXHAUSTED status.
pub fn retry_after_ms(status: &tonic::Status) -> Option<u64> {
    status
        .metadata()
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// [`spawn_server_with`] as it is.
pub fn spawn_server(data: &Path) -> (std::process::Child, String) {
    spawn_server_with(data, |_| {})
}

/// The Python with openpyxl that scripts/test.sh installs.
pub fn python() -> PathBuf {
    let p = std::env::var_os("DUALWARN_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(ROOT).join("target/test-venv/bin/python"));
    assert!(
        p.exists(),
        "{} is missing: run scripts/test.sh, which installs openpyxl in target/test-venv",
        p.display()
    );
    p
}

pub fn read_xlsx(path: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new(python())
        .arg(PathBuf::from(ROOT).join("tests/tools/read_xlsx.py"))
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openpyxl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The daily list of `day` downloaded as XLSX with the real `dualwarn tasks
/// daily` (extra flags in `args`), read back with openpyxl.
pub fn daily_xlsx(url: &str, day: &str, args: &[&str]) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("list.xlsx");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_dualwarn"))
        .args(["tasks", "daily", "--addr", url, "--day", day])
        .args(args)
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    read_xlsx(&file)
}

/// Has the writer of `shared` run its escalation check now; the number of
/// escalation events it made.
pub async fn tick(shared: &app::Shared) -> usize {
    let (tx, rx) = tokio::sync::oneshot::channel();
    shared
        .jobs
        .send(app::Job::Tick { reply: Some(tx) })
        .await
        .unwrap();
    rx.await.unwrap().unwrap()
}

/// Copies the directory tree `from` into `to` (a rule directory to edit).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
