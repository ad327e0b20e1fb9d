//! The fault proxy against real HTTP servers on loopback: each fault does what it says, as
//! seen by a server that counts the requests it handled and by a client on a raw connection.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{Method, Uri};
use axum::Router;
use pos_e2e::fault_proxy::{Fault, FaultKind, FaultPlan, FaultProxy};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;

/// Every network step of these tests finishes well within this, or the test fails.
const STEP: Duration = Duration::from_secs(10);

/// A real axum server on `127.0.0.1:0` that counts the requests its handler completed (the
/// handler reads the whole body first, so a request cut short is not counted).
struct CountingServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    task: JoinHandle<()>,
}

struct ServerState {
    name: &'static str,
    handled: Mutex<Vec<Instant>>,
}

impl CountingServer {
    async fn start(name: &'static str) -> CountingServer {
        let state = Arc::new(ServerState {
            name,
            handled: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .fallback(record)
            .layer(DefaultBodyLimit::disable())
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        CountingServer { addr, state, task }
    }

    fn received(&self) -> usize {
        self.state.handled.lock().unwrap().len()
    }

    fn last_handled_at(&self) -> Instant {
        *self
            .state
            .handled
            .lock()
            .unwrap()
            .last()
            .expect("a handled request")
    }
}

impl Drop for CountingServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(state): State<Arc<ServerState>>,
    method: Method,
    uri: Uri,
    body: String,
) -> String {
    let mut handled = state.handled.lock().unwrap();
    handled.push(Instant::now());
    format!("{} #{} {method} {uri} {body}", state.name, handled.len())
}

/// What a client saw for one request.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Answer {
        status: u16,
        body: String,
    },
    /// The connection closed before any byte of an answer.
    Closed,
    /// The connection was reset.
    Reset,
}

impl Outcome {
    /// The body of a 200 answer.
    fn body(&self) -> &str {
        match self {
            Outcome::Answer { status: 200, body } => body,
            other => panic!("expected a 200 answer, got {other:?}"),
        }
    }
}

/// An HTTP/1.1 client on one raw keep-alive connection, so the tests see exactly what arrives.
struct RawClient {
    conn: BufReader<TcpStream>,
}

impl RawClient {
    async fn connect(addr: SocketAddr) -> RawClient {
        let stream = timeout(STEP, TcpStream::connect(addr))
            .await
            .unwrap()
            .unwrap();
        RawClient {
            conn: BufReader::new(stream),
        }
    }

    async fn post(&mut self, path: &str, body: &str) -> Outcome {
        let request = format!(
            "POST {path} HTTP/1.1\r\nhost: pos.test\r\ncontent-type: text/plain\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        self.send_raw(request.as_bytes()).await
    }

    async fn send_raw(&mut self, request: &[u8]) -> Outcome {
        let exchange = async {
            self.conn.get_mut().write_all(request).await?;
            self.read_answer().await
        };
        match timeout(STEP, exchange)
            .await
            .expect("exchange within the step limit")
        {
            Ok(outcome) => outcome,
            Err(error) if error.kind() == io::ErrorKind::ConnectionReset => Outcome::Reset,
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Outcome::Closed,
            Err(error) => panic!("unexpected client error: {error}"),
        }
    }

    async fn read_answer(&mut self) -> io::Result<Outcome> {
        let mut status_line = String::new();
        if self.conn.read_line(&mut status_line).await? == 0 {
            return Ok(Outcome::Closed);
        }
        let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let mut content_length = 0;
        loop {
            let mut line = String::new();
            self.conn.read_line(&mut line).await?;
            if line == "\r\n" {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; content_length];
        self.conn.read_exact(&mut body).await?;
        Ok(Outcome::Answer {
            status,
            body: String::from_utf8(body).unwrap(),
        })
    }

    /// Whether the proxy closed this connection (the next read sees end of stream).
    async fn is_closed_by_peer(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            timeout(STEP, self.conn.read(&mut byte)).await.unwrap(),
            Ok(0)
        )
    }
}

/// One request on a fresh connection.
async fn post_once(addr: SocketAddr, path: &str, body: &str) -> Outcome {
    RawClient::connect(addr).await.post(path, body).await
}

#[tokio::test]
async fn pass_through_keeps_the_client_connection_alive() {
    let server = CountingServer::start("a").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::pass_through())
        .await
        .unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;
    for n in 1..=3 {
        let outcome = client.post("/sales", &format!("sale {n}")).await;
        assert_eq!(
            outcome,
            Outcome::Answer {
                status: 200,
                body: format!("a #{n} POST /sales sale {n}")
            }
        );
    }
    assert_eq!(server.received(), 3);
    let stats = proxy.stats();
    assert_eq!(stats.connections_accepted, 1, "{stats:?}");
    assert_eq!(
        (
            stats.requests_seen,
            stats.forwarded,
            stats.responses_returned
        ),
        (3, 3, 3)
    );
    assert_eq!((stats.passed, stats.faulted()), (3, 0));
    proxy.shutdown().await;
}

#[tokio::test]
async fn large_and_pipelined_requests_pass_intact_and_in_order() {
    let server = CountingServer::start("a").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::pass_through())
        .await
        .unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;
    let large: String = (0..3 * 1024 * 1024)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let answer = client.post("/sales", &large).await;
    assert_eq!(answer.body().len(), "a #1 POST /sales ".len() + large.len());
    assert!(answer.body().ends_with(&large));

    // Two requests in one write; the answers come back in order on the same connection.
    let pipelined = "POST /sales HTTP/1.1\r\nhost: pos.test\r\ncontent-length: 5\r\n\r\nfirst\
                     POST /sales HTTP/1.1\r\nhost: pos.test\r\ncontent-length: 6\r\n\r\nsecond";
    assert_eq!(
        client.send_raw(pipelined.as_bytes()).await.body(),
        "a #2 POST /sales first"
    );
    let second = timeout(STEP, client.read_answer()).await.unwrap().unwrap();
    assert_eq!(second.body(), "a #3 POST /sales second");
    assert_eq!(proxy.stats().connections_accepted, 1);
}

#[tokio::test]
async fn drop_request_never_reaches_the_server() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::DropRequest]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    assert_eq!(
        post_once(proxy.addr(), "/sales", "lost").await,
        Outcome::Closed
    );
    assert_eq!(server.received(), 0);
    let stats = proxy.stats();
    assert_eq!(
        (stats.dropped_requests, stats.forwarded),
        (1, 0),
        "{stats:?}"
    );
    // The script is used up: the next request passes.
    assert_eq!(
        post_once(proxy.addr(), "/sales", "kept").await.body(),
        "a #1 POST /sales kept"
    );
}

#[tokio::test]
async fn drop_response_commits_on_the_server_but_the_client_hears_nothing() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::DropResponse]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    assert_eq!(
        post_once(proxy.addr(), "/sales", "sale 1").await,
        Outcome::Closed
    );
    assert_eq!(server.received(), 1, "the server handled the request");
    let stats = proxy.stats();
    assert_eq!(
        (
            stats.dropped_responses,
            stats.forwarded,
            stats.responses_returned
        ),
        (1, 1, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn duplicate_reaches_the_server_twice_and_answers_once() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::Duplicate]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;
    assert_eq!(
        client.post("/sales", "sale 1").await.body(),
        "a #1 POST /sales sale 1"
    );
    assert_eq!(server.received(), 2);
    // The connection stays usable and carries exactly the next answer, not the copy's.
    assert_eq!(
        client.post("/sales", "sale 2").await.body(),
        "a #3 POST /sales sale 2"
    );
    let stats = proxy.stats();
    assert_eq!(
        (stats.duplicated, stats.forwarded, stats.responses_returned),
        (1, 3, 2)
    );
}

#[tokio::test]
async fn concurrent_duplicate_reaches_the_server_twice_and_answers_once() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::DuplicateConcurrent]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;
    let first = client.post("/sales", "sale 1").await;
    assert!(first.body().ends_with("POST /sales sale 1"), "{first:?}");
    assert_eq!(server.received(), 2);
    assert_eq!(
        client.post("/sales", "sale 2").await.body(),
        "a #3 POST /sales sale 2"
    );
    assert_eq!(proxy.stats().duplicated_concurrently, 1);
}

#[tokio::test]
async fn delays_hold_back_the_request_or_the_answer() {
    let delay = Duration::from_millis(150);
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![
        Fault::DelayRequest(delay),
        Fault::DelayResponse(delay),
    ]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;

    let sent = Instant::now();
    assert_eq!(
        client.post("/sales", "slow").await.body(),
        "a #1 POST /sales slow"
    );
    assert!(
        server.last_handled_at() - sent >= delay,
        "the server saw the request {:?} after it was sent",
        server.last_handled_at() - sent
    );

    assert_eq!(
        client.post("/sales", "late").await.body(),
        "a #2 POST /sales late"
    );
    let answered = Instant::now();
    assert!(
        answered - server.last_handled_at() >= delay,
        "the answer arrived {:?} after the server gave it",
        answered - server.last_handled_at()
    );
    let stats = proxy.stats();
    assert_eq!((stats.delayed_requests, stats.delayed_responses), (1, 1));
}

#[tokio::test]
async fn reset_mid_body_resets_the_client_and_the_server_handles_nothing() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::ResetMidBody]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let body = "x".repeat(4000);
    assert_eq!(
        post_once(proxy.addr(), "/sales", &body).await,
        Outcome::Reset
    );
    // The next request passes; had the cut request been handled, it would be #2.
    assert_eq!(
        post_once(proxy.addr(), "/sales", "after").await.body(),
        "a #1 POST /sales after"
    );
    assert_eq!(server.received(), 1);
    let stats = proxy.stats();
    assert_eq!(
        (
            stats.resets_mid_body,
            stats.forwarded,
            stats.upstream_errors
        ),
        (1, 1, 0)
    );
}

#[tokio::test]
async fn reset_mid_response_commits_on_the_server_and_tears_the_answer() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::ResetMidResponse, Fault::ResetMidResponse]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let body = "y".repeat(4000);
    assert_eq!(
        post_once(proxy.addr(), "/sales", &body).await,
        Outcome::Reset
    );
    assert_eq!(server.received(), 1, "the server handled the request");
    // A real client reports the torn answer as an error.
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(STEP)
        .build()
        .unwrap();
    let torn = client
        .post(format!("{}/sales", proxy.url()))
        .body(body)
        .send()
        .await;
    let torn = match torn {
        Ok(answer) => answer.text().await.map(|_| ()),
        Err(error) => Err(error),
    };
    assert!(
        torn.is_err(),
        "the answer was torn, yet the client read it whole"
    );
    assert_eq!(server.received(), 2);
    let stats = proxy.stats();
    assert_eq!(
        (
            stats.resets_mid_response,
            stats.forwarded,
            stats.responses_returned
        ),
        (2, 2, 0)
    );
}

#[tokio::test]
async fn refused_connections_fail_until_the_window_ends() {
    let server = CountingServer::start("a").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::pass_through())
        .await
        .unwrap();
    let mut opened_before = RawClient::connect(proxy.addr()).await;
    assert_eq!(
        opened_before.post("/sales", "1").await.body(),
        "a #1 POST /sales 1"
    );

    let window = Duration::from_millis(400);
    let refusing_since = Instant::now();
    proxy.refuse_connections_for(window).await;
    let refused = TcpStream::connect(proxy.addr()).await.unwrap_err();
    assert_eq!(
        refused.kind(),
        io::ErrorKind::ConnectionRefused,
        "{refused}"
    );
    assert_eq!(opened_before.post("/sales", "2").await, Outcome::Closed);

    // Wait for the window to end by trying, not by sleeping for it.
    let deadline = Instant::now() + STEP;
    let reconnected = loop {
        match TcpStream::connect(proxy.addr()).await {
            Ok(stream) => break stream,
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused, "{error}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(error) => panic!("still refused after {STEP:?}: {error}"),
        }
    };
    assert!(
        refusing_since.elapsed() >= window,
        "accepted again after {:?}, before the window of {window:?} ended",
        refusing_since.elapsed()
    );
    let mut client = RawClient {
        conn: BufReader::new(reconnected),
    };
    assert_eq!(
        client.post("/sales", "3").await.body(),
        "a #2 POST /sales 3"
    );
    assert_eq!(server.received(), 2);
    let stats = proxy.stats();
    assert_eq!(
        (stats.refusal_windows, stats.refused_requests),
        (1, 1),
        "{stats:?}"
    );
}

/// Sends `count` requests one after the other, each on a fresh connection, through a proxy
/// with a seeded plan, checks that each outcome matches its fault, and returns the faults.
async fn seeded_run(seed: u64, count: usize) -> Vec<Fault> {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::seeded(seed, 0.6)
        .with_delay_range(Duration::from_millis(1), Duration::from_millis(3));
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let mut outcomes = Vec::new();
    for n in 0..count {
        outcomes.push(post_once(proxy.addr(), "/sales", &format!("sale {n}")).await);
    }
    let decisions = proxy.decisions();
    assert_eq!(decisions.len(), count);
    for (decision, outcome) in decisions.iter().zip(&outcomes) {
        let consistent = match decision.fault {
            Fault::ResetMidBody | Fault::ResetMidResponse => *outcome == Outcome::Reset,
            fault if fault.client_gets_answer() => {
                matches!(outcome, Outcome::Answer { status: 200, .. })
            }
            _ => *outcome == Outcome::Closed,
        };
        assert!(consistent, "request {decision:?} ended as {outcome:?}");
    }
    let copies: u64 = decisions.iter().map(|d| d.fault.copies_forwarded()).sum();
    assert_eq!(server.received() as u64, copies);
    assert_eq!(proxy.stats().forwarded, copies);
    let faults = proxy.faults();
    proxy.shutdown().await;
    faults
}

#[tokio::test]
async fn a_seeded_run_replays_with_its_seed_and_differs_with_another() {
    let first = seeded_run(20_261_125, 60).await;
    let kinds: std::collections::BTreeSet<FaultKind> =
        first.iter().filter_map(|fault| fault.kind()).collect();
    assert!(kinds.len() >= 5, "60 requests at 60% drew only {kinds:?}");
    assert_eq!(seeded_run(20_261_125, 60).await, first);
    assert_ne!(seeded_run(20_261_126, 60).await, first);
}

#[tokio::test]
async fn requests_alternate_between_upstreams_and_duplicates_reach_both() {
    let a = CountingServer::start("a").await;
    let b = CountingServer::start("b").await;
    let proxy = FaultProxy::start_balanced(vec![a.addr, b.addr], FaultPlan::pass_through())
        .await
        .unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;
    let answers: Vec<String> = [
        client.post("/sales", "1").await,
        client.post("/sales", "2").await,
        client.post("/sales", "3").await,
        client.post("/sales", "4").await,
    ]
    .iter()
    .map(|outcome| outcome.body().to_owned())
    .collect();
    assert_eq!(
        answers,
        [
            "a #1 POST /sales 1",
            "b #1 POST /sales 2",
            "a #2 POST /sales 3",
            "b #2 POST /sales 4"
        ]
    );

    proxy.set_plan(FaultPlan::scripted(vec![
        Fault::Duplicate,
        Fault::DuplicateConcurrent,
    ]));
    assert_eq!(
        client.post("/sales", "5").await.body(),
        "a #3 POST /sales 5"
    );
    assert_eq!(
        (a.received(), b.received()),
        (3, 3),
        "the copy went to the other server"
    );
    assert_eq!(
        client.post("/sales", "6").await.body(),
        "b #4 POST /sales 6"
    );
    assert_eq!((a.received(), b.received()), (4, 4));

    proxy.set_upstream(a.addr);
    assert_eq!(
        client.post("/sales", "7").await.body(),
        "a #5 POST /sales 7"
    );
    assert_eq!(
        client.post("/sales", "8").await.body(),
        "a #6 POST /sales 8"
    );
    assert_eq!(b.received(), 4);
}

#[tokio::test]
async fn chunked_request_bodies_are_refused_clearly() {
    let server = CountingServer::start("a").await;
    let proxy = FaultProxy::start(server.addr, FaultPlan::pass_through())
        .await
        .unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;
    let outcome = client
        .send_raw(
            b"POST /sales HTTP/1.1\r\nhost: pos.test\r\ntransfer-encoding: chunked\r\n\r\n\
              5\r\nhello\r\n0\r\n\r\n",
        )
        .await;
    let Outcome::Answer { status, body } = outcome else {
        panic!("expected the proxy's refusal, got {outcome:?}");
    };
    assert_eq!(status, 501);
    assert!(
        body.contains("Transfer-Encoding (chunked) are not supported"),
        "{body}"
    );
    assert!(client.is_closed_by_peer().await);
    assert_eq!(server.received(), 0);
    assert_eq!(proxy.stats().rejected_requests, 1);
}

#[tokio::test]
async fn an_unreachable_upstream_gets_a_502_naming_it() {
    let vacant = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vacant_addr = vacant.local_addr().unwrap();
    drop(vacant);
    let proxy = FaultProxy::start(vacant_addr, FaultPlan::pass_through())
        .await
        .unwrap();
    let outcome = post_once(proxy.addr(), "/sales", "1").await;
    let Outcome::Answer { status, body } = outcome else {
        panic!("expected a 502, got {outcome:?}");
    };
    assert_eq!(status, 502);
    assert!(body.contains(&vacant_addr.to_string()), "{body}");
    assert_eq!(proxy.stats().upstream_errors, 1);
}

/// An upstream written by hand that answers every request with a chunked body, then, on the
/// second request of a connection, with a body that runs until it closes the connection.
async fn start_raw_upstream() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut served = 0;
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let mut conn = BufReader::new(stream);
            // Read the head; these requests have no body.
            loop {
                let mut line = String::new();
                if conn.read_line(&mut line).await.unwrap() == 0 || line == "\r\n" {
                    break;
                }
            }
            served += 1;
            let answer: &[u8] = if served % 2 == 1 {
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
                  6\r\nhello \r\n5;ext=1\r\nworld\r\n0\r\nx-trailer: 1\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close"
            };
            conn.get_mut().write_all(answer).await.unwrap();
            conn.get_mut().shutdown().await.unwrap();
        }
    });
    (addr, task)
}

#[tokio::test]
async fn a_real_client_gets_chunked_and_unframed_answers_and_keeps_its_connection() {
    let (upstream, upstream_task) = start_raw_upstream().await;
    let proxy = FaultProxy::start(upstream, FaultPlan::pass_through())
        .await
        .unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(STEP)
        .build()
        .unwrap();
    let url = format!("{}/catalog", proxy.url());
    assert_eq!(
        client.get(&url).send().await.unwrap().text().await.unwrap(),
        "hello world"
    );
    assert_eq!(
        client.get(&url).send().await.unwrap().text().await.unwrap(),
        "until close"
    );
    assert_eq!(
        client.get(&url).send().await.unwrap().text().await.unwrap(),
        "hello world"
    );
    let stats = proxy.stats();
    // The unframed answer ends its connection; the chunked one does not.
    assert_eq!(
        (stats.connections_accepted, stats.responses_returned),
        (2, 3),
        "{stats:?}"
    );
    upstream_task.abort();
}

#[tokio::test]
async fn a_real_client_sees_a_lost_answer_as_an_error_and_carries_on() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::Pass, Fault::Pass, Fault::DropResponse]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(STEP)
        .build()
        .unwrap();
    let url = format!("{}/sales", proxy.url());
    for n in 1..=2 {
        let answer = client.post(&url).body(format!("{n}")).send().await.unwrap();
        assert_eq!(
            answer.text().await.unwrap(),
            format!("a #{n} POST /sales {n}")
        );
    }
    assert_eq!(
        proxy.stats().connections_accepted,
        1,
        "the client kept its connection"
    );
    let lost = client.post(&url).body("3").send().await;
    assert!(
        lost.is_err(),
        "the answer was dropped, yet the client got {lost:?}"
    );
    assert_eq!(
        server.received(),
        3,
        "the server handled the request whose answer was lost"
    );
    let answer = client.post(&url).body("4").send().await.unwrap();
    assert_eq!(answer.text().await.unwrap(), "a #4 POST /sales 4");
}

#[tokio::test]
async fn shutdown_lets_the_request_in_flight_finish_then_refuses() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::DelayResponse(Duration::from_millis(200))]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let addr = proxy.addr();
    let in_flight = tokio::spawn(post_once(addr, "/sales", "last"));
    let idle = RawClient::connect(addr).await;
    proxy
        .wait_until(STEP, |stats| {
            stats.requests_seen == 1 && stats.connections_accepted == 2
        })
        .await
        .unwrap();
    timeout(STEP, proxy.shutdown())
        .await
        .expect("shutdown within the step limit");
    assert_eq!(in_flight.await.unwrap().body(), "a #1 POST /sales last");
    let mut idle = idle;
    assert!(
        idle.is_closed_by_peer().await,
        "idle connections are closed"
    );
    let refused = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn a_path_filter_spares_other_routes() {
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::scripted(vec![Fault::DropRequest]).on_paths(&["/api/v1/sync/"]);
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let mut client = RawClient::connect(proxy.addr()).await;
    let signed_in = client.post("/api/v1/auth/sign-in", "me").await;
    assert_eq!(signed_in.body(), "a #1 POST /api/v1/auth/sign-in me");
    assert_eq!(
        client.post("/api/v1/sync/batch", "ops").await,
        Outcome::Closed
    );
    assert_eq!(server.received(), 1);
    let log: Vec<String> = proxy.decisions().iter().map(ToString::to_string).collect();
    assert_eq!(log.len(), 2);
    let expected = format!(
        "#2 POST /api/v1/sync/batch -> {}: drop-request",
        server.addr
    );
    assert_eq!(log[1], expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_clients_under_random_faults_account_for_every_copy() {
    const CLIENTS: usize = 8;
    const REQUESTS_EACH: usize = 30;
    let server = CountingServer::start("a").await;
    let plan = FaultPlan::seeded(pos_e2e::fault_proxy::seed_from_env(), 0.4)
        .with_delay_range(Duration::from_millis(1), Duration::from_millis(5));
    let proxy = FaultProxy::start(server.addr, plan).await.unwrap();
    let addr = proxy.addr();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut client = RawClient::connect(addr).await;
                for n in 0..REQUESTS_EACH {
                    let outcome = client.post("/sales", &format!("{c}-{n}")).await;
                    if !matches!(outcome, Outcome::Answer { .. }) {
                        client = RawClient::connect(addr).await;
                    }
                    outcomes.push(outcome);
                }
                outcomes
            })
        })
        .collect();
    let mut answered = 0;
    for client in clients {
        let outcomes = client.await.unwrap();
        assert_eq!(outcomes.len(), REQUESTS_EACH);
        for outcome in &outcomes {
            match outcome {
                Outcome::Answer { status: 200, .. } => answered += 1,
                Outcome::Answer { .. } => panic!("unexpected answer {outcome:?}"),
                Outcome::Closed | Outcome::Reset => {}
            }
        }
    }
    let decisions = proxy.decisions();
    assert_eq!(decisions.len(), CLIENTS * REQUESTS_EACH);
    let copies: u64 = decisions.iter().map(|d| d.fault.copies_forwarded()).sum();
    let stats = proxy.stats();
    assert_eq!(server.received() as u64, copies, "{stats:?}");
    assert_eq!(stats.forwarded, copies, "{stats:?}");
    let expected_answers = decisions
        .iter()
        .filter(|d| d.fault.client_gets_answer())
        .count();
    assert_eq!(
        answered,
        expected_answers as u64,
        "{stats:?}\n{}",
        decisions
            .iter()
            .map(|d| format!("{d}\n"))
            .collect::<String>()
    );
    assert_eq!(stats.responses_returned, answered);
    assert_eq!(stats.upstream_errors, 0);
    assert!(stats.faulted() > 0 && stats.passed > 0, "{stats:?}");
    proxy.shutdown().await;
}
