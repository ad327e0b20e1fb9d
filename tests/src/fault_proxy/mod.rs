//! A fault-injecting HTTP/1.1 proxy on loopback, started inside a test, that stands between the
//! terminals and the server and breaks requests on purpose.
//!
//! The exactly-once proofs need a network that loses requests, loses answers after the server
//! committed, repeats requests, is slow, resets connections and refuses them for a while. The
//! proxy reads each request completely (HTTP/1.1 framing: `Content-Length` bodies and
//! keep-alive), asks its [`FaultPlan`] what to do with it, and does it:
//!
//! | [`Fault`] | server receives | client receives |
//! |---|---|---|
//! | `Pass` | the request once | the answer |
//! | `DropRequest` | nothing | connection closed, no answer |
//! | `DropResponse` | the request once (the proxy reads the whole answer) | connection closed, no answer |
//! | `Duplicate` | the request twice, one copy after the other | the first copy's answer |
//! | `DuplicateConcurrent` | the request twice at the same time | the first copy's answer |
//! | `DelayRequest(d)` | the request once, `d` later | the answer |
//! | `DelayResponse(d)` | the request once | the answer, `d` after the server gave it |
//! | `ResetMidBody` | the head and half the body, then a TCP reset | a TCP reset |
//! | `ResetMidResponse` | the request once (the proxy reads the whole answer) | half the answer, then a TCP reset |
//!
//! and, at run time, [`FaultProxy::refuse_connections_for`] closes the listening socket so that
//! connecting fails with "connection refused" until the window ends (requests arriving on
//! connections opened before the window are closed unanswered). Every answer the client gets
//! is the server's, byte for byte; by the time a client sees the outcome of a request (answer,
//! close or reset), every copy the proxy forwarded has been answered by the server and
//! [`FaultProxy::stats`] counts the request, so a test can count at once without waiting.
//!
//! Upstream connections: the proxy keeps client connections alive as the client asks, but opens
//! a fresh connection to the upstream for every request copy, so a fault on one request never
//! leaves a half-used upstream connection for the next one, and the proxy never has to guess
//! whether a stale pooled connection received a request. With several upstreams
//! ([`FaultProxy::start_balanced`], [`FaultProxy::set_upstreams`]) the requests alternate
//! between them in turn, and the second copy of a duplicated request goes to the next upstream
//! after the first copy's, so the same operation reaches two servers.
//!
//! What the proxy refuses, with an answer that names the problem and a closed connection:
//! request bodies with `Transfer-Encoding` (chunked; 501), `Expect: 100-continue` (417),
//! malformed heads (400), heads over 64 KiB (431), bodies over 256 MiB (413). An upstream that
//! cannot be reached, or that breaks off its answer, gives the client a 502 naming the
//! upstream when nothing of the answer was sent yet.
//!
//! [`FaultPlan::on_paths`] limits a plan to some routes (say the sync routes) so that sign-in
//! and set-up requests pass untouched and do not shift the sequence of decisions.
//!
//! # Replaying a failed run
//! A seeded plan draws each request's fault from a random generator seeded with a `u64`; the
//! proxy prints its plan, seed included, on stderr when it starts (and logs it with `tracing`).
//! Take the seed from [`seed_from_env`] so that `POS_FAULT_SEED=<seed>` replays a failed run.
//! The same seed gives the same sequence of decisions in the order requests reach the proxy
//! ([`FaultProxy::decisions`] lists them; each prints as one line, e.g.
//! `#12 POST /api/v1/sync/batch -> 127.0.0.1:41234: drop-response`). With one client sending
//! one request at a time that order is the client's; with several concurrent clients the order
//! in which their requests arrive depends on scheduling, so a replay applies the same sequence
//! of faults but possibly to other requests. The decision list of the failed run shows which
//! request got which fault.
//!
//! # Example
//! ```no_run
//! use std::time::Duration;
//! use pos_e2e::fault_proxy::{seed_from_env, Fault, FaultKind, FaultPlan, FaultProxy};
//!
//! # async fn example(server_addr: std::net::SocketAddr) -> std::io::Result<()> {
//! // 30% of requests faulted, drop-response three times as likely as each other kind.
//! let plan = FaultPlan::seeded(seed_from_env(), 0.3).with_weight(FaultKind::DropResponse, 3.0);
//! let proxy = FaultProxy::start(server_addr, plan).await?;
//! let base_url = proxy.url(); // point the terminal at this instead of the server
//!
//! // ... run the terminals ...
//! proxy.refuse_connections_for(Duration::from_secs(2)).await;
//! proxy.set_plan(FaultPlan::pass_through()); // let the queues drain
//! let stats = proxy.stats();
//! assert!(stats.dropped_responses > 0);
//!
//! // A scripted plan for a deterministic test: the first request's answer is lost.
//! proxy.set_plan(FaultPlan::scripted(vec![Fault::DropResponse]));
//! proxy.shutdown().await;
//! # let _ = base_url; Ok(())
//! # }
//! ```

mod http;
mod plan;

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{sleep, sleep_until, timeout, Instant};

use http::{read_request, read_response, Framed, FramingError, Request, Response};
pub use plan::{seed_from_env, Fault, FaultKind, FaultPlan, SEED_ENV};

/// How a proxy is set up; [`ProxyOptions::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    /// Servers to forward to, in turn (at least one).
    pub upstreams: Vec<SocketAddr>,
    /// Which fault each request gets.
    pub plan: FaultPlan,
    /// Longest wait for a connection to an upstream (default 5 s).
    pub upstream_connect_timeout: Duration,
    /// Longest wait for an upstream's complete answer (default 60 s).
    pub upstream_response_timeout: Duration,
    /// How long [`FaultProxy::shutdown`] lets requests in flight finish (default 5 s).
    pub shutdown_grace: Duration,
}

impl ProxyOptions {
    /// Defaults for the given upstreams and plan.
    pub fn new(upstreams: Vec<SocketAddr>, plan: FaultPlan) -> Self {
        ProxyOptions {
            upstreams,
            plan,
            upstream_connect_timeout: Duration::from_secs(5),
            upstream_response_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Counters of what the proxy saw and did, from [`FaultProxy::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Client connections accepted.
    pub connections_accepted: u64,
    /// Complete requests read from clients (including refused ones, excluding rejected ones).
    pub requests_seen: u64,
    /// Request copies written completely to an upstream (a duplicated request counts twice).
    pub forwarded: u64,
    /// Answers passed on to clients.
    pub responses_returned: u64,
    /// Requests passed without a fault.
    pub passed: u64,
    /// Requests closed without forwarding.
    pub dropped_requests: u64,
    /// Requests whose answer was read from the upstream and not passed on.
    pub dropped_responses: u64,
    /// Requests sent upstream twice, one copy after the other.
    pub duplicated: u64,
    /// Requests sent upstream twice at the same time.
    pub duplicated_concurrently: u64,
    /// Requests delayed before forwarding.
    pub delayed_requests: u64,
    /// Requests whose answer was delayed.
    pub delayed_responses: u64,
    /// Requests reset in the middle of their body.
    pub resets_mid_body: u64,
    /// Requests whose answer was reset halfway through.
    pub resets_mid_response: u64,
    /// Times [`FaultProxy::refuse_connections_for`] closed the listening socket.
    pub refusal_windows: u64,
    /// Requests that arrived on an open connection during a refusal window (closed unanswered).
    pub refused_requests: u64,
    /// Requests the proxy answered itself with a 4xx/5xx because it cannot frame them.
    pub rejected_requests: u64,
    /// Upstream connections that failed or answers that broke off.
    pub upstream_errors: u64,
}

impl FaultStats {
    /// How many requests got a fault of `kind`.
    pub fn count(&self, kind: FaultKind) -> u64 {
        let mut stats = *self;
        *stats.count_mut(kind)
    }

    fn count_mut(&mut self, kind: FaultKind) -> &mut u64 {
        match kind {
            FaultKind::DropRequest => &mut self.dropped_requests,
            FaultKind::DropResponse => &mut self.dropped_responses,
            FaultKind::Duplicate => &mut self.duplicated,
            FaultKind::DuplicateConcurrent => &mut self.duplicated_concurrently,
            FaultKind::DelayRequest => &mut self.delayed_requests,
            FaultKind::DelayResponse => &mut self.delayed_responses,
            FaultKind::ResetMidBody => &mut self.resets_mid_body,
            FaultKind::ResetMidResponse => &mut self.resets_mid_response,
        }
    }

    /// Requests that got any fault.
    pub fn faulted(&self) -> u64 {
        FaultKind::ALL.iter().map(|kind| self.count(*kind)).sum()
    }
}

/// The fault one request got, from [`FaultProxy::decisions`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// 1 for the first request the plan decided on, then 2, 3, ...
    pub request_no: u64,
    /// The request's method, e.g. `POST`.
    pub method: String,
    /// The request's target as sent, e.g. `/api/v1/sync/batch`.
    pub target: String,
    /// Where the (first copy of the) request went.
    pub upstream: SocketAddr,
    /// What the proxy did with it.
    pub fault: Fault,
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} {} -> {}: {}",
            self.request_no, self.method, self.target, self.upstream, self.fault
        )
    }
}

/// [`FaultProxy::wait_until`] gave up.
#[derive(Clone, Debug, thiserror::Error)]
#[error("fault proxy condition not met within {waited:?}; stats were {stats:?}")]
pub struct WaitTimedOut {
    /// How long it waited.
    pub waited: Duration,
    /// The stats when it gave up.
    pub stats: FaultStats,
}

/// A running proxy on `127.0.0.1`; see the [module documentation](self).
///
/// Dropping it stops it at once (requests in flight are cut); [`FaultProxy::shutdown`] stops
/// it gracefully.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    control: mpsc::UnboundedSender<Control>,
    shutdown: watch::Sender<bool>,
    accept_task: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` in front of `upstream`.
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> io::Result<FaultProxy> {
        FaultProxy::start_with(ProxyOptions::new(vec![upstream], plan)).await
    }

    /// Starts a proxy on `127.0.0.1:0` that sends requests to `upstreams` in turn.
    pub async fn start_balanced(
        upstreams: Vec<SocketAddr>,
        plan: FaultPlan,
    ) -> io::Result<FaultProxy> {
        FaultProxy::start_with(ProxyOptions::new(upstreams, plan)).await
    }

    /// Starts a proxy on `127.0.0.1:0` with all options.
    pub async fn start_with(options: ProxyOptions) -> io::Result<FaultProxy> {
        if options.upstreams.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the fault proxy needs at least one upstream address",
            ));
        }
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let announcement = format!(
            "fault proxy {addr} -> {:?}: plan {}",
            options.upstreams, options.plan
        );
        eprintln!("{announcement}");
        tracing::info!("{announcement}");
        let shared = Arc::new(Shared {
            plan: Mutex::new(options.plan),
            upstreams: Mutex::new(options.upstreams),
            next_upstream: AtomicUsize::new(0),
            decisions: Mutex::new(Vec::new()),
            refusing_until: Mutex::new(None),
            stats: Mutex::new(FaultStats::default()),
            changed: Notify::new(),
            connect_timeout: options.upstream_connect_timeout,
            response_timeout: options.upstream_response_timeout,
        });
        let (control, control_rx) = mpsc::unbounded_channel();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let accept_task = tokio::spawn(accept_loop(
            Arc::clone(&shared),
            addr,
            listener,
            control_rx,
            shutdown_rx,
            options.shutdown_grace,
        ));
        Ok(FaultProxy {
            addr,
            shared,
            control,
            shutdown,
            accept_task: Some(accept_task),
        })
    }

    /// The proxy's address, `127.0.0.1:<port>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, the base URL to give a client instead of the server's.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the proxy saw and did so far.
    pub fn stats(&self) -> FaultStats {
        *self.shared.stats.lock().expect("fault stats")
    }

    /// Every decision so far, in the order the plan made them.
    pub fn decisions(&self) -> Vec<Decision> {
        self.shared.decisions.lock().expect("decision log").clone()
    }

    /// The faults of [`FaultProxy::decisions`], in order.
    pub fn faults(&self) -> Vec<Fault> {
        self.shared
            .decisions
            .lock()
            .expect("decision log")
            .iter()
            .map(|decision| decision.fault)
            .collect()
    }

    /// Replaces the plan for the requests that reach the decision point from now on.
    pub fn set_plan(&self, plan: FaultPlan) {
        let announcement = format!("fault proxy {}: plan {plan}", self.addr);
        eprintln!("{announcement}");
        tracing::info!("{announcement}");
        *self.shared.plan.lock().expect("fault plan") = plan;
    }

    /// Sends every request from now on to `upstream`.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        self.set_upstreams(vec![upstream]);
    }

    /// Sends the requests from now on to `upstreams` in turn.
    ///
    /// # Panics
    /// When `upstreams` is empty.
    pub fn set_upstreams(&self, upstreams: Vec<SocketAddr>) {
        assert!(
            !upstreams.is_empty(),
            "the fault proxy needs at least one upstream address"
        );
        tracing::info!("fault proxy {}: upstreams {upstreams:?}", self.addr);
        *self.shared.upstreams.lock().expect("upstream list") = upstreams;
    }

    /// Closes the listening socket for `window`, so that connecting fails with "connection
    /// refused", then listens again on the same port. Requests that arrive on connections
    /// opened earlier are closed unanswered until the window ends. Returns once the socket is
    /// closed; calling it again during a window extends the window.
    pub async fn refuse_connections_for(&self, window: Duration) {
        let (ack, acked) = oneshot::channel();
        let until = Instant::now() + window;
        if self.control.send(Control::Refuse { until, ack }).is_ok() {
            // An error here means the proxy stopped, which refuses connections too.
            let _ = acked.await;
        }
    }

    /// Waits until `condition` holds for the stats, at most `within`.
    pub async fn wait_until(
        &self,
        within: Duration,
        condition: impl Fn(&FaultStats) -> bool,
    ) -> Result<FaultStats, WaitTimedOut> {
        let deadline = Instant::now() + within;
        loop {
            let changed = self.shared.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let stats = self.stats();
            if condition(&stats) {
                return Ok(stats);
            }
            if timeout_at(deadline, changed).await.is_none() {
                return Err(WaitTimedOut {
                    waited: within,
                    stats: self.stats(),
                });
            }
        }
    }

    /// Stops accepting connections, lets requests already read finish (up to the shutdown
    /// grace), closes idle connections, and returns when all is closed.
    pub async fn shutdown(mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.accept_task.take() {
            let _ = task.await;
        }
        tracing::info!("fault proxy {} stopped: {:?}", self.addr, self.stats());
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.accept_task.take() {
            // The task owns the connection tasks; aborting it aborts them.
            task.abort();
        }
    }
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("stats", &self.stats())
            .finish()
    }
}

async fn timeout_at<F: std::future::Future>(deadline: Instant, future: F) -> Option<F::Output> {
    tokio::time::timeout_at(deadline, future).await.ok()
}

enum Control {
    Refuse {
        until: Instant,
        ack: oneshot::Sender<()>,
    },
}

/// State shared by the handle, the accept loop and the connection tasks. The locks are never
/// held across an `.await`.
struct Shared {
    plan: Mutex<FaultPlan>,
    upstreams: Mutex<Vec<SocketAddr>>,
    next_upstream: AtomicUsize,
    decisions: Mutex<Vec<Decision>>,
    refusing_until: Mutex<Option<Instant>>,
    stats: Mutex<FaultStats>,
    changed: Notify,
    connect_timeout: Duration,
    response_timeout: Duration,
}

/// Where one request goes and what happens to it.
struct Route {
    fault: Fault,
    upstream: SocketAddr,
    /// Where the second copy of a duplicated request goes.
    copy_upstream: SocketAddr,
}

impl Shared {
    fn record(&self, change: impl FnOnce(&mut FaultStats)) {
        change(&mut self.stats.lock().expect("fault stats"));
        self.changed.notify_waiters();
    }

    fn is_refusing(&self) -> bool {
        self.refusing_until
            .lock()
            .expect("refusal window")
            .is_some_and(|until| Instant::now() < until)
    }

    /// Draws the fault for `request` and picks its upstream. The plan's lock is held while the
    /// decision is logged, so the log's order is the draw order.
    fn decide(&self, request: &Request) -> Route {
        let mut plan = self.plan.lock().expect("fault plan");
        let fault = plan.fault_for(&request.method, &request.target);
        let (upstream, copy_upstream) = {
            let upstreams = self.upstreams.lock().expect("upstream list");
            let turn = self.next_upstream.fetch_add(1, Ordering::Relaxed);
            (
                upstreams[turn % upstreams.len()],
                upstreams[(turn + 1) % upstreams.len()],
            )
        };
        let mut decisions = self.decisions.lock().expect("decision log");
        let request_no = decisions.len() as u64 + 1;
        tracing::debug!(
            "fault proxy request {request_no} {} {} -> {upstream}: {fault}",
            request.method,
            request.target
        );
        decisions.push(Decision {
            request_no,
            method: request.method.clone(),
            target: request.target.clone(),
            upstream,
            fault,
        });
        drop(decisions);
        drop(plan);
        self.record(|stats| match fault.kind() {
            Some(kind) => *stats.count_mut(kind) += 1,
            None => stats.passed += 1,
        });
        Route {
            fault,
            upstream,
            copy_upstream,
        }
    }

    /// Sends one copy of `request` to `upstream` on a fresh connection and reads the answer.
    async fn exchange(
        &self,
        upstream: SocketAddr,
        request: &Request,
    ) -> Result<Response, UpstreamError> {
        let stream = timeout(self.connect_timeout, TcpStream::connect(upstream))
            .await
            .map_err(|_| UpstreamError::Unreachable(io::ErrorKind::TimedOut.into()))?
            .map_err(UpstreamError::Unreachable)?;
        stream.set_nodelay(true).map_err(UpstreamError::Broken)?;
        let mut conn = Framed::new(stream);
        conn.stream
            .write_all(&request.bytes)
            .await
            .map_err(UpstreamError::Broken)?;
        self.record(|stats| stats.forwarded += 1);
        let response = timeout(
            self.response_timeout,
            read_response(&mut conn, &request.method),
        )
        .await
        .map_err(|_| UpstreamError::NoAnswer(self.response_timeout))?
        .map_err(UpstreamError::BadAnswer)?;
        tracing::debug!(
            "fault proxy: {upstream} answered {} {} with {}",
            request.method,
            request.target,
            response.status
        );
        Ok(response)
    }

    /// Sends the head and half of the body of `request` to `upstream`, then resets the
    /// connection.
    async fn reset_mid_body(&self, upstream: SocketAddr, request: &Request) {
        let cut = if request.body_len() > 0 {
            request.head_len + request.body_len() / 2
        } else {
            request.head_len / 2
        };
        let sent = async {
            let stream = timeout(self.connect_timeout, TcpStream::connect(upstream))
                .await
                .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
            stream.set_nodelay(true)?;
            let mut stream = stream;
            stream.write_all(&request.bytes[..cut]).await?;
            stream.flush().await?;
            reset(stream);
            io::Result::Ok(())
        }
        .await;
        if let Err(error) = sent {
            tracing::debug!("fault proxy: reset-mid-body towards {upstream}: {error}");
            self.record(|stats| stats.upstream_errors += 1);
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum UpstreamError {
    #[error("cannot connect: {0}")]
    Unreachable(io::Error),
    #[error("connection broke while sending the request: {0}")]
    Broken(io::Error),
    #[error("no complete answer within {0:?}")]
    NoAnswer(Duration),
    #[error("bad answer: {0}")]
    BadAnswer(FramingError),
}

/// Closes `stream` with a TCP reset instead of an orderly close.
fn reset(stream: TcpStream) {
    // If the option cannot be set the close is orderly, which still ends the exchange.
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Accepts client connections, closes and reopens the listening socket for refusal windows,
/// and on shutdown waits for the connection tasks (bounded by `grace`).
async fn accept_loop(
    shared: Arc<Shared>,
    addr: SocketAddr,
    listener: TcpListener,
    mut control: mpsc::UnboundedReceiver<Control>,
    mut shutdown: watch::Receiver<bool>,
    grace: Duration,
) {
    let mut listener = Some(listener);
    let mut reopen_at = Instant::now();
    let mut connections = JoinSet::new();
    let connection_shutdown = shutdown.clone();
    loop {
        let event = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            Some(Control::Refuse { until, ack }) = control.recv() => AcceptEvent::Refuse { until, ack },
            accepted = accept(listener.as_ref()) => AcceptEvent::Accepted(accepted),
            _ = sleep_until(reopen_at), if listener.is_none() => AcceptEvent::Reopen,
        };
        match event {
            AcceptEvent::Refuse { until, ack } => {
                if listener.take().is_some() {
                    shared.record(|stats| stats.refusal_windows += 1);
                    tracing::info!("fault proxy {addr}: refusing connections");
                }
                reopen_at = reopen_at.max(until);
                *shared.refusing_until.lock().expect("refusal window") = Some(reopen_at);
                let _ = ack.send(());
            }
            AcceptEvent::Accepted(Ok(stream)) => {
                shared.record(|stats| stats.connections_accepted += 1);
                connections.spawn(serve_connection(
                    Arc::clone(&shared),
                    stream,
                    connection_shutdown.clone(),
                ));
            }
            AcceptEvent::Accepted(Err(error)) => {
                // Typically out of file descriptors; pause rather than spin.
                tracing::warn!("fault proxy {addr}: accept failed: {error}");
                sleep(Duration::from_millis(10)).await;
            }
            AcceptEvent::Reopen => match TcpListener::bind(addr).await {
                Ok(reopened) => {
                    listener = Some(reopened);
                    *shared.refusing_until.lock().expect("refusal window") = None;
                    tracing::info!("fault proxy {addr}: accepting connections again");
                }
                Err(error) => {
                    tracing::warn!("fault proxy {addr}: cannot listen again yet: {error}");
                    reopen_at = Instant::now() + Duration::from_millis(20);
                }
            },
        }
    }
    drop(listener);
    let drained = timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "fault proxy {addr}: {} connections still busy after {grace:?}; cutting them",
            connections.len()
        );
        connections.shutdown().await;
    }
}

enum AcceptEvent {
    Refuse {
        until: Instant,
        ack: oneshot::Sender<()>,
    },
    Accepted(io::Result<TcpStream>),
    Reopen,
}

/// Accepts from `listener`, or never completes while there is none.
async fn accept(listener: Option<&TcpListener>) -> io::Result<TcpStream> {
    match listener {
        Some(listener) => listener.accept().await.map(|(stream, _)| stream),
        None => std::future::pending().await,
    }
}

/// What a connection does after one request.
enum Next {
    KeepOpen,
    Close,
    Reset,
}

/// Serves one client connection: request after request until the client closes, a fault
/// closes it, or the proxy shuts down while the connection waits for a request.
async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    mut shutdown: watch::Receiver<bool>,
) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!("fault proxy: set_nodelay on a client connection: {error}");
    }
    let mut client = Framed::new(stream);
    loop {
        let read = tokio::select! {
            _ = shutdown.wait_for(|stop| *stop) => return,
            read = read_request(&mut client) => read,
        };
        let request = match read {
            Ok(Some(request)) => request,
            Ok(None) => return,
            Err(FramingError::Io(_) | FramingError::Truncated) => return,
            Err(error) => {
                shared.record(|stats| stats.rejected_requests += 1);
                tracing::warn!("fault proxy: rejected a request: {error}");
                let status = match error {
                    FramingError::HeadTooLarge => "431 Request Header Fields Too Large",
                    FramingError::BodyTooLarge(_) => "413 Content Too Large",
                    FramingError::TransferEncodedRequest(_) => "501 Not Implemented",
                    FramingError::ExpectContinue => "417 Expectation Failed",
                    _ => "400 Bad Request",
                };
                let _ = client
                    .stream
                    .write_all(&proxy_answer(status, &error.to_string()))
                    .await;
                return;
            }
        };
        shared.record(|stats| stats.requests_seen += 1);
        if shared.is_refusing() {
            shared.record(|stats| stats.refused_requests += 1);
            return;
        }
        match handle_request(&shared, &mut client.stream, &request).await {
            Next::KeepOpen if request.keep_alive => {}
            Next::KeepOpen | Next::Close => return,
            Next::Reset => {
                reset(client.stream);
                return;
            }
        }
    }
}

/// Applies the plan's fault to one request and answers the client (or not).
async fn handle_request(shared: &Shared, client: &mut TcpStream, request: &Request) -> Next {
    let route = shared.decide(request);
    let upstream = route.upstream;
    let answer = match route.fault {
        Fault::DropRequest => return Next::Close,
        Fault::ResetMidBody => {
            shared.reset_mid_body(upstream, request).await;
            return Next::Reset;
        }
        Fault::Pass | Fault::DropResponse | Fault::ResetMidResponse => {
            shared.exchange(upstream, request).await
        }
        Fault::DelayRequest(delay) => {
            sleep(delay).await;
            shared.exchange(upstream, request).await
        }
        Fault::DelayResponse(delay) => {
            let answer = shared.exchange(upstream, request).await;
            sleep(delay).await;
            answer
        }
        Fault::Duplicate => {
            let answer = shared.exchange(upstream, request).await;
            let copy = shared.exchange(route.copy_upstream, request).await;
            note_copy_failure(shared, route.copy_upstream, copy);
            answer
        }
        Fault::DuplicateConcurrent => {
            let (answer, copy) = tokio::join!(
                shared.exchange(upstream, request),
                shared.exchange(route.copy_upstream, request)
            );
            note_copy_failure(shared, route.copy_upstream, copy);
            answer
        }
    };
    let response = match answer {
        Ok(response) => response,
        Err(error) => {
            shared.record(|stats| stats.upstream_errors += 1);
            let message = format!("fault proxy: upstream {upstream}: {error}");
            tracing::warn!("{message}");
            let _ = client
                .write_all(&proxy_answer("502 Bad Gateway", &message))
                .await;
            return Next::Close;
        }
    };
    match route.fault {
        Fault::DropResponse => return Next::Close,
        Fault::ResetMidResponse => {
            let half = &response.bytes[..response.bytes.len() / 2];
            // Flushed so the torn half is on its way before the reset.
            let _ = client.write_all(half).await;
            let _ = client.flush().await;
            return Next::Reset;
        }
        _ => {}
    }
    // Counted before writing, so the stats are complete by the time the client has the answer.
    shared.record(|stats| stats.responses_returned += 1);
    if client.write_all(&response.bytes).await.is_err() {
        return Next::Close;
    }
    if response.close {
        Next::Close
    } else {
        Next::KeepOpen
    }
}

fn note_copy_failure(shared: &Shared, upstream: SocketAddr, copy: Result<Response, UpstreamError>) {
    if let Err(error) = copy {
        shared.record(|stats| stats.upstream_errors += 1);
        tracing::warn!("fault proxy: duplicate copy to {upstream}: {error}");
    }
}

/// An answer from the proxy itself, naming the problem; the connection closes after it.
fn proxy_answer(status: &str, message: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\
         connection: close\r\nx-fault-proxy: 1\r\n\r\n{message}",
        message.len()
    )
    .into_bytes()
}
