//! The real things the proofs run against: a fresh database (a SQLite file, or a PostgreSQL
//! database created for the run and dropped WITH (FORCE) after it), the server in-process on
//! `127.0.0.1:0` or as a real `pos-server serve` process, and a small REST client.
//!
//! PostgreSQL must be reachable at `POS_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); a proof never skips silently.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::Connection;

/// Products in Demo Mart's catalog for these proofs: enough variety, quick to seed.
pub const DEMO_PRODUCTS: usize = 30;
pub const PASSWORD: &str = pos_server::seed::DEMO_PASSWORD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

fn admin_url() -> String {
    std::env::var("POS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh, migrated database seeded with the demo businesses; dropped (PostgreSQL) or deleted
/// (SQLite folder) when this goes out of scope.
pub struct Database {
    pub backend: Backend,
    pub url: String,
    pub demo_business_id: i64,
    pub other_business_id: i64,
    postgres_name: Option<String>,
    _folder: Option<tempfile::TempDir>,
}

impl Database {
    pub async fn create(backend: Backend) -> Database {
        let (url, postgres_name, folder) = match backend {
            Backend::Sqlite => {
                let folder = tempfile::tempdir().expect("a temporary folder");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    folder.path().join("pos-e2e.db").display()
                );
                (url, None, Some(folder))
            }
            Backend::Postgres => {
                let admin = admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|err| {
                        panic!(
                            "PostgreSQL is not reachable at {admin}: {err}. These proofs need it: \
                         start PostgreSQL (CI does) or point POS_TEST_DATABASE_URL at one."
                        )
                    });
                let name = format!("pos_e2e_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create the test database");
                let base = admin
                    .rsplit_once('/')
                    .map(|(base, _)| base.to_string())
                    .expect("POS_TEST_DATABASE_URL must end with /DATABASE");
                (format!("{base}/{name}"), Some(name), None)
            }
        };
        let store = pos_server::store::connect(&url)
            .await
            .expect("open the test database");
        store.migrate().await.expect("migrate the test database");
        let seed = pos_server::seed::seed_demo(store.as_ref(), DEMO_PRODUCTS)
            .await
            .expect("seed the demo data");
        Database {
            backend,
            url,
            demo_business_id: seed.demo_business_id,
            other_business_id: seed.other_business_id,
            postgres_name,
            _folder: folder,
        }
    }

    /// The first column of every row of `sql`, as text (NULL as None).
    pub async fn texts(&self, sql: &str) -> Vec<Option<String>> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
            }
        }
    }

    /// One integer.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    /// Client references of Demo Mart's sales on the server, one entry per row.
    pub async fn demo_sale_references(&self) -> Vec<String> {
        self.texts(&format!(
            "SELECT client_reference FROM sales WHERE business_id = {} ORDER BY id",
            self.demo_business_id
        ))
        .await
        .into_iter()
        .map(|reference| reference.unwrap_or_else(|| "<no client reference>".into()))
        .collect()
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime; a thread with its own runtime may block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime to drop the test database");
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Test settings: generous sign-in limits (many terminals sign in from one address).
pub fn server_settings(database_url: &str) -> pos_server::Settings {
    let mut settings = pos_server::Settings::new(database_url.to_string());
    settings.sign_in_failures_per_account = 10_000;
    settings.sign_in_failures_per_address = 10_000;
    settings
}

/// The server running inside the test process; stops when dropped.
pub struct InProcessServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl InProcessServer {
    pub async fn start(database_url: &str) -> InProcessServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let settings = server_settings(database_url);
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            pos_server::launch(settings, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs");
        });
        InProcessServer {
            addr,
            shutdown: Some(shutdown),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The workspace's binaries (`pos-server`, `pos-terminal`), built once per test process with
/// the same cargo and target folder as the tests themselves. The whole workspace is selected,
/// as `cargo test --workspace` selects it: building two packages alone would unify different
/// dependency features and rebuild half the dependency tree a second time.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let folder = BUILT.get_or_init(|| {
        // current_exe is <target>/<profile>/deps/<test>-<hash>.
        let exe = std::env::current_exe().expect("the test's own path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("the test runs from <target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("a target folder").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--workspace", "--bins"])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.file_name().is_some_and(|p| p == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("run cargo build for the binaries");
        assert!(status.success(), "cargo build --workspace --bins failed");
        profile_dir
    });
    let path = folder.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.exists(), "{} was not built", path.display());
    path
}

/// A real `pos-server serve` process on a database that [`Database::create`] prepared.
pub struct ServerProcess {
    pub addr: SocketAddr,
    database_url: String,
    child: Option<Child>,
    log: PathBuf,
}

impl ServerProcess {
    /// Starts on `addr` (a fixed port, so a restart comes back on the same address) and waits
    /// until `/api/v1/sync/health` answers.
    pub async fn start(database_url: &str, addr: SocketAddr, log: PathBuf) -> ServerProcess {
        let mut server = ServerProcess {
            addr,
            database_url: database_url.to_string(),
            child: None,
            log,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("the server log file");
        let child = Command::new(binary("pos-server"))
            .arg("serve")
            .env("DATABASE_URL", &self.database_url)
            .env("POS_BIND", self.addr.to_string())
            .env("POS_SIGN_IN_FAILURES_PER_ACCOUNT", "10000")
            .env("POS_SIGN_IN_FAILURES_PER_ADDRESS", "10000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start pos-server serve");
        self.child = Some(child);
        self.wait_healthy(Duration::from_secs(60)).await;
    }

    async fn wait_healthy(&mut self, within: Duration) {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let deadline = Instant::now() + within;
        let url = format!("http://{}/api/v1/sync/health", self.addr);
        loop {
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "pos-server exited with {status} before it served; log: {}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                Instant::now() < deadline,
                "pos-server on {} not healthy within {within:?}",
                self.addr
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, no goodbye: requests in flight are cut off wherever they are.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A free loopback port for a server process (bound, then released).
pub fn free_loopback_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}

/// REST calls with one business user's token.
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub token: String,
}

impl Api {
    pub async fn sign_in(base: &str, email: &str) -> Api {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let response = client
            .post(format!("{base}/api/v1/sign-in"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .expect("sign-in request");
        assert_eq!(response.status(), 200, "sign-in of {email}");
        let body: Value = response.json().await.unwrap();
        let token = body["data"]["token"]
            .as_str()
            .expect("a token in the sign-in answer")
            .to_string();
        Api {
            base: base.to_string(),
            client,
            token,
        }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Status and JSON body (Null when the body is not JSON).
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("a REST request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every row of a paged list resource.
    pub async fn list_all(&self, path: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        for page in 1u64.. {
            let (status, body) = self
                .call(
                    reqwest::Method::GET,
                    &format!("{path}?page={page}&per_page=1000"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "GET {path}: {body}");
            let data = body["data"].as_array().cloned().unwrap_or_default();
            let last_page = body["pagination"]["last_page"].as_u64().unwrap_or(1);
            rows.extend(data);
            if page >= last_page {
                break;
            }
        }
        rows
    }
}
