//! How many coroutines a dispatcher runs at once: `limited_parallelism(n)` views, `io()`, and
//! views of views. "Reaches n" is proven with barriers (n coroutines must be inside at once to
//! pass), "never exceeds n" with an atomic max counter over many coroutines.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{Dispatcher, Dispatchers};

/// Counts the coroutines inside a section, and the most there ever were.
#[derive(Default)]
struct Gauge {
    inside: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let now = self.inside.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
    }
    fn exit(&self) {
        self.inside.fetch_sub(1, Ordering::SeqCst);
    }
    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

/// Runs `count` coroutines on `dispatcher`; the first `reach` of them wait at a barrier inside
/// the gauge (so `reach` must be able to run at once), the rest block for `block`.
async fn run_blocking(
    dispatcher: Dispatcher,
    count: usize,
    reach: usize,
    block: Duration,
) -> usize {
    let gauge = Arc::new(Gauge::default());
    let barrier = Arc::new(Barrier::new(reach));
    let scope = Scope::new(dispatcher);
    for i in 0..count {
        let (gauge, barrier) = (gauge.clone(), barrier.clone());
        scope.launch(async move {
            gauge.enter();
            if i < reach {
                barrier.wait();
            } else {
                std::thread::sleep(block); // ok: the blocking work under test, not a wait
            }
            gauge.exit();
        });
    }
    scope.complete_and_join().await;
    gauge.max()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_limited_view_of_io_never_exceeds_n_and_reaches_it() {
    for n in [1, 4, 8] {
        let view = Dispatchers::io().limited_parallelism(n);
        let max = run_blocking(view, 10_000, n, Duration::from_micros(50)).await;
        assert_eq!(max, n, "limited_parallelism({n})");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_runs_its_limit_of_blocking_coroutines_at_once_and_no_more() {
    let io = Dispatchers::io();
    let limit = io.parallelism().expect("io() has a limit");
    assert_eq!(
        limit,
        std::thread::available_parallelism().unwrap().get().max(64)
    );
    let max = run_blocking(io, limit + 200, limit, Duration::from_millis(1)).await;
    assert_eq!(max, limit);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_of_io_is_not_capped_by_ios_limit() {
    let limit = Dispatchers::io().parallelism().unwrap();
    let wide = Dispatchers::io().limited_parallelism(limit + 16);
    let max = run_blocking(wide, limit + 16, limit + 16, Duration::ZERO).await;
    assert_eq!(max, limit + 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_of_default_is_capped_by_defaults_threads() {
    let workers = std::thread::available_parallelism().unwrap().get().max(2);
    let gauge = Arc::new(Gauge::default());
    let scope = Scope::new(Dispatchers::default().limited_parallelism(1_000));
    for _ in 0..2_000 {
        let gauge = gauge.clone();
        scope.launch(async move {
            gauge.enter();
            std::thread::sleep(Duration::from_micros(20)); // ok: the blocking work under test
            gauge.exit();
        });
    }
    scope.complete_and_join().await;
    assert!(
        gauge.max() <= workers,
        "{} at once on {workers} threads",
        gauge.max()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_of_default_runs_n_at_once_when_n_fits() {
    let n = 2; // default() has at least 2 threads
    let max = run_blocking(
        Dispatchers::default().limited_parallelism(n),
        500,
        n,
        Duration::from_micros(20),
    )
    .await;
    assert_eq!(max, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_view_of_a_view_is_capped_by_both() {
    let outer = Dispatchers::io().limited_parallelism(8);
    assert!(
        outer.limited_parallelism(16).ptr_eq(&outer),
        "a wider view of a view is the view"
    );
    let inner = outer.limited_parallelism(3);
    assert_eq!(
        inner.to_string(),
        "Dispatchers.IO.limitedParallelism(8).limitedParallelism(3)"
    );
    let max = run_blocking(inner, 2_000, 3, Duration::from_micros(20)).await;
    assert_eq!(max, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parked_coroutines_hold_no_slot() {
    // 100 coroutines parked on a timer in a view of 1 do not stop another from running.
    let view = Dispatchers::default().limited_parallelism(1);
    let scope = Scope::new(view);
    for _ in 0..100 {
        scope.launch(async { delay(Duration::from_secs(3600)).await });
    }
    let quick = scope.async_(async { 5u8 });
    assert_eq!(quick.await.unwrap(), 5);
    scope.cancel();
}

#[test]
#[should_panic(
    expected = "Dispatchers.IO.limited_parallelism(0): the parallelism must be at least 1"
)]
fn a_parallelism_of_zero_is_refused() {
    let _ = Dispatchers::io().limited_parallelism(0);
}

#[test]
#[should_panic(
    expected = "the unconfined dispatcher runs coroutines wherever they are woken and cannot be limited"
)]
fn unconfined_cannot_be_limited() {
    let _ = Dispatchers::unconfined().limited_parallelism(2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coroutines_queued_on_a_view_of_a_runtime_that_shuts_down_end_cancelled() {
    // A runtime nobody drives: the view's worker is spawned there but never runs.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let view = Dispatchers::from_handle(runtime.handle().clone()).limited_parallelism(1);
    let scope = Scope::new(view);
    let queued: Vec<_> = (0..3).map(|_| scope.launch(async {})).collect();
    assert!(queued.iter().all(|c| c.is_active()));
    // Drops the worker with the queue still full (off the async thread, as tokio requires).
    tokio::task::spawn_blocking(move || drop(runtime))
        .await
        .unwrap();
    for c in &queued {
        c.join().await; // returns: nothing hangs
        assert!(c.is_cancelled(), "{c:?}");
    }
}
