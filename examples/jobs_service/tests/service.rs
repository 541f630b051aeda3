//! The service under load, then shut down mid-way: nothing is lost.
//!
//! 2,000 `POST /jobs` from 64 clients at once over loopback; by the job's index, 5% fail, 1%
//! panic and 1% are long (60 s, so they are surely running at the shutdown); the client that
//! sees the 1,000th acceptance sends `POST /shutdown` (grace 100 ms). Then every accepted job
//! must be done, failed (reported once) or interrupted, none queued or running; the store holds
//! exactly the accepted jobs; every refusal is a 503 that came after the shutdown was asked
//! for; the summary's counts match the store. Run for both engines. Real time (it is a real
//! network service), but no sleep: every wait is on a response, a task or a channel, and each
//! has a timeout, so the test fails instead of hanging.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use jobs_service::client::Client;
use jobs_service::{App, Config, EngineKind, JobRequest, JobState, Refused, ShutdownSummary};
use tokio::time::timeout;
use tower::ServiceExt;

const REQUESTS: usize = 2_000;
const CLIENTS: usize = 64;
const SHUTDOWN_AFTER: usize = 1_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// The job of request `index`: 5% fail and 1% panic, at once (so they surely fail before the
/// shutdown's grace period ends); 1% run for a minute (so they are surely interrupted); the
/// rest take the service's default 200 ms (done or interrupted, by how fast the machine is).
fn request(index: usize) -> JobRequest {
    let (fail, panic) = (index % 20 == 3, index % 100 == 11);
    let work_ms = match index % 100 {
        _ if fail || panic => Some(0),
        7 => Some(60_000),
        _ => None,
    };
    JobRequest {
        payload: index.to_string(),
        fail,
        panic,
        work_ms,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Accepted(u64),
    Refused,
    /// The connection failed: the server had stopped (after the shutdown).
    Unreached,
}

#[derive(Default)]
struct Run {
    next: AtomicUsize,
    accepted: AtomicUsize,
    shutdown_asked: AtomicBool,
    summary: OnceLock<ShutdownSummary>,
    outcomes: Mutex<Vec<Option<Outcome>>>,
}

impl Run {
    fn record(&self, index: usize, outcome: Outcome) {
        let mut outcomes = self.outcomes.lock().unwrap();
        assert!(outcomes[index].replace(outcome).is_none());
    }
}

async fn ask_shutdown(addr: SocketAddr) -> ShutdownSummary {
    let response = timeout(
        REQUEST_TIMEOUT,
        Client::new(addr).post_json("/shutdown", ""),
    )
    .await
    .expect("POST /shutdown timed out")
    .expect("POST /shutdown failed");
    assert_eq!(response.status, 200, "{}", response.body);
    serde_json::from_str(&response.body).expect("the summary as JSON")
}

async fn client(addr: SocketAddr, run: Arc<Run>) {
    let mut client = Client::new(addr);
    loop {
        let index = run.next.fetch_add(1, Ordering::SeqCst);
        if index >= REQUESTS {
            return;
        }
        let after_shutdown_ended = run.summary.get().is_some();
        let json = serde_json::to_string(&request(index)).unwrap();
        let response = timeout(REQUEST_TIMEOUT, client.post_json("/jobs", &json))
            .await
            .unwrap_or_else(|_| panic!("request {index} timed out"));
        match response {
            Ok(response) if response.status == 202 => {
                assert!(
                    !after_shutdown_ended,
                    "job {index} accepted after the shutdown"
                );
                let body: serde_json::Value = serde_json::from_str(&response.body).unwrap();
                run.record(index, Outcome::Accepted(body["id"].as_u64().unwrap()));
                if run.accepted.fetch_add(1, Ordering::SeqCst) + 1 == SHUTDOWN_AFTER {
                    run.shutdown_asked.store(true, Ordering::SeqCst);
                    let summary = ask_shutdown(addr).await;
                    run.summary.set(summary).unwrap();
                }
            }
            Ok(response) if response.status == 503 => {
                assert!(
                    run.shutdown_asked.load(Ordering::SeqCst),
                    "job {index} refused before the shutdown"
                );
                run.record(index, Outcome::Refused);
            }
            Ok(response) => panic!("job {index}: {} {}", response.status, response.body),
            Err(error) => {
                assert!(
                    run.shutdown_asked.load(Ordering::SeqCst),
                    "job {index}: {error} before the shutdown"
                );
                run.record(index, Outcome::Unreached);
            }
        }
    }
}

async fn loses_nothing(engine: EngineKind) {
    let app = App::new(Config {
        engine,
        grace: Duration::from_millis(100),
        ..Config::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(jobs_service::serve(
        listener,
        app.clone(),
        std::future::pending(),
    ));
    let run = Arc::new(Run {
        outcomes: Mutex::new(vec![None; REQUESTS]),
        ..Run::default()
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| tokio::spawn(client(addr, run.clone())))
        .collect();
    for client in clients {
        client.await.expect("a client failed");
    }
    let summary = run.summary.get().expect("the shutdown ran").clone();
    let served = timeout(Duration::from_secs(30), server)
        .await
        .expect("the server did not stop")
        .unwrap()
        .unwrap();
    assert_eq!(served, summary, "serve returns the same summary");
    eprintln!("{summary}");

    // The server accepts no connection now, and the app refuses work with a 503.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert_eq!(app.submit(JobRequest::default()), Err(Refused));
    let refused = app
        .router()
        .oneshot(
            Request::post("/jobs")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);

    // Every request has an answer; the store holds exactly the accepted jobs.
    let outcomes: Vec<Outcome> = run
        .outcomes
        .lock()
        .unwrap()
        .iter()
        .map(|outcome| outcome.expect("every request was sent"))
        .collect();
    let accepted: HashSet<u64> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Outcome::Accepted(id) => Some(*id),
            _ => None,
        })
        .collect();
    let refused = outcomes.iter().filter(|o| **o == Outcome::Refused).count();
    let unreached = outcomes
        .iter()
        .filter(|o| **o == Outcome::Unreached)
        .count();
    assert!(accepted.len() >= SHUTDOWN_AFTER);
    assert_eq!(accepted.len() + refused + unreached, REQUESTS);
    let records = app.store().all();
    let stored: HashSet<u64> = records.iter().map(|record| record.id).collect();
    assert_eq!(
        stored, accepted,
        "the store holds exactly the accepted jobs"
    );

    // Every job ended, as its request said or interrupted; failures reported exactly once.
    let (mut done, mut failed, mut interrupted) = (0, 0, BTreeSet::new());
    for record in &records {
        let asked = &record.request;
        let long = asked.work_ms == Some(60_000);
        match record.state {
            JobState::Done => {
                assert!(!asked.fail && !asked.panic && !long, "{record:?}");
                assert_eq!(record.failure_reports, 0, "{record:?}");
                done += 1;
            }
            JobState::Failed => {
                assert!(asked.fail || asked.panic, "{record:?}");
                assert_eq!(record.failure_reports, 1, "{record:?}");
                let error = record.error.as_deref().unwrap();
                assert_eq!(error.contains("panic"), asked.panic, "{record:?}");
                failed += 1;
            }
            JobState::Interrupted => {
                assert_eq!(record.failure_reports, 0, "{record:?}");
                interrupted.insert(format!("job-{}", record.id));
            }
            JobState::Queued | JobState::Running => panic!("left unfinished: {record:?}"),
        }
        if long {
            assert_eq!(record.state, JobState::Interrupted, "{record:?}");
        }
    }
    assert!(!interrupted.is_empty(), "the long jobs were interrupted");
    assert!(failed > 0, "failures were reported");

    // The summary's counts match the store.
    assert!(!summary.drained);
    assert_eq!(summary.cancelled, interrupted.len());
    let names: BTreeSet<String> = summary.cancelled_names.iter().cloned().collect();
    assert_eq!(names, interrupted, "the summary names the interrupted jobs");
    assert!(summary.finished <= done && summary.failed <= failed);
    let counted = summary.finished + summary.failed + summary.cancelled;
    assert!(counted >= summary.unfinished_at_start && counted <= accepted.len());
    if engine == EngineKind::Tokio {
        // Its counts are read off the store, for exactly the jobs unfinished at the start.
        assert_eq!(counted, summary.unfinished_at_start);
    }
    eprintln!(
        "{engine:?}: {} accepted ({done} done, {failed} failed, {} interrupted), {refused} refused with 503, {unreached} after the server stopped",
        accepted.len(),
        interrupted.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scopes_service_loses_nothing() {
    timeout(Duration::from_secs(120), loses_nothing(EngineKind::Scopes))
        .await
        .expect("the test took over 2 minutes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_service_loses_nothing() {
    timeout(Duration::from_secs(120), loses_nothing(EngineKind::Tokio))
        .await
        .expect("the test took over 2 minutes");
}
