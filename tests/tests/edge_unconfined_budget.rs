//! Issue 10, item 1: an `unconfined()` coroutine inside a tokio task must give the thread back
//! when tokio's cooperative budget runs out, instead of re-polling itself forever.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime, on_runtime_main};
use tokio::sync::mpsc;

/// 200 messages queued on a tokio mpsc, the sender dropped; an unconfined coroutine drains them.
async fn drain_200_queued_messages() -> usize {
    let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
    for i in 0..200 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let received = Arc::new(AtomicUsize::new(0));
    let count = received.clone();
    let scope = Scope::new(Dispatchers::unconfined());
    let drainer = scope.launch(async move {
        while rx.recv().await.is_some() {
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    drainer.join().await;
    assert!(drainer.is_completed());
    received.load(Ordering::SeqCst)
}

/// Issue 10, item 1: on a current-thread runtime, inside a spawned tokio task, `launch` of an unconfined
/// coroutine draining 200 queued messages returns and the coroutine's `join()` finishes, having
/// received all 200.
#[test]
fn an_unconfined_drain_of_200_queued_messages_ends_on_a_current_thread_runtime() {
    let n = on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "unconfined drain (current thread)",
        drain_200_queued_messages,
    );
    assert_eq!(n, 200);
}

/// Issue 10, item 1: the same inside a spawned task of a multi-thread runtime.
#[test]
fn an_unconfined_drain_of_200_queued_messages_ends_on_a_multi_thread_runtime() {
    let n = on_runtime(
        Rt::MultiThread(2),
        LIMIT,
        "unconfined drain (multi thread)",
        drain_200_queued_messages,
    );
    assert_eq!(n, 200);
}

/// Two unconfined coroutines ping-pong 1,000 round trips over two mpsc channels.
async fn ping_pong_1000() -> (usize, usize) {
    let (to_b, mut b_rx) = mpsc::channel::<u32>(1);
    let (to_a, mut a_rx) = mpsc::channel::<u32>(1);
    let pongs = Arc::new(AtomicUsize::new(0));
    let pings = Arc::new(AtomicUsize::new(0));
    let scope = Scope::new(Dispatchers::unconfined());
    let (p, q) = (pongs.clone(), pings.clone());
    let a = scope.launch(async move {
        for i in 0..1_000 {
            to_b.send(i).await.unwrap();
            let back = a_rx.recv().await.unwrap();
            assert_eq!(back, i);
            p.fetch_add(1, Ordering::SeqCst);
        }
    });
    let b = scope.launch(async move {
        while let Some(i) = b_rx.recv().await {
            q.fetch_add(1, Ordering::SeqCst);
            to_a.send(i).await.unwrap();
        }
    });
    a.join().await;
    b.join().await;
    assert_eq!(a.final_error().map(|e| e.to_string()), None);
    assert_eq!(b.final_error().map(|e| e.to_string()), None);
    (pongs.load(Ordering::SeqCst), pings.load(Ordering::SeqCst))
}

/// Issue 10, item 1: two unconfined coroutines ping-ponging 1,000 round trips over two tokio
/// mpsc channels both finish (they hung after about 64 round trips), current-thread.
#[test]
fn two_unconfined_coroutines_ping_pong_1000_round_trips_on_a_current_thread_runtime() {
    let (pongs, pings) = on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "unconfined ping-pong (current thread)",
        ping_pong_1000,
    );
    assert_eq!((pongs, pings), (1_000, 1_000));
}

/// Issue 10, item 1: the same ping-pong on a multi-thread runtime.
#[test]
fn two_unconfined_coroutines_ping_pong_1000_round_trips_on_a_multi_thread_runtime() {
    let (pongs, pings) = on_runtime(
        Rt::MultiThread(2),
        LIMIT,
        "unconfined ping-pong (multi thread)",
        ping_pong_1000,
    );
    assert_eq!((pongs, pings), (1_000, 1_000));
}

/// Issue 10, item 1: the same drain in the body of a multi-thread `#[tokio::test]` (tokio's
/// `block_on`, off the workers: the budget applies and a budget-exhausted `recv` wakes its task
/// at once): `launch` returns and `join()` finishes with all 200 received.
#[test]
fn an_unconfined_drain_of_200_queued_messages_ends_in_a_multi_thread_block_on() {
    let n = on_runtime_main(
        Rt::MultiThread(2),
        LIMIT,
        "unconfined drain (multi-thread block_on)",
        drain_200_queued_messages,
    );
    assert_eq!(n, 200);
}

/// Issue 10, item 1: the same drain in the body of a current-thread `#[tokio::test]`.
#[test]
fn an_unconfined_drain_of_200_queued_messages_ends_in_a_current_thread_block_on() {
    let n = on_runtime_main(
        Rt::CurrentThread,
        LIMIT,
        "unconfined drain (current-thread block_on)",
        drain_200_queued_messages,
    );
    assert_eq!(n, 200);
}

/// Issue 10, item 1: the 1,000-round-trip ping-pong in the body of a multi-thread
/// `#[tokio::test]` (`block_on`): both coroutines finish.
#[test]
fn two_unconfined_coroutines_ping_pong_1000_round_trips_in_a_multi_thread_block_on() {
    let (pongs, pings) = on_runtime_main(
        Rt::MultiThread(2),
        LIMIT,
        "unconfined ping-pong (multi-thread block_on)",
        ping_pong_1000,
    );
    assert_eq!((pongs, pings), (1_000, 1_000));
}

/// A coroutine on `unconfined()` that calls tokio's own `yield_now` on a current-thread runtime:
/// tokio wakes it from its list of deferred wakers, which it holds borrowed meanwhile; run in
/// place there, the coroutine's next `yield_now` found the list borrowed and panicked ("RefCell
/// already borrowed"). It completes.
#[test]
fn an_unconfined_coroutine_may_use_tokios_yield_now() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "unconfined tokio yield_now",
        || async {
            let scope = Scope::new(Dispatchers::unconfined());
            let coroutines: Vec<_> = (0..8)
                .map(|_| {
                    scope.launch(async {
                        for _ in 0..3 {
                            tokio::task::yield_now().await;
                        }
                    })
                })
                .collect();
            for c in coroutines {
                c.join().await;
                assert_eq!(c.state(), JobState::Completed, "{:?}", c.final_error());
            }
        },
    );
}

/// Unconfined coroutines that yield to each other in a loop (each `yield_now` queues the
/// yielder behind the others in the thread's loop) until a timer on the runtime stops them: the
/// loop spends tokio's budget, hands over to a continuation and gives the thread back, so the
/// timer fires. (The loop used to run the yielders forever, at 100% CPU, starving the timer.)
#[test]
fn unconfined_coroutines_yielding_to_each_other_let_a_timer_fire() {
    on_runtime(Rt::CurrentThread, LIMIT, "unconfined yielders", || async {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let scope = Scope::new(Job::new());
        let yielders: Vec<_> = (0..4)
            .map(|_| {
                let stop = stop.clone();
                scope.launch_with(
                    Dispatchers::unconfined(),
                    CoroutineStart::Default,
                    async move {
                        delay(std::time::Duration::from_millis(1)).await;
                        while !stop.load(Ordering::SeqCst) {
                            yield_now().await;
                        }
                    },
                )
            })
            .collect();
        let s = stop.clone();
        scope
            .async_(async move {
                delay(std::time::Duration::from_millis(10)).await;
                s.store(true, Ordering::SeqCst);
            })
            .await
            .unwrap();
        for y in yielders {
            y.join().await;
            assert_eq!(y.state(), JobState::Completed);
        }
    });
}

/// Two unconfined coroutines that wake each other through a waker of their own, which spends no
/// tokio budget, until a timer stops them: a loop runs at most a bounded number of tasks before
/// it hands over to a continuation, so the timer still fires.
#[test]
fn unconfined_coroutines_waking_each_other_without_budget_let_a_timer_fire() {
    use std::sync::Mutex;
    use std::task::{Poll, Waker};

    /// A flag and the waker of whoever waits for it.
    #[derive(Default)]
    struct Signal(Mutex<(bool, Option<Waker>)>);

    impl Signal {
        fn raise(&self) {
            let waker = {
                let mut s = self.0.lock().unwrap();
                s.0 = true;
                s.1.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }

        async fn wait(&self) {
            std::future::poll_fn(|cx| {
                let mut s = self.0.lock().unwrap();
                if std::mem::take(&mut s.0) {
                    Poll::Ready(())
                } else {
                    s.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            })
            .await
        }
    }

    on_runtime(Rt::CurrentThread, LIMIT, "unconfined wakers", || async {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (a, b) = (Arc::new(Signal::default()), Arc::new(Signal::default()));
        let scope = Scope::new(Job::new());
        let player = |me: Arc<Signal>, other: Arc<Signal>, serve: bool| {
            let stop = stop.clone();
            scope.launch_with(
                Dispatchers::unconfined(),
                CoroutineStart::Default,
                async move {
                    delay(std::time::Duration::from_millis(1)).await;
                    if serve {
                        other.raise();
                    }
                    while !stop.load(Ordering::SeqCst) {
                        me.wait().await;
                        other.raise();
                    }
                    other.raise(); // let the other one see the stop too
                },
            )
        };
        let players = [player(a.clone(), b.clone(), true), player(b, a, false)];
        let s = stop.clone();
        scope
            .async_(async move {
                delay(std::time::Duration::from_millis(10)).await;
                s.store(true, Ordering::SeqCst);
            })
            .await
            .unwrap();
        for p in players {
            p.join().await;
        }
    });
}
