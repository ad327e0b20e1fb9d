//! The server the load talks to: inside this process (`pos_server::launch` on a loopback
//! port), as a child process of this binary (`pos-load serve`, so its memory can be read on
//! its own), or one already running somewhere.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// Where the server runs.
#[derive(Debug, Clone)]
pub enum ServerMode {
    InProcess,
    /// This executable with `serve` (the `pos-load` binary).
    ChildProcess(std::path::PathBuf),
    External(String),
}

/// Generous sign-in limits: fifty terminals sign in from one address at once.
pub fn load_settings(database_url: &str) -> pos_server::Settings {
    let mut settings = pos_server::Settings::new(database_url.to_string());
    settings.sign_in_failures_per_account = 100_000;
    settings.sign_in_failures_per_address = 100_000;
    settings
}

pub struct RunningServer {
    pub url: String,
    child: Option<Child>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl RunningServer {
    pub async fn start(mode: &ServerMode, database_url: &str) -> Result<RunningServer> {
        match mode {
            ServerMode::External(url) => Ok(RunningServer {
                url: url.trim_end_matches('/').to_string(),
                child: None,
                shutdown: None,
                task: None,
            }),
            ServerMode::InProcess => {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                let url = format!("http://{}", listener.local_addr()?);
                let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
                let settings = load_settings(database_url);
                let task = tokio::spawn(async move {
                    pos_server::launch(settings, listener, async {
                        let _ = stopped.await;
                    })
                    .await
                });
                let server = RunningServer {
                    url,
                    child: None,
                    shutdown: Some(shutdown),
                    task: Some(task),
                };
                server.wait_healthy().await?;
                Ok(server)
            }
            ServerMode::ChildProcess(exe) => {
                let mut child = Command::new(exe)
                    .args(["serve", "--database-url", database_url])
                    .env(
                        "RUST_LOG",
                        std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
                    )
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .with_context(|| format!("starting {} serve", exe.display()))?;
                let stdout = child.stdout.take().context("the child's stdout")?;
                let line = tokio::task::spawn_blocking(move || {
                    let mut line = String::new();
                    BufReader::new(stdout).read_line(&mut line).map(|_| line)
                })
                .await??;
                let Some(addr) = line.trim().strip_prefix("listening ") else {
                    let _ = child.kill();
                    bail!("the server process did not start: {line:?}");
                };
                let server = RunningServer {
                    url: format!("http://{addr}"),
                    child: Some(child),
                    shutdown: None,
                    task: None,
                };
                server.wait_healthy().await?;
                Ok(server)
            }
        }
    }

    async fn wait_healthy(&self) -> Result<()> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let url = format!("{}/api/v1/sync/health", self.url);
        for _ in 0..600 {
            if let Ok(response) = client.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the server at {} did not become healthy", self.url)
    }

    /// The child process's id, when the server runs as one.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Samples the server process's resident memory every 100 ms until stopped.
    pub fn rss_sampler(&self) -> RssSampler {
        RssSampler::start(self.pid())
    }

    pub async fn stop(mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            // Closing its stdin asks it to finish what is in flight and exit.
            drop(child.stdin.take());
            let waited = tokio::task::spawn_blocking(move || {
                for _ in 0..200 {
                    if child.try_wait()?.is_some() {
                        return Ok(());
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                child.kill()?;
                child.wait().map(|_| ())
            })
            .await?;
            waited?;
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await??;
        }
        Ok(())
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Resident memory of a process, in KiB, as `sysinfo` reads it.
pub fn rss_kib(system: &mut System, pid: u32) -> Option<u64> {
    let pid = Pid::from_u32(pid);
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_memory(),
    );
    system.process(pid).map(|p| p.memory() / 1024)
}

pub struct RssSampler {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Option<u64>>>,
}

impl RssSampler {
    pub fn start(pid: Option<u32>) -> RssSampler {
        let Some(pid) = pid else {
            return RssSampler {
                stop: None,
                task: None,
            };
        };
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut system = System::new();
            let mut peak = None;
            loop {
                if let Some(kib) = rss_kib(&mut system, pid) {
                    peak = Some(peak.unwrap_or(0).max(kib));
                }
                tokio::select! {
                    _ = &mut stopped => return peak,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        });
        RssSampler {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// The peak seen, in KiB.
    pub async fn stop(mut self) -> Option<u64> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.ok().flatten(),
            None => None,
        }
    }
}

/// `pos-load serve`: the server on a loopback port until stdin closes; prints
/// `listening ADDR` first.
pub async fn serve(database_url: &str, bind: &str) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind).await?;
    println!("listening {}", listener.local_addr()?);
    let (closed, on_close) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        let _ = closed.send(());
    });
    pos_server::launch(load_settings(database_url), listener, async {
        let _ = on_close.await;
    })
    .await
}
