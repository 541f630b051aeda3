//! Measures the service's shutdown with ~2,000 jobs in flight, on each engine:
//! `cargo run --release -p jobs-service --bin shutdown_bench [-- --runs 7 --jobs 2000]`.
//!
//! Each run starts the service on a loopback port, posts the jobs (60 s of work each, so none
//! ends by itself) from 64 clients, waits until they are in flight (scopes: every job running;
//! tokio: 50 running, the rest waiting for a permit), then sends `POST /shutdown` with a grace
//! period of 0 and times it: the engine's shutdown alone (interrupt every job, run every
//! cleanup, wait for all), and the whole request. The engines take turns in a rotating order;
//! the table shows the median over the runs, and the range.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use jobs_service::client::Client;
use jobs_service::{App, Config, EngineKind, JobState, ShutdownSummary, serve};

struct Variant {
    label: &'static str,
    engine: EngineKind,
    /// The limit; `None`: the number of jobs (so none waits for a permit).
    parallelism: Option<usize>,
}

const VARIANTS: [Variant; 3] = [
    Variant {
        label: "scopes: supervisor scope on io().limited_parallelism(50), scope.shutdown(0)",
        engine: EngineKind::Scopes,
        parallelism: Some(50),
    },
    Variant {
        label: "tokio-util: CancellationToken + TaskTracker + Semaphore(50)",
        engine: EngineKind::Tokio,
        parallelism: Some(50),
    },
    Variant {
        label: "tokio-util: the same, Semaphore(jobs) (every job sleeping, as scopes' are)",
        engine: EngineKind::Tokio,
        parallelism: None,
    },
];

struct Sample {
    engine_ms: f64,
    request_ms: f64,
}

async fn post_jobs(addr: SocketAddr, jobs: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let next = next.clone();
            tokio::spawn(async move {
                let mut client = Client::new(addr);
                while next.fetch_add(1, Ordering::Relaxed) < jobs {
                    let response = client.post_json("/jobs", "{}").await.expect("POST /jobs");
                    assert_eq!(response.status, 202, "{}", response.body);
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("a client failed");
    }
}

async fn one_run(variant: &Variant, jobs: usize) -> Sample {
    let parallelism = variant.parallelism.unwrap_or(jobs);
    let app = App::new(Config {
        engine: variant.engine,
        parallelism,
        work: Duration::from_secs(60),
        grace: Duration::ZERO,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(serve(listener, app.clone(), std::future::pending()));
    post_jobs(addr, jobs).await;
    // In flight: as many running as the engine lets run. (A benchmark may poll; a test may not.)
    let running = match variant.engine {
        EngineKind::Scopes => jobs,
        EngineKind::Tokio => parallelism.min(jobs),
    };
    while app.store().count(JobState::Running) < running {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let started = Instant::now();
    let response = Client::new(addr)
        .post_json("/shutdown", "")
        .await
        .expect("POST /shutdown");
    let request_ms = started.elapsed().as_secs_f64() * 1000.0;
    let summary: ShutdownSummary = serde_json::from_str(&response.body).expect("a summary");
    assert_eq!(summary.cancelled, jobs, "every job interrupted: {summary}");
    let others: Vec<_> = app
        .store()
        .all()
        .into_iter()
        .filter(|record| record.state != JobState::Interrupted)
        .collect();
    assert!(others.is_empty(), "not interrupted: {others:?}");
    server.await.unwrap().unwrap();
    Sample {
        engine_ms: summary.elapsed_us as f64 / 1000.0,
        request_ms,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .map_or(default, |value| value.parse().expect("a number"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (runs, jobs) = (arg(&args, "--runs", 7), arg(&args, "--jobs", 2_000));
    // A warm-up run of each, then the measured rounds in a rotating order.
    for variant in &VARIANTS {
        one_run(variant, jobs).await;
    }
    let mut samples: Vec<Vec<Sample>> = VARIANTS.iter().map(|_| Vec::new()).collect();
    for round in 0..runs {
        for turn in 0..VARIANTS.len() {
            let at = (round + turn) % VARIANTS.len();
            samples[at].push(one_run(&VARIANTS[at], jobs).await);
        }
    }
    println!("shutdown of {jobs} jobs in flight, grace 0, median of {runs} runs (range)\n");
    println!("| engine | engine's shutdown | POST /shutdown round trip |");
    println!("|---|---:|---:|");
    for (variant, samples) in VARIANTS.iter().zip(&samples) {
        let mut engine: Vec<f64> = samples.iter().map(|s| s.engine_ms).collect();
        let mut request: Vec<f64> = samples.iter().map(|s| s.request_ms).collect();
        let engine_median = median(&mut engine);
        let request_median = median(&mut request);
        println!(
            "| {} | {engine_median:.1} ms ({:.1}–{:.1}) | {request_median:.1} ms ({:.1}–{:.1}) |",
            variant.label,
            engine[0],
            engine[engine.len() - 1],
            request[0],
            request[request.len() - 1],
        );
    }
}
