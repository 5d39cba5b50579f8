//! Test harnesses (feature `testing`): a `moto_server` on 127.0.0.1 for the AWS backends.
//!
//! [`MotoServer::shared`] starts one server per test process, on a free loopback port, and
//! hands out SDK clients configured for it (dummy credentials, region `us-east-1`). The
//! server is killed when the test process ends, however it ends: it is started from a thread
//! that never exits, with `PR_SET_PDEATHSIG`, so no `moto_server` outlives `cargo test`.
//!
//! The binary is `$CIRRUS_MOTO_SERVER`, else `<workspace>/.venv/bin/moto_server`, which
//! `bash scripts/install.sh` installs.
//!
//! ```no_run
//! # async fn demo() {
//! use cirrus_core::testing::MotoServer;
//!
//! let moto = MotoServer::shared();
//! let client = moto.dynamodb_client().await;
//! client.list_tables().send().await.unwrap();
//! # }
//! ```
//!
//! **Atomic requests.** DynamoDB applies each request to an item atomically, which is what
//! conditional writes rely on. `moto_server` serves requests on concurrent threads and holds
//! no lock between a condition check and the write that follows it, so a thread switch of the
//! Python interpreter in between lets two conditional writes both succeed. The harness starts
//! the server with a very long interpreter switch interval (a generated `sitecustomize.py` on
//! `PYTHONPATH`): a request then runs to completion unless it waits for I/O, which moto's
//! DynamoDB does not do while it handles one. That gives the per-request atomicity of the
//! real service, and the race tests test the store rather than the emulator.
//!
//! **A movable clock.** [`MotoServer::start_with_clock`] starts a server of its own whose
//! clock [`MotoServer::advance`] moves forward: the same `sitecustomize.py` shifts moto's
//! `utcnow` by the seconds written in a file. A thread of the server follows the file and
//! acknowledges each change, so `advance` returns once the server runs on the new time; the
//! shift itself does no I/O, so requests stay atomic. Visibility timeouts, receive times
//! and message ages then pass at once, as a `ManualClock` makes them pass for the embedded
//! backends. The shift applies to every service of that server and to every test using it.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock, mpsc};
use std::time::{Duration, Instant};

/// The environment variable that names the `moto_server` binary to run.
pub const MOTO_SERVER_ENV: &str = "CIRRUS_MOTO_SERVER";

/// The start of the name of each process's folder (server log, `sitecustomize.py`) in the
/// temporary folder; the process ID follows.
const DIR_PREFIX: &str = "cirrus-moto-";

/// How long a starting server has to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Python code run by the server's interpreter at start-up: see "Atomic requests" and "A
/// movable clock" above.
const SITECUSTOMIZE: &str = r#"import os
import sys

sys.setswitchinterval(1000.0)

_clock = os.environ.get("CIRRUS_MOTO_CLOCK")
if _clock:
    import datetime
    import threading
    import time

    import moto.core.utils as _utils

    _utcnow = _utils.utcnow
    _offset = [0.0]

    def _shifted_utcnow():
        # No I/O here: a request must not give up the interpreter halfway (see above).
        return _utcnow() + datetime.timedelta(seconds=_offset[0])

    def _follow_clock_file():
        applied = None
        while True:
            try:
                with open(_clock) as f:
                    text = f.read().strip()
                if text and text != applied:
                    _offset[0] = float(text)
                    applied = text
                    with open(_clock + ".tmp", "w") as f:
                        f.write(text)
                    os.replace(_clock + ".tmp", _clock + ".ack")
            except (OSError, ValueError):
                pass
            time.sleep(0.01)

    _utils.utcnow = _shifted_utcnow
    threading.Thread(target=_follow_clock_file, daemon=True).start()
"#;

/// The environment variable naming a server's clock file (seconds to add to its time).
const CLOCK_ENV: &str = "CIRRUS_MOTO_CLOCK";

/// A `moto_server` listening on 127.0.0.1.
#[derive(Debug)]
pub struct MotoServer {
    port: u16,
    pid: u32,
    log: PathBuf,
    clock: Option<MotoClock>,
}

/// The clock file of a server started with [`MotoServer::start_with_clock`].
#[derive(Debug)]
struct MotoClock {
    path: PathBuf,
    offset: Mutex<Duration>,
}

impl MotoServer {
    /// The server of this test process, started on first use.
    ///
    /// # Panics
    ///
    /// When the server cannot be started: the binary is missing (the message says to run
    /// `bash scripts/install.sh`), or it does not answer within a minute (the message
    /// quotes its log).
    pub fn shared() -> &'static MotoServer {
        static SHARED: OnceLock<MotoServer> = OnceLock::new();
        SHARED.get_or_init(|| match MotoServer::start() {
            Ok(server) => server,
            Err(e) => panic!("cannot start moto_server: {e}"),
        })
    }

    /// Starts a new server, which lives until the process exits.
    ///
    /// The server is spawned by a thread that never exits and that asks the kernel to kill
    /// the server when that thread dies (`PR_SET_PDEATHSIG`), that is, with the process.
    pub fn start() -> io::Result<MotoServer> {
        MotoServer::start_inner(false, &[])
    }

    /// Starts a new server with extra environment variables: moto settings such as
    /// `INITIAL_NO_AUTH_ACTION_COUNT=0`, which makes it check every request's credentials
    /// against its IAM users (so made-up keys are refused, as AWS refuses them).
    pub fn start_with_env(env: &[(&str, &str)]) -> io::Result<MotoServer> {
        MotoServer::start_inner(false, env)
    }

    /// Starts a new server whose clock [`advance`](Self::advance) moves forward (see "A
    /// movable clock" above). Use one per test binary, and let one test at a time move it.
    pub fn start_with_clock() -> io::Result<MotoServer> {
        MotoServer::start_inner(true, &[])
    }

    fn start_inner(with_clock: bool, env: &[(&str, &str)]) -> io::Result<MotoServer> {
        let binary = moto_binary()?;
        remove_stale_dirs();
        let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("sitecustomize.py"), SITECUSTOMIZE)?;
        let mut last_error = None;
        // A free port can be taken by someone else before the server binds it: try again.
        for attempt in 0..3 {
            let port = free_port()?;
            let log = dir.join(format!("moto-{port}.log"));
            let clock = with_clock.then(|| MotoClock {
                path: dir.join(format!("clock-{port}")),
                offset: Mutex::new(Duration::ZERO),
            });
            if let Some(clock) = &clock {
                std::fs::write(&clock.path, "0")?;
            }
            let clock_path = clock.as_ref().map(|c| c.path.as_path());
            let child = spawn_owned(&binary, port, &dir, &log, clock_path, env)?;
            let pid = child.id();
            match wait_ready(port, child, &log) {
                Ok(()) => {
                    tracing::debug!(port, pid, attempt, "moto_server is up");
                    return Ok(MotoServer {
                        port,
                        pid,
                        log,
                        clock,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("moto_server did not start")))
    }

    /// Moves the server's clock forward by `by`. An error for a server not started with
    /// [`start_with_clock`](Self::start_with_clock).
    pub fn advance(&self, by: Duration) -> io::Result<()> {
        let Some(clock) = &self.clock else {
            return Err(io::Error::other(
                "this moto_server has no movable clock: start it with MotoServer::start_with_clock",
            ));
        };
        let mut offset = clock.offset.lock().unwrap_or_else(|e| e.into_inner());
        let moved = *offset + by;
        let text = format!("{:.6}", moved.as_secs_f64());
        // Write then rename, so the server never reads a half-written number; then wait
        // until the server says it follows it (`<clock>.ack`).
        let next = clock.path.with_extension("next");
        std::fs::write(&next, &text)?;
        std::fs::rename(&next, &clock.path)?;
        let ack = clock.path.with_extension("ack");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::fs::read_to_string(&ack).ok().as_deref() != Some(text.as_str()) {
            if Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("moto_server did not take the new time {text} s within 30 s"),
                ));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        *offset = moved;
        Ok(())
    }

    /// The server's URL, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's process ID.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The file the server's output goes to.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// An SDK configuration for this server: its endpoint, region `us-east-1` and dummy
    /// static credentials. Nothing is read from the environment or from `~/.aws`.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(self.endpoint())
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .load()
            .await
    }

    /// A DynamoDB client for this server.
    pub async fn dynamodb_client(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.sdk_config().await)
    }

    /// An SQS client for this server.
    pub async fn sqs_client(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    /// An SNS client for this server.
    pub async fn sns_client(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::new(&self.sdk_config().await)
    }

    /// The environment variables that point an AWS SDK or CLI in another process (boto3, the
    /// `cirrus` binary) at this server: endpoint, region and dummy credentials.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_REGION", "us-east-1".to_string()),
            ("AWS_DEFAULT_REGION", "us-east-1".to_string()),
            ("AWS_ACCESS_KEY_ID", "testing".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_string()),
            ("AWS_SESSION_TOKEN", "testing".to_string()),
        ]
    }
}

/// The workspace root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

fn moto_binary() -> io::Result<PathBuf> {
    let (binary, origin) = match std::env::var_os(MOTO_SERVER_ENV) {
        Some(path) if !path.is_empty() => (PathBuf::from(path), format!("${MOTO_SERVER_ENV}")),
        _ => (
            workspace_root().join(".venv/bin/moto_server"),
            "the default location".to_string(),
        ),
    };
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "no moto_server at {} ({origin}); run `bash scripts/install.sh` from the workspace root to install it, or set {MOTO_SERVER_ENV}",
                binary.display()
            ),
        ))
    }
}

/// Removes the folders of test processes that have exited.
fn remove_stale_dirs() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn free_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// Spawns the server from a thread that then parks forever, so that `PR_SET_PDEATHSIG`
/// (which fires when the *thread* that forked the child exits) only fires when the process
/// exits.
fn spawn_owned(
    binary: &Path,
    port: u16,
    pythonpath: &Path,
    log: &Path,
    clock: Option<&Path>,
    env: &[(&str, &str)],
) -> io::Result<Child> {
    let log_file = std::fs::File::create(log)?;
    let mut command = Command::new(binary);
    if let Some(clock) = clock {
        command.env(CLOCK_ENV, clock);
    }
    command.envs(env.iter().copied());
    command
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .env("PYTHONPATH", pythonpath)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe functions (prctl, getppid, _exit).
    unsafe {
        let parent = libc::getpid();
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("moto-server-{port}"))
        .spawn(move || {
            let spawned = command.spawn();
            let failed = spawned.is_err();
            // The receiver waits for this message; it cannot be gone yet.
            let _ = sender.send(spawned);
            if failed {
                return;
            }
            // Never exit: the server dies with this thread, which dies with the process.
            loop {
                std::thread::park();
            }
        })?;
    receiver
        .recv()
        .map_err(|_| io::Error::other("the moto_server thread died"))?
}

/// Waits until the server answers an HTTP request on `port`.
fn wait_ready(port: u16, mut child: Child, log: &Path) -> io::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            return Err(io::Error::other(format!(
                "moto_server exited at start ({status}) on port {port}; its output:\n{}",
                log_tail(log)
            )));
        }
        if answers(address) {
            // Dropping a `Child` neither kills nor waits: the server runs until the process
            // exits.
            return Ok(());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "moto_server did not answer on port {port} within {} s; its output:\n{}",
                    START_TIMEOUT.as_secs(),
                    log_tail(log)
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last lines of the server's log.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// `true` when an HTTP GET of `/moto-api/` at `address` gets a status line back.
fn answers(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.")
}

mod stac_api;
pub use stac_api::StacApiServer;
