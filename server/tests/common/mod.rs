//! Runs the server in-process on 127.0.0.1:0 over a fresh database: a SQLite file in a
//! temporary folder, or a PostgreSQL database created for the test and dropped after it.
//! PostgreSQL must be reachable (CI starts it); a test never skips silently.

#![allow(dead_code)] // Each test binary uses its own part of the harness.

use std::sync::Arc;

use pos_server::seed::{self, SeedReport};
use pos_server::store::{self, Store};
use pos_server::Settings;
use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use sqlx::Connection;

pub const PASSWORD: &str = seed::DEMO_PASSWORD;
/// Demo Mart's catalog in tests: big enough to page through, small enough to seed fast.
pub const TEST_PRODUCTS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

fn admin_url() -> String {
    std::env::var("POS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn database_url_in(admin: &str, name: &str) -> String {
    match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => panic!("POS_TEST_DATABASE_URL must end with /DATABASE: {admin}"),
    }
}

pub async fn create_postgres_database() -> (String, String) {
    let admin = admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "PostgreSQL is not reachable at {admin}: {err}. The server tests need it: start \
             PostgreSQL (CI does) or point POS_TEST_DATABASE_URL at one."
            )
        });
    let name = format!("pos_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create the test database");
    (database_url_in(&admin, &name), name)
}

pub fn drop_postgres_database(name: String) {
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

pub struct TestServer {
    pub backend: Backend,
    pub base: String,
    pub database_url: String,
    pub client: Client,
    pub store: Arc<dyn Store>,
    pub seed: SeedReport,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    postgres_database: Option<String>,
    _folder: Option<tempfile::TempDir>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts with test settings (generous sign-in limits), adjusted by `tune`.
    pub async fn start_with(backend: Backend, tune: impl FnOnce(&mut Settings)) -> Self {
        let (url, postgres_database, folder) = match backend {
            Backend::Sqlite => {
                let folder = tempfile::tempdir().expect("a temporary folder");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    folder.path().join("pos-test.db").display()
                );
                (url, None, Some(folder))
            }
            Backend::Postgres => {
                let (url, name) = create_postgres_database().await;
                (url, Some(name), None)
            }
        };
        let store = store::connect(&url).await.expect("open the test database");
        store.migrate().await.expect("migrate the test database");
        let seed = seed::seed_demo(store.as_ref(), TEST_PRODUCTS)
            .await
            .expect("seed the demo data");

        let mut settings = Settings::new(url.clone());
        settings.sign_in_failures_per_account = 1000;
        settings.sign_in_failures_per_address = 1000;
        tune(&mut settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            pos_server::launch(settings, listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs");
        });
        let client = Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .unwrap();
        Self {
            backend,
            base,
            database_url: url,
            client,
            store,
            seed,
            shutdown: Some(shutdown),
            postgres_database,
            _folder: folder,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn request(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(token)
    }

    /// A request with an optional JSON body; the status and the JSON answer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        json(request.send().await.unwrap()).await
    }

    /// One integer from the test database, whichever it is.
    pub async fn scalar(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.database_url)
                    .await
                    .unwrap();
                sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
            }
        }
    }

    pub async fn sign_in(&self, email: &str) -> String {
        let response = self
            .client
            .post(self.url("/api/v1/sign-in"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "sign-in of {email}");
        let body: Value = response.json().await.unwrap();
        body["data"]["token"].as_str().unwrap().to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(name) = self.postgres_database.take() {
            drop_postgres_database(name);
        }
    }
}

/// Status and JSON body of a response.
pub async fn json(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Declares each listed `async fn name(backend: Backend)` as two tests, one per database.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await
                }
            )*
        }
    };
}
