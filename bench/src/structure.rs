//! Workloads 1-7 of the benchmark issue: launch and join, a tree, a tree cancelled, fail-fast,
//! a supervisor with panics, async fan-out/fan-in, and the `is_active()` check, each for every
//! contender that can express it, on the same runtime.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_scoped::TokioScope;
use scopes::prelude::*;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{Plan, Row, per_op, print_table, timed_part};

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

const PARK: Duration = Duration::from_secs(3600);

/// Workload 1: Launch and join `n` empty coroutines in one scope.
pub(crate) fn launch_join(rt: &Runtime, plan: Plan) {
    let n = plan.coroutines;
    let rows = vec![
        Row::new(
            "tokio: `spawn` + `JoinHandle`",
            "baseline",
            per_op(rt, n, || async move {
                let handles: Vec<_> = (0..n).map(|_| tokio::spawn(async {})).collect();
                for h in handles {
                    h.await.unwrap();
                }
            }),
        ),
        Row::new(
            "tokio: `JoinSet`",
            "",
            per_op(rt, n, || async move {
                let mut set = JoinSet::new();
                for _ in 0..n {
                    set.spawn(async {});
                }
                while set.join_next().await.is_some() {}
            }),
        ),
        Row::new(
            "tokio-util: child `CancellationToken` + `TaskTracker`",
            "",
            per_op(rt, n, || async move {
                let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
                for _ in 0..n {
                    let child = token.child_token();
                    tracker.spawn(async move { drop(child) });
                }
                tracker.close();
                tracker.wait().await;
            }),
        ),
        Row::new(
            "async-scoped: `scope_and_block`",
            "blocks a worker while it waits",
            per_op(rt, n, || async move {
                let ((), outputs) = TokioScope::scope_and_block(|s| {
                    for _ in 0..n {
                        s.spawn(async {});
                    }
                });
                assert_eq!(outputs.len(), n);
            }),
        ),
        Row::new(
            "moro: `async_scope!`",
            "in one task: concurrency without parallelism",
            per_op(rt, n, || async move {
                moro::async_scope!(|scope| {
                    for _ in 0..n {
                        drop(scope.spawn(async {}));
                    }
                })
                .await;
            }),
        ),
        Row::new(
            "scopes: `launch` in a `Scope`",
            "",
            per_op(rt, n, || async move {
                let scope = Scope::new(());
                for _ in 0..n {
                    scope.launch(async {});
                }
                scope.complete_and_join().await;
            }),
        ),
    ];
    print_table(
        plan,
        &format!("1. launch + join of {n} empty coroutines in one scope"),
        "scopes at most 1.2x raw tokio and faster than `JoinSet`",
        rows,
    );
}

/// Workload 2: A 10-ary tree of depth 4: each node starts its children, every leaf yields once.
pub(crate) fn tree(rt: &Runtime, plan: Plan) {
    const NODES: usize = 1 + 10 + 100 + 1_000 + 10_000;
    fn tokio_node(depth: u32) -> BoxFuture {
        Box::pin(async move {
            if depth == 0 {
                tokio::task::yield_now().await;
                return;
            }
            let children: Vec<_> = (0..10)
                .map(|_| tokio::spawn(tokio_node(depth - 1)))
                .collect();
            for c in children {
                c.await.unwrap();
            }
        })
    }
    fn joinset_node(depth: u32) -> BoxFuture {
        Box::pin(async move {
            if depth == 0 {
                tokio::task::yield_now().await;
                return;
            }
            let mut set = JoinSet::new();
            for _ in 0..10 {
                set.spawn(joinset_node(depth - 1));
            }
            while set.join_next().await.is_some() {}
        })
    }
    fn tracked_node(depth: u32, token: CancellationToken, tracker: TaskTracker) -> BoxFuture {
        Box::pin(async move {
            if depth == 0 {
                tokio::task::yield_now().await;
                return;
            }
            for _ in 0..10 {
                tracker.spawn(tracked_node(
                    depth - 1,
                    token.child_token(),
                    tracker.clone(),
                ));
            }
        })
    }
    fn moro_node(depth: u32) -> BoxFuture {
        Box::pin(async move {
            if depth == 0 {
                tokio::task::yield_now().await;
                return;
            }
            moro::async_scope!(|scope| {
                for _ in 0..10 {
                    drop(scope.spawn(moro_node(depth - 1)));
                }
            })
            .await;
        })
    }
    fn scopes_node(depth: u32) -> BoxFuture {
        Box::pin(async move {
            if depth == 0 {
                yield_now().await;
                return;
            }
            for _ in 0..10 {
                current_scope().launch(scopes_node(depth - 1));
            }
        })
    }
    let rows = vec![
        Row::new(
            "tokio: `spawn` + `JoinHandle`s per node",
            "baseline",
            per_op(rt, NODES, || tokio_node(4)),
        ),
        Row::new(
            "tokio: a `JoinSet` per node",
            "",
            per_op(rt, NODES, || joinset_node(4)),
        ),
        Row::new(
            "tokio-util: child tokens + one `TaskTracker`",
            "",
            per_op(rt, NODES, || async {
                let tracker = TaskTracker::new();
                tracker.spawn(tracked_node(4, CancellationToken::new(), tracker.clone()));
                tracker.close();
                tracker.wait().await;
            }),
        ),
        Row::new(
            "moro: nested `async_scope!`",
            "in one task",
            per_op(rt, NODES, || moro_node(4)),
        ),
        Row::new(
            "scopes: children of `current_scope()`",
            "the parent waits for its subtree",
            per_op(rt, NODES, || async {
                let scope = Scope::new(());
                scope.launch(scopes_node(4)).join().await;
            }),
        ),
    ];
    print_table(
        plan,
        &format!(
            "2. a 10-ary tree of depth 4 ({NODES} coroutines), leaves yield once; join the root"
        ),
        "",
        rows,
    );
}

/// Workload 3: A 100 x 1,000 tree of parked coroutines: the time of cancelling the root and waiting until
/// all are gone (the building is not timed).
pub(crate) fn cancel_tree(rt: &Runtime, plan: Plan) {
    let (mid, leaves) = plan.tree;
    let n = mid * leaves;
    let tokio_row = timed_part(rt, n, || async move {
        let mut handles = Vec::with_capacity(n + mid);
        for _ in 0..mid {
            for _ in 0..leaves {
                handles.push(tokio::spawn(tokio::time::sleep(PARK)));
            }
            handles.push(tokio::spawn(tokio::time::sleep(PARK)));
        }
        tokio::task::yield_now().await;
        let start = Instant::now();
        for h in &handles {
            h.abort();
        }
        for h in handles {
            let _ = h.await;
        }
        start.elapsed()
    });
    let tracked_row = timed_part(rt, n, || async move {
        let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
        for _ in 0..mid {
            let mid_token = token.child_token();
            for _ in 0..leaves {
                let leaf = mid_token.child_token();
                tracker
                    .spawn(async move { leaf.run_until_cancelled(tokio::time::sleep(PARK)).await });
            }
            tracker.spawn(async move {
                mid_token
                    .run_until_cancelled(tokio::time::sleep(PARK))
                    .await
            });
        }
        tokio::task::yield_now().await;
        let start = Instant::now();
        token.cancel();
        tracker.close();
        tracker.wait().await;
        start.elapsed()
    });
    let scopes_row = timed_part(rt, n, || async move {
        let scope = Scope::new(());
        let launched = Arc::new(AtomicUsize::new(0));
        let count = launched.clone();
        let root = scope.launch(async move {
            for _ in 0..mid {
                let count = count.clone();
                current_scope().launch(async move {
                    for _ in 0..leaves {
                        current_scope().launch(delay(PARK));
                    }
                    count.fetch_add(leaves, Ordering::SeqCst);
                    delay(PARK).await;
                });
            }
            delay(PARK).await;
        });
        // The whole tree must exist (and every leaf have parked) before the timing starts.
        while launched.load(Ordering::SeqCst) < n {
            tokio::task::yield_now().await;
        }
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        let start = Instant::now();
        root.cancel_and_join().await;
        start.elapsed()
    });
    print_table(
        plan,
        &format!(
            "3. cancel a {mid} x {leaves} tree of parked coroutines and wait until all are gone (cancel + join only)"
        ),
        "scopes at most 1.0x the token + tracker composite",
        vec![
            Row::new(
                "tokio-util: `CancellationToken` tree + `TaskTracker`",
                "baseline: cooperative, like scopes",
                tracked_row,
            ),
            Row::new(
                "tokio: `abort()` every `JoinHandle`, await them",
                "no tree: the caller keeps every handle",
                tokio_row,
            ),
            Row::new("scopes: `root.cancel_and_join()`", "", scopes_row),
        ],
    );
}

/// Workload 4: Fail fast: `n` parked children, one fails; the time until the parent has the failure and
/// every sibling is gone (spawning included, for every contender).
pub(crate) fn fail_fast(rt: &Runtime, plan: Plan) {
    let n = plan.fail_fast;
    let joinset = per_op(rt, n, || async move {
        let mut set = JoinSet::new();
        for _ in 1..n {
            set.spawn(async {
                tokio::time::sleep(PARK).await;
                Ok::<(), &str>(())
            });
        }
        set.spawn(async { Err("failed") });
        while let Some(result) = set.join_next().await {
            if matches!(result, Ok(Err(_)) | Err(_)) {
                set.shutdown().await;
                break;
            }
        }
    });
    let tracked = per_op(rt, n, || async move {
        let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
        let failed = Arc::new(AtomicBool::new(false));
        for _ in 1..n {
            let child = token.child_token();
            tracker.spawn(async move { child.run_until_cancelled(tokio::time::sleep(PARK)).await });
        }
        let (t, f) = (token.clone(), failed.clone());
        tracker.spawn(async move {
            f.store(true, Ordering::SeqCst);
            t.cancel();
        });
        tracker.close();
        tracker.wait().await;
        assert!(failed.load(Ordering::SeqCst));
    });
    let scoped = per_op(rt, n, || async move {
        let result = coroutine_scope(|scope| async move {
            for _ in 1..n {
                scope.launch(delay(PARK));
            }
            scope.launch(async { Err::<(), _>("failed") });
            Ok::<_, CoroutineError>(())
        })
        .await;
        assert!(result.is_err());
    });
    print_table(
        plan,
        &format!(
            "4. fail fast: {n} parked children, one fails; until the failure is seen and every sibling is gone"
        ),
        "",
        vec![
            Row::new(
                "tokio: `JoinSet`, `shutdown()` on the first error",
                "baseline",
                joinset,
            ),
            Row::new(
                "tokio-util: token cancelled by the failing task + `TaskTracker`",
                "",
                tracked,
            ),
            Row::new("scopes: `coroutine_scope` returns the failure", "", scoped),
        ],
    );
}

/// Workload 5: A supervisor: `n` children, 1% panic, every panic reported to a handler.
pub(crate) fn supervisor(rt: &Runtime, plan: Plan) {
    let n = plan.coroutines;
    let expected = n.div_ceil(100);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // 1,000 panic messages would drown the table
    let joinset = per_op(rt, n, || async move {
        let mut set = JoinSet::new();
        for i in 0..n {
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
        assert_eq!(panics, expected);
    });
    let scoped = per_op(rt, n, || async move {
        let reported = Arc::new(AtomicUsize::new(0));
        let count = reported.clone();
        let handler = CoroutineExceptionHandler::new(move |_, e| {
            if e.is_panic() {
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        let scope = Scope::new(Job::supervisor() + handler);
        for i in 0..n {
            scope.launch(async move {
                if i % 100 == 0 {
                    panic!("child {i}");
                }
            });
        }
        scope.complete_and_join().await;
        assert_eq!(reported.load(Ordering::Relaxed), expected);
    });
    print_table(
        plan,
        &format!("5. supervisor: {n} children, 1% panic, every panic reported"),
        "",
        vec![
            Row::new(
                "tokio: `JoinSet`, panics counted from `JoinError`s",
                "baseline",
                joinset,
            ),
            Row::new(
                "scopes: `Job::supervisor()` + `CoroutineExceptionHandler`",
                "",
                scoped,
            ),
        ],
    );
    std::panic::set_hook(hook);
}

/// Workload 6: `async_` fan-out / fan-in: `n` values computed concurrently and summed.
pub(crate) fn fan_in(rt: &Runtime, plan: Plan) {
    let n = plan.coroutines;
    let sum = (0..n as u64).sum::<u64>();
    let rows = vec![
        Row::new(
            "tokio: `spawn` + `JoinHandle<u64>`",
            "baseline",
            per_op(rt, n, || async move {
                let handles: Vec<_> = (0..n as u64)
                    .map(|i| tokio::spawn(async move { i }))
                    .collect();
                let mut total = 0;
                for h in handles {
                    total += h.await.unwrap();
                }
                assert_eq!(total, sum);
            }),
        ),
        Row::new(
            "tokio: `JoinSet<u64>`",
            "",
            per_op(rt, n, || async move {
                let mut set = JoinSet::new();
                for i in 0..n as u64 {
                    set.spawn(async move { i });
                }
                let mut total = 0;
                while let Some(v) = set.join_next().await {
                    total += v.unwrap();
                }
                assert_eq!(total, sum);
            }),
        ),
        Row::new(
            "scopes: `async_` + `Deferred<u64>`",
            "",
            per_op(rt, n, || async move {
                let scope = Scope::new(());
                let deferred: Vec<_> = (0..n as u64)
                    .map(|i| scope.async_(async move { i }))
                    .collect();
                let mut total = 0;
                for d in deferred {
                    total += d.await.unwrap();
                }
                assert_eq!(total, sum);
            }),
        ),
    ];
    print_table(
        plan,
        &format!("6. async fan-out/fan-in: {n} values summed"),
        "",
        rows,
    );
}

/// Workload 7: The cancellation check in a hot loop, per call.
pub(crate) fn is_active_check(rt: &Runtime, plan: Plan) {
    let calls = plan.checks;
    let flag = Arc::new(AtomicBool::new(false));
    let atomic = per_op(rt, calls, || {
        let flag = flag.clone();
        async move {
            let mut seen = 0usize;
            for _ in 0..calls {
                seen += usize::from(!std::hint::black_box(&flag).load(Ordering::Relaxed));
            }
            assert_eq!(seen, calls);
        }
    });
    let token = CancellationToken::new();
    let tokens = per_op(rt, calls, || {
        let token = token.clone();
        async move {
            let mut seen = 0usize;
            for _ in 0..calls {
                seen += usize::from(!std::hint::black_box(&token).is_cancelled());
            }
            assert_eq!(seen, calls);
        }
    });
    let scope = Scope::new(());
    let scoped = per_op(rt, calls, || {
        let d = scope.async_(async move {
            let mut seen = 0usize;
            for _ in 0..calls {
                seen += usize::from(std::hint::black_box(is_active()));
            }
            seen
        });
        async move { assert_eq!(d.await.unwrap(), calls) }
    });
    print_table(
        plan,
        "7. the cancellation check in a hot loop, per call",
        "`is_active()` at most 5 ns",
        vec![
            Row::new(
                "tokio-util: `CancellationToken::is_cancelled()`",
                "baseline: takes a mutex",
                tokens,
            ),
            Row::new(
                "a relaxed `AtomicBool` load",
                "for scale: the least a check can cost",
                atomic,
            ),
            Row::new(
                "scopes: `is_active()`",
                "finds the running coroutine through a thread-local",
                scoped,
            ),
        ],
    );
}
