//! Issue 10, item 3: dropping a scope builder's future (a `tokio::time::timeout`, a lost
//! `select!`) at any `.await` cancels what it started and leaves nothing running.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime, poll_once};

type Slot = Arc<Mutex<Option<Job>>>;

fn slot() -> Slot {
    Arc::default()
}

fn take(slot: &Slot, what: &str) -> Job {
    slot.lock()
        .unwrap()
        .clone()
        .unwrap_or_else(|| panic!("{what} never ran"))
}

/// Ticks forever, keeping its own job in `me`.
async fn ticker(me: Slot) {
    *me.lock().unwrap() = Some(current_scope().job());
    loop {
        delay(Duration::from_millis(10)).await;
    }
}

/// Issue 10, item 3: `tokio::time::timeout(50ms, coroutine_scope(..))` whose block launched a
/// ticker and is itself parked: once the timeout fires, the ticker's job and the scope's job end
/// cancelled, and the enclosing coroutine ends (its `join()` returns).
#[test]
fn a_coroutine_scope_dropped_by_a_timeout_while_its_block_runs_cancels_its_children() {
    on_runtime(
        Rt::Paused,
        LIMIT,
        "coroutine_scope dropped in block",
        || async {
            let (tick, block) = (slot(), slot());
            let (t, b) = (tick.clone(), block.clone());
            let scope = Scope::new(());
            let outer = scope.launch(async move {
                let r = tokio::time::timeout(
                    Duration::from_millis(50),
                    coroutine_scope(|s| async move {
                        *b.lock().unwrap() = Some(s.job());
                        s.launch(ticker(t));
                        delay(Duration::from_secs(3600)).await;
                        Ok::<_, CoroutineError>(())
                    }),
                )
                .await;
                assert!(r.is_err(), "the timeout fired");
            });
            outer.join().await;
            assert!(outer.is_completed(), "{:?}", outer.state());
            assert_eq!(take(&tick, "the ticker").state(), JobState::Cancelled);
            assert_eq!(take(&block, "the block").state(), JobState::Cancelled);
        },
    );
}

/// Issue 10, item 3: the same with a block that returned at once, the builder waiting for its
/// ticker child when the timeout drops it: the ticker ends cancelled, the enclosing coroutine
/// ends.
#[test]
fn a_coroutine_scope_dropped_by_a_timeout_while_it_waits_for_children_cancels_them() {
    on_runtime(
        Rt::Paused,
        LIMIT,
        "coroutine_scope dropped joining",
        || async {
            let (tick, block) = (slot(), slot());
            let (t, b) = (tick.clone(), block.clone());
            let scope = Scope::new(());
            let outer = scope.launch(async move {
                let r = tokio::time::timeout(
                    Duration::from_millis(50),
                    coroutine_scope(|s| async move {
                        *b.lock().unwrap() = Some(s.job());
                        s.launch(ticker(t));
                        Ok::<_, CoroutineError>(())
                    }),
                )
                .await;
                assert!(r.is_err(), "the timeout fired");
            });
            outer.join().await;
            assert!(outer.is_completed(), "{:?}", outer.state());
            assert_eq!(take(&tick, "the ticker").state(), JobState::Cancelled);
            let block = take(&block, "the block");
            assert!(block.is_completed() && block.is_cancelled(), "{block:?}");
        },
    );
}

/// Issue 10, item 3: a `coroutine_scope` that loses a `tokio::select!` while it waits for its
/// child (the block returned): the child ends cancelled and the enclosing coroutine ends.
#[test]
fn a_coroutine_scope_that_loses_a_select_while_joining_cancels_its_child() {
    on_runtime(
        Rt::Paused,
        LIMIT,
        "coroutine_scope loses select",
        || async {
            let child = slot();
            let c = child.clone();
            let scope = Scope::new(());
            let outer = scope.launch(async move {
                let won = tokio::select! {
                    biased;
                    _ = coroutine_scope(|s| async move {
                        let long = s.launch(delay(Duration::from_secs(3600)));
                        *c.lock().unwrap() = Some(long.job().clone());
                        Ok::<_, CoroutineError>(())
                    }) => "builder",
                    _ = tokio::time::sleep(Duration::from_millis(50)) => "sleep", // paused clock
                };
                assert_eq!(won, "sleep");
            });
            outer.join().await;
            assert!(outer.is_completed(), "{:?}", outer.state());
            assert_eq!(outer.final_error().map(|e| e.to_string()), None);
            assert_eq!(take(&child, "the child").state(), JobState::Cancelled);
        },
    );
}

/// Issue 10, item 3: `with_timeout(1h, ..)` whose body launched a parked child and returned,
/// dropped by an outer `tokio::time::timeout(50ms)`: the child ends cancelled and the enclosing
/// coroutine ends.
#[test]
fn a_with_timeout_dropped_by_an_outer_timeout_cancels_the_children_of_its_body() {
    on_runtime(Rt::Paused, LIMIT, "with_timeout dropped", || async {
        let (child, body) = (slot(), slot());
        let (c, b) = (child.clone(), body.clone());
        let scope = Scope::new(());
        let outer = scope.launch(async move {
            let r = tokio::time::timeout(
                Duration::from_millis(50),
                with_timeout(Duration::from_secs(3600), async move {
                    *b.lock().unwrap() = Some(current_scope().job());
                    let long = current_scope().launch(delay(Duration::from_secs(3600)));
                    *c.lock().unwrap() = Some(long.job().clone());
                }),
            )
            .await;
            assert!(r.is_err(), "the outer timeout fired");
        });
        outer.join().await;
        assert!(outer.is_completed(), "{:?}", outer.state());
        assert_eq!(take(&child, "the child").state(), JobState::Cancelled);
        assert!(take(&body, "the body").is_completed());
    });
}

/// Sends on `tx` when dropped: observes that a body was dropped (stopped).
struct DropSignal(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Issue 10, item 3: `tokio::time::timeout(50ms, with_context(Dispatchers::io(), ticker))` (a
/// hop): once the timeout fires, the body running on io() stops (it is dropped), its job ends
/// cancelled, and the enclosing coroutine ends.
#[test]
fn a_with_context_hop_dropped_by_a_timeout_stops_its_body() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "with_context hop dropped",
        || async {
            let hop = slot();
            let h = hop.clone();
            let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel();
            let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
            let scope = Scope::new(());
            let outer = scope.launch(async move {
                let r = tokio::time::timeout(
                    Duration::from_millis(50),
                    with_context(Dispatchers::io(), async move {
                        let _signal = DropSignal(Some(dropped_tx));
                        *h.lock().unwrap() = Some(current_scope().job());
                        let _ = started_tx.send(());
                        // Ticks "forever" (a `loop` would be a body of type `!`: item 10).
                        for _ in 0u64.. {
                            delay(Duration::from_millis(10)).await;
                        }
                    }),
                )
                .await;
                assert!(r.is_err(), "the timeout fired");
            });
            started_rx.await.expect("the body started on io()");
            dropped_rx
                .await
                .expect("the body on io() was dropped (its signal sent), not leaked");
            outer.join().await;
            assert!(outer.is_completed(), "{:?}", outer.state());
            let hop = take(&hop, "the hop");
            hop.join().await;
            assert_eq!(hop.state(), JobState::Cancelled);
        },
    );
}

/// A scope that ended with a failure for its caller, whose future is then dropped without being
/// polled again (a `select!` took another branch in the same turn): the failure is not lost. It
/// goes up to the caller, as an abandoned scope's failure does, and fails the enclosing
/// coroutine, whose handler reports it once.
#[test]
fn a_failure_a_dropped_scope_had_ended_with_goes_to_its_caller() {
    on_runtime(Rt::CurrentThread, LIMIT, "failed scope dropped", || async {
        let recorder = scopes_tests::Recorder::new();
        let scope = Scope::new(Job::supervisor() + recorder.handler());
        let outer = scope.launch(async move {
            let (fail_tx, fail_rx) = tokio::sync::oneshot::channel::<()>();
            let block = slot();
            let b = block.clone();
            let mut scoped = Box::pin(coroutine_scope(|s| async move {
                *b.lock().unwrap() = Some(s.job());
                s.launch(async move {
                    let _ = fail_rx.await;
                    Err::<(), _>(scopes_tests::TestError("child failed"))
                });
                Ok::<_, CoroutineError>(())
            }));
            // One poll: the block returns, the scope waits for its child.
            assert!(poll_once(&mut scoped).await.is_pending());
            fail_tx.send(()).unwrap();
            let scoped_job = take(&block, "the block");
            scoped_job.join().await;
            assert!(scoped_job.final_error().is_some_and(|e| e.is_failure()));
            drop(scoped); // never polled again: nobody receives the failure
            yield_now().await; // the enclosing coroutine is cancelled now: dropped here
            unreachable!("the failure cancelled the enclosing coroutine");
        });
        outer.join().await;
        assert_eq!(outer.state(), JobState::Cancelled);
        assert_eq!(recorder.messages(), vec!["child failed"]);
    });
}

/// A builder dropped outside any coroutine (in a plain tokio task), whose child had failed: the
/// failure has no caller and no coroutine above it to go to, so the scope reports it to the
/// handler in its context, once, as a launch would.
#[test]
fn a_failure_of_a_scope_dropped_outside_any_coroutine_is_reported() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "scope dropped at top level",
        || async {
            let recorder = scopes_tests::Recorder::new();
            let block = slot();
            let b = block.clone();
            let mut scoped = Box::pin(with_context(
                Job::supervisor() + recorder.handler(),
                async move {
                    *b.lock().unwrap() = Some(current_scope().job());
                    current_scope().launch(async {
                        Err::<(), _>(scopes_tests::TestError("child of a dropped scope"))
                    });
                    std::future::pending::<()>().await;
                    Ok::<_, CoroutineError>(())
                },
            ));
            assert!(poll_once(&mut scoped).await.is_pending());
            let scoped_job = take(&block, "the block");
            while !scoped_job.is_cancelled() {
                tokio::task::yield_now().await; // the child runs, fails, cancels the scope
            }
            assert!(
                recorder.messages().is_empty(),
                "the scope has it, for its caller"
            );
            drop(scoped); // the caller is gone
            assert!(scoped_job.is_completed());
            assert_eq!(recorder.messages(), vec!["child of a dropped scope"]);
        },
    );
}
