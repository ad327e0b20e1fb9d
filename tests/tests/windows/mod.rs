//! Windows programs under Wine for the proofs: the cross-built `pos-terminal.exe`, a fresh Wine
//! prefix per test (outside the repository, removed afterwards) whose Windows user has a space
//! and non-ASCII letters in its name, and the helpers to run the till in it.
//!
//! Wine, wine64 and the mingw cross compiler come from `scripts/setup.sh`; a missing one fails
//! the proof, it never skips.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use pos_e2e::fleet;
use pos_e2e::harness::{free_loopback_addr, Api, Backend, Database, ServerProcess, PASSWORD};
use serde_json::Value;

pub const TARGET: &str = "x86_64-pc-windows-gnu";
/// The Windows user of every test prefix: a space and non-ASCII letters in the profile path.
pub const WINDOWS_USER: &str = "Zoë Müller";

fn require(tool: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{tool} is missing: these proofs run the Windows build under Wine (bash scripts/setup.sh installs it)"
    );
}

/// The workspace's target folder, found from the running test (`<target>/<profile>/deps/…`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    exe.ancestors()
        .nth(3)
        .expect("the test runs from <target>/<profile>/deps")
        .to_path_buf()
}

/// Cross-builds `pos-terminal.exe` (debug) with the cargo that runs the tests, once per test
/// process, and returns its path.
pub fn cross_built_terminal() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            require("x86_64-w64-mingw32-gcc");
            let target = target_dir();
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let started = Instant::now();
            let status = Command::new(cargo)
                .args([
                    "build",
                    "--locked",
                    "-p",
                    "pos-engine",
                    "--bin",
                    "pos-terminal",
                ])
                .args(["--target", TARGET])
                .arg("--target-dir")
                .arg(&target)
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo build for Windows");
            assert!(status.success(), "cross build of pos-terminal.exe failed");
            eprintln!(
                "windows: pos-terminal.exe cross-built in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            let exe = target.join(TARGET).join("debug").join("pos-terminal.exe");
            assert!(exe.is_file(), "{} was not built", exe.display());
            exe
        })
        .clone()
}

/// A Wine prefix of its own, in the system's temporary folder; its wineserver is stopped and
/// the folder removed when this is dropped.
pub struct WinePrefix {
    folder: tempfile::TempDir,
}

impl WinePrefix {
    /// `wineboot -i` without a display or dialogs, then the ProcessPrng stand-in (see
    /// `tests/windows/bcryptprimitives.c`) in its system32.
    pub fn create() -> WinePrefix {
        require("wine");
        require("wineserver");
        require("x86_64-w64-mingw32-gcc");
        let folder = tempfile::Builder::new()
            .prefix("pos-wine-")
            .tempdir()
            .expect("a temporary folder for the Wine prefix");
        let prefix = WinePrefix { folder };
        let started = Instant::now();
        let output = prefix.wine_command("wineboot").arg("-i").output().unwrap();
        assert!(
            output.status.success(),
            "wineboot -i failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let system32 = prefix.drive_c().join("windows/system32");
        let sources = Path::new(env!("CARGO_MANIFEST_DIR")).join("windows");
        let built = Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-o"])
            .arg(system32.join("bcryptprimitives.dll"))
            .arg(sources.join("bcryptprimitives.c"))
            .arg(sources.join("bcryptprimitives.def"))
            .arg("-ladvapi32")
            .output()
            .expect("run x86_64-w64-mingw32-gcc");
        assert!(
            built.status.success(),
            "the bcryptprimitives stand-in did not build: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        eprintln!(
            "windows: Wine prefix ready in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        prefix
    }

    pub fn path(&self) -> &Path {
        self.folder.path()
    }

    pub fn drive_c(&self) -> PathBuf {
        self.path().join("drive_c")
    }

    /// `%LOCALAPPDATA%` of the prefix's user, as a Linux path.
    pub fn local_app_data(&self) -> PathBuf {
        self.drive_c()
            .join("users")
            .join(WINDOWS_USER)
            .join("AppData")
            .join("Local")
    }

    /// The till's default data folder under Windows, as a Linux path.
    pub fn till_data_dir(&self) -> PathBuf {
        self.local_app_data().join("pos-terminal")
    }

    /// A Wine tool (`wine`, `wineboot`, `wineserver`, `msiexec` through `wine`) in this prefix,
    /// quiet and without any dialog.
    pub fn wine_command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("WINEPREFIX", self.path())
            .env("WINEDEBUG", "-all")
            .env("WINEDLLOVERRIDES", "mscoree,mshtml=")
            .env("USER", WINDOWS_USER)
            .env("LOGNAME", WINDOWS_USER)
            .env("LANG", "C.UTF-8")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null());
        command
    }

    /// `wine EXE ARGS…` with the till's own environment cleared, so it uses its defaults (the
    /// per-user data folder, the OS credential store).
    pub fn till(&self, exe: &Path) -> Command {
        let mut command = self.wine_command("wine");
        command.arg(exe);
        for variable in [
            "POS_TERMINAL_DATA_DIR",
            "POS_TERMINAL_SERVER",
            "POS_TERMINAL_CREDENTIALS",
            "POS_TERMINAL_PASSWORD",
            "POS_TERMINAL_MANAGER_PIN",
            "RUST_LOG",
        ] {
            command.env_remove(variable);
        }
        command
    }

    /// A Linux path as Wine's Z: drive names it.
    pub fn windows_path(path: &Path) -> String {
        format!("Z:{}", path.display()).replace('/', "\\")
    }
}

impl Drop for WinePrefix {
    fn drop(&mut self) {
        let _ = self.wine_command("wineserver").arg("-k").status();
    }
}

/// Runs `command` to its end (at most `within`), and returns what it printed.
pub fn run(command: &mut Command, within: Duration) -> Output {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start a Wine process");
    let deadline = Instant::now() + within;
    while child.try_wait().expect("wait for the process").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "the process did not finish within {within:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// `run` that must exit 0; returns stdout.
pub fn ok(what: &str, command: &mut Command) -> String {
    let output = run(command, Duration::from_secs(120));
    assert!(
        output.status.success(),
        "{what}: exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // Wine's own tools print in the console's code page.
    String::from_utf8_lossy(&output.stdout).into_owned()
}

// ---- the shop: the real server on loopback, and a network receipt printer ----------------

const ESC_POS_INIT: [u8; 2] = [0x1B, b'@'];
const ESC_POS_CUT: [u8; 4] = [0x1D, b'V', 66, 0x00];
/// Where Wine keeps the Credential Manager's entries.
pub const CREDENTIALS_KEY: &str = r"HKCU\Software\Wine\Credential Manager";

/// Demo Mart's server on a fixed loopback address (so it can stop and come back) with a
/// fresh SQLite database, and a product in stock.
pub struct Shop {
    pub db: Database,
    pub server: ServerProcess,
    pub addr: SocketAddr,
    pub url: String,
    pub code: String,
    _logs: tempfile::TempDir,
}

impl Shop {
    pub async fn open() -> Shop {
        let db = Database::create(Backend::Sqlite).await;
        let logs = tempfile::tempdir().unwrap();
        let addr = free_loopback_addr();
        let server = ServerProcess::start(&db.url, addr, logs.path().join("server.log")).await;
        let url = format!("http://{addr}");
        let api = Api::sign_in(&url, "manager@demo.test").await;
        let code = fleet::codes_with_stock(&api).await[0].clone();
        Shop {
            db,
            server,
            addr,
            url,
            code,
            _logs: logs,
        }
    }

    /// How many of Demo Mart's sales on the server carry `client_reference`.
    pub async fn sales_with_reference(&self, client_reference: &str) -> usize {
        self.db
            .demo_sale_references()
            .await
            .iter()
            .filter(|r| *r == client_reference)
            .count()
    }
}

/// A network receipt printer: a loopback TCP listener that keeps every job it receives.
pub struct Printer {
    pub port: u16,
    jobs: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Printer {
    pub fn start() -> Printer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let jobs = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&jobs);
        std::thread::spawn(move || {
            for connection in listener.incoming() {
                let mut job = Vec::new();
                if connection.and_then(|mut c| c.read_to_end(&mut job)).is_ok() {
                    kept.lock().unwrap().push(job);
                }
            }
        });
        Printer { port, jobs }
    }

    /// The first job holding `text`, waiting up to ten seconds for it.
    pub fn job_with(&self, text: &str) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .jobs
                .lock()
                .unwrap()
                .iter()
                .find(|job| job.windows(text.len()).any(|w| w == text.as_bytes()))
                .cloned();
            if let Some(job) = found {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "no receipt with {text} reached the printer"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A server that accepts connections and never answers, on the stopped server's address: a
/// `sync` against it keeps its till process running until its request timeout. Each accepted
/// connection is announced on the returned channel.
fn unanswering_server(addr: SocketAddr) -> mpsc::Receiver<()> {
    let listener = TcpListener::bind(addr).expect("bind the stopped server's address");
    let (accepted, connections) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in listener.incoming().flatten() {
            held.push(connection);
            if accepted.send(()).is_err() {
                break;
            }
        }
    });
    connections
}

pub fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `status --json` of the till.
pub fn status(wine: &WinePrefix, exe: &Path) -> Value {
    json(&ok(
        "status --json",
        wine.till(exe).args(["status", "--json"]),
    ))
}

/// Sells one item of the shop's product with the server stopped; returns the offline number
/// and the sale's client reference (from a rescue export into `scratch`).
pub fn sell_offline(
    wine: &WinePrefix,
    exe: &Path,
    shop: &mut Shop,
    scratch: &Path,
) -> (String, String) {
    shop.server.kill();
    let sold = ok(
        "sell offline",
        wine.till(exe)
            .args(["sell", "--item", &format!("{}:1", shop.code)]),
    );
    let number = sold.trim().to_string();
    let rescue_file = scratch.join(format!("{number}.json"));
    ok(
        "rescue export",
        wine.till(exe)
            .args(["rescue", "export", &WinePrefix::windows_path(&rescue_file)]),
    );
    let rescue = json(&std::fs::read_to_string(&rescue_file).unwrap());
    let reference = rescue["content"]["operations"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|op| op["entity"] == "sale")
        .and_then(|op| op["client_reference"].as_str())
        .expect("the sale is in the rescue file")
        .to_string();
    (number, reference)
}

/// The CLI scenario of a till on Windows, `exe` run under Wine in `wine`'s prefix with its
/// default data folder: sign-in (the token in the Credential Manager, nowhere else), a shift,
/// an offline sale printed on a network printer, a second till process refused while the first
/// runs, a rescue export, sync (the sale arrives once), a return, the shift's close, sync.
/// Leaves the till signed in with nothing pending and the server running.
pub async fn cli_scenario(wine: &WinePrefix, exe: &Path, shop: &mut Shop) {
    let started = Instant::now();
    let till = || wine.till(exe);
    let printer = Printer::start();

    // Sign-in: the database lands in %LOCALAPPDATA%, the token in the Credential Manager.
    let signed_in = ok(
        "login",
        till()
            .args([
                "--server",
                &shop.url,
                "login",
                "--email",
                "manager@demo.test",
            ])
            .args(["--password", PASSWORD]),
    );
    assert!(signed_in.starts_with("signed in as"), "{signed_in}");
    let data_dir = wine.till_data_dir();
    assert!(
        data_dir.join("pos-terminal.db").is_file(),
        "the database is not in %LOCALAPPDATA%\\pos-terminal ({})",
        data_dir.display()
    );
    let roaming = wine
        .drive_c()
        .join("users")
        .join(WINDOWS_USER)
        .join("AppData/Roaming/pos-terminal");
    assert!(
        !roaming.exists(),
        "nothing of the till belongs in the roaming profile"
    );
    let credentials = ok(
        "reg query of the Credential Manager",
        wine.wine_command("wine")
            .args(["reg", "query", CREDENTIALS_KEY, "/s"]),
    );
    assert!(
        credentials.contains("token:") && credentials.contains("pos-terminal"),
        "no token entry of pos-terminal in the Credential Manager:\n{credentials}"
    );
    assert!(
        !data_dir.join("credentials.json").exists(),
        "no file fallback"
    );

    ok(
        "printer set",
        till()
            .args([
                "printer",
                "set",
                "--kind",
                "network",
                "--target",
                "127.0.0.1",
            ])
            .args(["--port", &printer.port.to_string(), "--drawer", "false"]),
    );
    ok(
        "shift open",
        till().args(["shift", "open", "--float", "100.00"]),
    );

    // The server stops; the till sells and prints all the same.
    shop.server.kill();
    let sold = ok(
        "sell offline",
        till().args(["sell", "--item", &format!("{}:2", shop.code)]),
    );
    let number = sold.trim().to_string();
    assert!(number.starts_with("OFF-"), "sell printed {sold}");
    let receipt = printer.job_with(&number);
    assert!(
        receipt.starts_with(&ESC_POS_INIT),
        "a receipt starts with ESC @"
    );
    assert!(receipt.ends_with(&ESC_POS_CUT), "a receipt ends with a cut");

    // `online` is what the last contact found; only a sync attempt would change it.
    let offline = status(wine, exe);
    assert_eq!(offline["signed_in"], true, "{offline}");
    assert_eq!(
        offline["pending"], 2,
        "the shift and the sale wait: {offline}"
    );

    // A second till process on the same folder is refused while the first runs, and works
    // once the first has ended.
    let connections = unanswering_server(shop.addr);
    let mut busy = till()
        .arg("sync")
        .env("POS_TERMINAL_REQUEST_TIMEOUT_MS", "60000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    connections
        .recv_timeout(Duration::from_secs(60))
        .expect("the first till process reached the server");
    let second = run(till().arg("status"), Duration::from_secs(60));
    assert_eq!(second.status.code(), Some(1), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("another till program"),
        "refused with the reason: {}",
        stderr(&second)
    );
    busy.kill().unwrap();
    busy.wait().unwrap();
    drop(connections);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !run(till().arg("status"), Duration::from_secs(60))
        .status
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "the folder stayed locked after the first process ended"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The unsynced work goes to a rescue file in a folder with a space and non-ASCII letters.
    let rescue_dir = tempfile::Builder::new()
        .prefix("rescue för ")
        .tempdir()
        .unwrap();
    let rescue_file = rescue_dir.path().join("till rescue.json");
    ok(
        "rescue export",
        till().args(["rescue", "export", &WinePrefix::windows_path(&rescue_file)]),
    );
    let rescue = json(&std::fs::read_to_string(&rescue_file).unwrap());
    let operations = rescue["content"]["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 2, "{rescue}");
    let sale_reference = operations
        .iter()
        .find(|op| op["entity"] == "sale")
        .and_then(|op| op["client_reference"].as_str())
        .expect("the sale is in the rescue file")
        .to_string();

    // The server is back: one sync delivers the sale once.
    shop.server.restart().await;
    ok("sync", till().arg("sync"));
    assert_eq!(
        shop.sales_with_reference(&sale_reference).await,
        1,
        "the offline sale reached the server exactly once"
    );

    ok(
        "return",
        till().args(["return", &number, "--item", &format!("{}:1", shop.code)]),
    );
    ok(
        "shift close",
        till().args(["shift", "close", "--counted", "100.00"]),
    );
    ok("sync after the return and the close", till().arg("sync"));
    let synced = status(wine, exe);
    assert_eq!(synced["online"], true, "{synced}");
    assert_eq!(synced["pending"], 0, "{synced}");
    assert_eq!(synced["failed"], 0, "{synced}");
    assert_eq!(shop.sales_with_reference(&sale_reference).await, 1);
    eprintln!(
        "windows: the CLI scenario under Wine took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The Credential Manager is the only place of the token: once its entries are gone the till
/// is signed out, whatever files its data folder holds.
pub fn token_lives_only_in_the_credential_manager(wine: &WinePrefix, exe: &Path) {
    ok(
        "reg delete of the Credential Manager",
        wine.wine_command("wine")
            .args(["reg", "delete", CREDENTIALS_KEY, "/f"]),
    );
    let after = run(wine.till(exe).arg("sync"), Duration::from_secs(60));
    assert_eq!(after.status.code(), Some(1), "{}", stderr(&after));
    assert!(
        stderr(&after).contains("not_signed_in"),
        "{}",
        stderr(&after)
    );
}
