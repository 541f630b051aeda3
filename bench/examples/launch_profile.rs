//! A profiling target on a current-thread runtime, so `valgrind --tool=callgrind` sees one
//! thread. `cargo build --release -p scopes-bench --example launch_profile`, then run the binary
//! under callgrind:
//!
//! - no argument: 100,000 launches and joins in one scope;
//! - `mt`: the same ten times on a 2-worker runtime, for `perf record` (and `mt-fanin`,
//!   `mt-tree`: the `fanin` and `tree` modes there, ten times);
//! - `sequential`: 100,000 launches, each joined before the next;
//! - `tokio`, `joinset`, `tracker`: the same with `tokio::spawn` and `JoinHandle`s, a
//!   `JoinSet`, or child `CancellationToken`s and a `TaskTracker`, for comparison;
//! - `cancel`: a 100 x 1,000 tree of parked coroutines, cancelled and joined;
//! - `tracker-cancel`: the same tree with `CancellationToken`s and a `TaskTracker`;
//! - `build`, `tracker-build`: the trees alone, to subtract from the two above;
//! - `noop` (with `--features tracing`): the launches with a no-op `tracing` subscriber;
//! - `tree`, `tree-joinset`: the harness's 10-ary tree of depth 4 (11,111 coroutines, leaves
//!   yield once), nine times over (99,999 coroutines), with scopes or a `JoinSet` per node;
//! - `supervisor`, `supervisor-joinset`: 100,000 children of a supervisor, 1% panic, every
//!   panic reported (a handler counts them; the `JoinSet` counts its `JoinError`s);
//! - `fanin`, `fanin-joinset`: 100,000 values computed by `async_` (or a `JoinSet<u64>`) and
//!   summed.

use std::time::Duration;

use scopes::prelude::*;

fn main() {
    #[cfg_attr(not(feature = "tracing"), allow(unused_mut))]
    let mut mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "noop" {
        #[cfg(feature = "tracing")]
        {
            tracing::subscriber::set_global_default(noop::Noop).expect("the first subscriber");
            mode = String::new();
        }
        #[cfg(not(feature = "tracing"))]
        panic!("`noop` needs --features tracing");
    }
    // `mt` (for `perf`): the launches on a 2-worker runtime, as in the harness, ten times over.
    let multi_thread = mode.starts_with("mt");
    let mut builder = match multi_thread {
        true => tokio::runtime::Builder::new_multi_thread(),
        false => tokio::runtime::Builder::new_current_thread(),
    };
    if multi_thread {
        builder.worker_threads(2);
    }
    let rt = builder.enable_all().build().unwrap();
    if mode == "mt" {
        for _ in 0..10 {
            rt.block_on(async {
                let scope = Scope::new(());
                for i in 0..100_000u32 {
                    scope.launch(async move {
                        std::hint::black_box(i);
                    });
                }
                scope.complete_and_join().await;
            });
        }
        return;
    }
    if mode == "mt-fanin" {
        for _ in 0..10 {
            rt.block_on(fan_in(&Scope::new(())));
        }
        return;
    }
    if mode == "mt-tree" {
        for _ in 0..90 {
            rt.block_on(async { Scope::new(()).launch(tree::scopes(4)).join().await });
        }
        return;
    }
    if mode.starts_with("supervisor") {
        // 1,000 panic messages would drown the output (as in the harness).
        std::panic::set_hook(Box::new(|_| {}));
    }
    rt.block_on(async move {
        let scope = Scope::new(());
        if mode == "tree" {
            for _ in 0..9 {
                Scope::new(()).launch(tree::scopes(4)).join().await;
            }
        } else if mode == "tree-joinset" {
            for _ in 0..9 {
                tree::joinset(4).await;
            }
        } else if mode == "supervisor" {
            use std::sync::Arc;
            use std::sync::atomic::{AtomicUsize, Ordering};
            let reported = Arc::new(AtomicUsize::new(0));
            let count = reported.clone();
            let handler = CoroutineExceptionHandler::new(move |_, e| {
                if e.is_panic() {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
            let scope = Scope::new(Job::supervisor() + handler);
            for i in 0..100_000u32 {
                scope.launch(async move {
                    if i % 100 == 0 {
                        panic!("child {i}");
                    }
                });
            }
            scope.complete_and_join().await;
            assert_eq!(reported.load(Ordering::Relaxed), 1_000);
        } else if mode == "supervisor-joinset" {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..100_000u32 {
                set.spawn(async move {
                    if i % 100 == 0 {
                        panic!("child {i}");
                    }
                });
            }
            let mut panics = 0;
            while let Some(result) = set.join_next().await {
                panics += usize::from(result.is_err_and(|e| e.is_panic()));
            }
            assert_eq!(panics, 1_000);
        } else if mode == "fanin" {
            fan_in(&scope).await;
        } else if mode == "fanin-joinset" {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..100_000u64 {
                set.spawn(async move { i });
            }
            let mut total = 0;
            while let Some(v) = set.join_next().await {
                total += v.unwrap();
            }
            assert_eq!(total, (0..100_000u64).sum::<u64>());
        } else if mode == "sequential" {
            for i in 0..100_000u32 {
                scope
                    .launch(async move {
                        std::hint::black_box(i);
                    })
                    .join()
                    .await;
            }
        } else if mode == "tokio" {
            let handles: Vec<_> = (0..100_000u32)
                .map(|i| {
                    tokio::spawn(async move {
                        std::hint::black_box(i);
                    })
                })
                .collect();
            for handle in handles {
                handle.await.unwrap();
            }
        } else if mode == "joinset" {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..100_000u32 {
                set.spawn(async move {
                    std::hint::black_box(i);
                });
            }
            while let Some(done) = set.join_next().await {
                done.unwrap();
            }
        } else if mode == "tracker" {
            let token = tokio_util::sync::CancellationToken::new();
            let tracker = tokio_util::task::TaskTracker::new();
            for i in 0..100_000u32 {
                let child = token.child_token();
                tracker.spawn(async move {
                    child
                        .run_until_cancelled(async move { std::hint::black_box(i) })
                        .await;
                });
            }
            tracker.close();
            tracker.wait().await;
        } else if mode == "tracker-cancel" || mode == "tracker-build" {
            let token = tokio_util::sync::CancellationToken::new();
            let tracker = tokio_util::task::TaskTracker::new();
            for _ in 0..100 {
                let mid = token.child_token();
                for _ in 0..1_000 {
                    let leaf = mid.child_token();
                    tracker.spawn(async move {
                        leaf.run_until_cancelled(delay(Duration::from_secs(3600)))
                            .await;
                    });
                }
                tracker.spawn(async move {
                    mid.run_until_cancelled(delay(Duration::from_secs(3600)))
                        .await;
                });
            }
            for _ in 0..4 {
                yield_now().await;
            }
            if mode == "tracker-cancel" {
                token.cancel();
                tracker.close();
                tracker.wait().await;
            } else {
                std::process::exit(0); // before the runtime drops the tasks
            }
        } else if mode == "cancel" || mode == "build" {
            for _ in 0..100 {
                scope.launch(async {
                    for _ in 0..1_000 {
                        current_scope().launch(delay(Duration::from_secs(3600)));
                    }
                    delay(Duration::from_secs(3600)).await;
                });
            }
            // Let every coroutine park.
            for _ in 0..4 {
                yield_now().await;
            }
            if mode == "cancel" {
                scope.job().cancel_and_join().await;
            } else {
                std::process::exit(0); // before the runtime drops the tasks
            }
        } else {
            for i in 0..100_000u32 {
                scope.launch(async move {
                    std::hint::black_box(i);
                });
            }
            scope.complete_and_join().await;
        }
    });
}

/// The harness's fan-in (workload 6): 100,000 values computed by `async_` and summed.
async fn fan_in(scope: &Scope) {
    let deferred: Vec<_> = (0..100_000u64)
        .map(|i| scope.async_(async move { i }))
        .collect();
    let mut total = 0;
    for d in deferred {
        total += d.await.unwrap();
    }
    assert_eq!(total, (0..100_000u64).sum::<u64>());
}

/// The harness's tree (workload 2): each node starts ten children, every leaf yields once.
mod tree {
    use std::future::Future;
    use std::pin::Pin;

    use scopes::prelude::*;

    type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

    pub(crate) fn scopes(depth: u32) -> BoxFuture {
        Box::pin(async move {
            if depth == 0 {
                yield_now().await;
                return;
            }
            for _ in 0..10 {
                current_scope().launch(scopes(depth - 1));
            }
        })
    }

    pub(crate) fn joinset(depth: u32) -> BoxFuture {
        Box::pin(async move {
            if depth == 0 {
                tokio::task::yield_now().await;
                return;
            }
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..10 {
                set.spawn(joinset(depth - 1));
            }
            while set.join_next().await.is_some() {}
        })
    }
}

/// The harness's no-op subscriber (as its `tracing` table).
#[cfg(feature = "tracing")]
#[path = "../src/noop_subscriber.rs"]
mod noop;
