//! Shutting down 2,000 in-flight jobs (issue 13's service): 2,000 jobs of 200 ms of simulated
//! work, at most 50 running at once (the rest queued), are cancelled and waited for. The
//! clock covers the cancellation and the wait only, from the moment the first 50 run.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use scopes::prelude::*;
use scopes::{Dispatcher, Dispatchers};
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{Plan, Row, print_table, timed_part};

const JOBS: usize = 2_000;
const PARALLEL: usize = 50;
const WORK: Duration = Duration::from_millis(200);

async fn until_running(started: &AtomicUsize) {
    while started.load(Ordering::SeqCst) < PARALLEL {
        tokio::task::yield_now().await;
    }
}

pub(crate) fn shutdown(rt: &Runtime, plan: Plan) {
    let tracked = timed_part(rt, JOBS, || async move {
        let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
        let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
        let started = Arc::new(AtomicUsize::new(0));
        for _ in 0..JOBS {
            let (token, permits, started) = (token.clone(), permits.clone(), started.clone());
            tracker.spawn(async move {
                token
                    .run_until_cancelled(async move {
                        let _permit = permits.acquire().await;
                        started.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(WORK).await;
                    })
                    .await
            });
        }
        until_running(&started).await;
        let start = Instant::now();
        token.cancel();
        tracker.close();
        tracker.wait().await;
        start.elapsed()
    });
    let scoped = |dispatcher: fn() -> Dispatcher| {
        move || async move {
            let scope = Scope::new(Job::supervisor() + dispatcher());
            let started = Arc::new(AtomicUsize::new(0));
            for _ in 0..JOBS {
                let started = started.clone();
                scope.launch(async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    delay(WORK).await;
                });
            }
            until_running(&started).await;
            let start = Instant::now();
            scope.cancel_and_join().await;
            start.elapsed()
        }
    };
    let on_io = timed_part(
        rt,
        JOBS,
        scoped(|| Dispatchers::io().limited_parallelism(PARALLEL)),
    );
    let on_default = timed_part(
        rt,
        JOBS,
        scoped(|| Dispatchers::default().limited_parallelism(PARALLEL)),
    );
    print_table(
        plan,
        &format!(
            "shutdown: cancel {JOBS} jobs, {PARALLEL} running and the rest queued, and wait until all are gone"
        ),
        "scopes at most 1.0x the token + tracker composite",
        vec![
            Row::new(
                "tokio-util: `CancellationToken` + `TaskTracker`, a `Semaphore(50)`",
                "baseline",
                tracked,
            ),
            Row::new(
                "scopes: `io().limited_parallelism(50)`, `scope.cancel_and_join()`",
                "the service's dispatcher: workers on tokio's blocking pool",
                on_io,
            ),
            Row::new(
                "scopes: `default().limited_parallelism(50)`, the same",
                "workers on the runtime's own threads",
                on_default,
            ),
        ],
    );
}
