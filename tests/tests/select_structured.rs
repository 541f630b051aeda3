//! `Select` (issue 13, structured select): what it launched is cancelled and awaited before it
//! returns, what it only observed is left alone, the timeout arm runs on virtual time, and a
//! dropped select leaves nothing running.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use scopes::flow::MutableStateFlow;
use scopes::prelude::*;
use scopes::test::TestScope;
use scopes::{JobState, Select};
use scopes_tests::{LIMIT, Recorder, Rt, TestError, on_runtime};

const HOUR: Duration = Duration::from_secs(3600);

/// A body that waits `after`, then gives `value`; its cleanup (one second of virtual time)
/// sets the returned flag.
fn tracked<T: Send + 'static>(
    after: Duration,
    value: T,
) -> (impl Future<Output = T> + Send + 'static, Arc<AtomicBool>) {
    let cleaned = Arc::new(AtomicBool::new(false));
    let flag = cleaned.clone();
    let body = try_finally(
        async move {
            delay(after).await;
            value
        },
        async move {
            delay(Duration::from_secs(1)).await;
            flag.store(true, SeqCst);
        },
    );
    (body, cleaned)
}

#[scopes::test]
async fn launched_losers_are_cancelled_and_awaited_before_it_returns(scope: TestScope) {
    let (fast, _) = tracked(Duration::from_secs(1), "fast");
    let (slow, slow_cleaned) = tracked(HOUR, "slow");
    let (slower, slower_cleaned) = tracked(HOUR * 2, "slower");
    let winner = Select::new()
        .on_async(slow, |r| r.unwrap())
        .on_async(fast, |r| r.unwrap())
        .on_async(slower, |r| r.unwrap())
        .await
        .unwrap();
    assert_eq!(winner, "fast");
    assert!(slow_cleaned.load(SeqCst) && slower_cleaned.load(SeqCst));
    // The winner ended at 2 s (its own cleanup), then the losers' cleanups took a second.
    assert_eq!(scope.current_time(), Duration::from_secs(3));
    assert!(scope.job().children().is_empty(), "{}", scope.dump());
}

/// `tokio::select!` over two `Deferred`s leaves the loser running; `Select::on_await` over the
/// same leaves it alone too (it only observed it); `on_async` cancels its loser.
#[scopes::test]
async fn observed_deferreds_are_left_alone_launched_ones_are_cancelled(scope: TestScope) {
    let fast = scope.async_(async {
        delay(Duration::from_secs(1)).await;
        1
    });
    let slow = scope.async_(async {
        delay(HOUR).await;
        2
    });
    let slow_job = slow.job().clone();
    let v: i32 = tokio::select! { v = fast => v.unwrap(), v = slow => v.unwrap() };
    assert_eq!(v, 1);
    assert!(
        slow_job.is_active(),
        "tokio::select! leaves the loser running"
    );
    slow_job.cancel();

    let fast = scope.async_(async {
        delay(Duration::from_secs(1)).await;
        1
    });
    let slow = scope.async_(async {
        delay(HOUR).await;
        2
    });
    let observed = slow.job().clone();
    let v = Select::new()
        .on_await(fast, |r| r.unwrap())
        .on_await(slow, |r| r.unwrap())
        .await
        .unwrap();
    assert_eq!(v, 1);
    assert!(observed.is_active(), "an observed Deferred is left alone");
    observed.cancel();

    let (slow, cleaned) = tracked(HOUR, 2);
    let v = Select::new()
        .on_future(delay(Duration::from_secs(1)), |()| 1)
        .on_async(slow, |r| r.unwrap())
        .await
        .unwrap();
    assert_eq!(v, 1);
    assert!(
        cleaned.load(SeqCst),
        "a launched loser is cancelled and awaited"
    );
}

#[scopes::test]
async fn the_timeout_arm_wins_on_virtual_time_and_the_losers_end(scope: TestScope) {
    let (slow, cleaned) = tracked(HOUR, ());
    let mut never = futures::stream::pending::<u8>();
    let outcome = Select::new()
        .on_async(slow, |_| "slow")
        .on_next(&mut never, |_| "item")
        .on_timeout(Duration::from_secs(30), || "timed out")
        .await
        .unwrap();
    assert_eq!(outcome, "timed out");
    assert!(cleaned.load(SeqCst));
    assert_eq!(scope.current_time(), Duration::from_secs(31));
}

/// A failing or panicking launched arm gives its handler the error (the select does not fail),
/// and the others are cancelled and awaited; no exception handler hears of it.
#[test]
fn a_failing_or_panicking_arm_is_a_value_for_its_handler() {
    on_runtime(Rt::Paused, LIMIT, "failing arms", || async {
        let recorder = Recorder::new();
        let scope = Scope::new(Job::supervisor() + recorder.handler());
        let outer = scope.async_(async {
            let (slow, cleaned) = tracked(HOUR, 0u8);
            let failed = Select::new()
                .on_async(slow, |r| r.map_err(|e| e.to_string()))
                .on_async(
                    async {
                        delay(Duration::from_secs(1)).await;
                        Err::<u8, _>(TestError("arm failed"))
                    },
                    |r| r.map_err(|e| e.to_string()),
                )
                .await
                .unwrap();
            assert_eq!(failed, Err("arm failed".to_owned()));
            assert!(cleaned.load(SeqCst));
            let panicked = Select::new()
                .on_async(
                    async {
                        if true {
                            panic!("arm panicked");
                        }
                    },
                    |r| r.unwrap_err(),
                )
                .on_timeout(HOUR, || unreachable!())
                .await
                .unwrap();
            assert_eq!(panicked.panic_message(), Some("arm panicked"));
        });
        outer.await.unwrap();
        scope.complete_and_join().await;
        assert!(recorder.messages().is_empty(), "{:?}", recorder.messages());
    });
}

/// An `on_future` arm polls in place; what it launches through `current_scope()` is a child of
/// the select, cancelled and awaited when the arm loses.
#[scopes::test]
async fn what_an_in_place_arm_launched_is_cancelled_with_it(_scope: TestScope) {
    let (child, cleaned) = tracked(HOUR, ());
    let launched = Arc::new(Mutex::new(None::<Job>));
    let keep = launched.clone();
    let v = Select::new()
        .on_future(
            async move {
                let c = current_scope().launch(child);
                *keep.lock().unwrap() = Some(c.job().clone());
                delay(HOUR).await;
            },
            |()| "in place",
        )
        .on_timeout(Duration::from_secs(1), || "timeout")
        .await
        .unwrap();
    assert_eq!(v, "timeout");
    assert!(cleaned.load(SeqCst));
    let job = launched.lock().unwrap().clone().unwrap();
    assert_eq!(job.state(), JobState::Cancelled);
}

#[scopes::test]
async fn on_join_and_on_next_observe_without_owning(scope: TestScope) {
    let worker = scope.launch(async { delay(Duration::from_secs(2)).await });
    let parked = scope.launch(async { delay(HOUR).await });
    let ended = Select::new()
        .on_join(&parked, |_| "parked")
        .on_join(&worker, |e| if e.is_none() { "worker" } else { "failed" })
        .await
        .unwrap();
    assert_eq!(ended, "worker");
    assert!(parked.is_active(), "an observed coroutine is left alone");
    parked.cancel();

    // A flow's subscription, raced in a loop: the stream stays the caller's between rounds,
    // and no value is lost to the timeout arm.
    let flow = MutableStateFlow::new(0u32);
    let mut values = flow.subscribe();
    let producer = flow.clone();
    scope.launch(async move {
        for i in 1..=3 {
            delay(Duration::from_secs(1)).await;
            producer.set_value(i);
        }
    });
    let mut seen = Vec::new();
    loop {
        let next = Select::new()
            .on_next(&mut values, |v| v)
            .on_timeout(Duration::from_millis(1500), || None)
            .await
            .unwrap();
        match next {
            Some(v) => seen.push(v),
            None => break,
        }
    }
    assert_eq!(seen, [0, 1, 2, 3]);
    flow.set_value(4);
    assert_eq!(
        values.next().await,
        Some(4),
        "the subscription is still the caller's"
    );
}

/// Biased: with two arms ready at the first poll, the first listed wins; a zero timeout listed
/// first wins at once.
#[scopes::test]
async fn the_first_listed_ready_arm_wins(_scope: TestScope) {
    let v = Select::new()
        .on_future(async { 1 }, |v| v)
        .on_future(async { 2 }, |v| v)
        .await
        .unwrap();
    assert_eq!(v, 1);
    let v = Select::new()
        .on_timeout(Duration::ZERO, || 0)
        .on_future(async { 2 }, |v| v)
        .await
        .unwrap();
    assert_eq!(v, 0, "a zero timeout is ready at once");
    let v = Select::new()
        .on_future(async { 2 }, |v| v)
        .on_timeout(Duration::ZERO, || 0)
        .await
        .unwrap();
    assert_eq!(v, 2, "an arm listed before it and ready wins");
    let none = Select::<u8>::new().await;
    assert!(none.unwrap_err().to_string().contains("at least one arm"));
}

/// Dropped mid-way (by `tokio::time::timeout`), it cancels what it launched and leaves what it
/// observed; once the enclosing coroutine has joined, nothing of it is left in the tree.
#[scopes::test]
async fn a_dropped_select_cancels_what_it_launched_and_leaves_the_rest(scope: TestScope) {
    let observed = scope.async_(delay(HOUR));
    let observed_job = observed.job().clone();
    let launched = Arc::new(Mutex::new(Vec::<Job>::new()));
    let keep = launched.clone();
    let cleanups = Arc::new(AtomicUsize::new(0));
    let count = cleanups.clone();
    let outer = scope.launch(async move {
        let count2 = count.clone();
        let select = Select::new()
            .on_await(observed, |_| ())
            .on_async(
                try_finally(delay(HOUR), async move {
                    count.fetch_add(1, SeqCst);
                }),
                |_| (),
            )
            .on_future(
                async move {
                    let c = current_scope().launch(try_finally(delay(HOUR), async move {
                        count2.fetch_add(1, SeqCst);
                    }));
                    keep.lock().unwrap().push(c.job().clone());
                    delay(HOUR).await;
                },
                |()| (),
            );
        assert!(
            tokio::time::timeout(Duration::from_secs(1), select)
                .await
                .is_err()
        );
    });
    outer.join().await;
    assert_eq!(
        cleanups.load(SeqCst),
        2,
        "both launched coroutines ran their cleanup"
    );
    assert_eq!(launched.lock().unwrap()[0].state(), JobState::Cancelled);
    assert!(
        observed_job.is_active(),
        "the observed Deferred is left alone"
    );
    assert_eq!(
        scope.job().children(),
        std::slice::from_ref(&observed_job),
        "{}",
        scope.dump()
    );
    observed_job.cancel();
}

/// The caller cancelled while it selects: the select returns its cancellation, and the
/// coroutines it launched have ended.
#[scopes::test]
async fn a_cancelled_caller_cancels_the_select(scope: TestScope) {
    let (slow, cleaned) = tracked(HOUR, ());
    let flag = cleaned.clone();
    let caller = scope.async_(async move {
        let r = Select::new().on_async(slow, |_| ()).await;
        assert!(
            flag.load(SeqCst),
            "the launched arm ended before the select returned"
        );
        r
    });
    delay(Duration::from_secs(1)).await;
    caller.cancel();
    assert!(caller.await.unwrap_err().is_cancellation());
    assert!(cleaned.load(SeqCst));
}

/// A panicking handler panics in the caller: in a coroutine, that is its failure.
#[scopes::test]
async fn a_panicking_handler_is_the_callers_panic(_scope: TestScope) {
    let r = supervisor_scope(|s| async move {
        let failing = s.async_(async {
            Select::new()
                .on_future(async {}, |()| -> u8 { panic!("handler panicked") })
                .await
        });
        Ok::<_, CoroutineError>(failing.await)
    })
    .await
    .unwrap();
    assert_eq!(r.unwrap_err().panic_message(), Some("handler panicked"));
}

/// On real current-thread and multi-thread runtimes, synchronised by channels.
#[test]
fn select_on_real_runtimes() {
    for rt in [Rt::CurrentThread, Rt::MultiThread(2)] {
        on_runtime(rt, LIMIT, "select on a runtime", || async {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let cleaned = Arc::new(AtomicBool::new(false));
            let flag = cleaned.clone();
            let won = Select::new()
                .on_async(
                    try_finally(
                        async move {
                            let _ = tx.send(());
                            std::future::pending::<()>().await;
                        },
                        async move { flag.store(true, SeqCst) },
                    ),
                    |_| "loser",
                )
                .on_future(rx, |_| "winner")
                .await
                .unwrap();
            assert_eq!(won, "winner");
            assert!(cleaned.load(SeqCst));
        });
    }
}
