//! `MutableStateFlow` / `StateFlow`: kotlinx's rules (the current value first, equality
//! conflation, latest-only delivery, atomic updates, a non-conflated subscription count).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use scopes::flow::{MutableStateFlow, StateFlow};
use scopes::prelude::*;
use scopes::test::run_test;
use scopes_tests::{LIMIT, poll_once};

/// Runs `f` on a current-thread runtime (no virtual time needed: nothing here waits for time).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn a_subscriber_gets_the_current_value_then_each_new_one() {
    run_test(|scope| async move {
        let flow = MutableStateFlow::new(0);
        let reader = flow.as_state_flow();
        let seen = scope.async_(async move {
            let mut values = Vec::new();
            let mut subscription = reader.subscribe();
            while let Some(v) = subscription.next().await {
                values.push(v);
                if v == 3 {
                    break;
                }
            }
            values
        });
        for v in 1..=3 {
            delay(Duration::from_secs(1)).await; // the subscriber runs between sets
            flow.set_value(v);
        }
        assert_eq!(seen.await.unwrap(), [0, 1, 2, 3]);
    });
}

#[test]
fn values_set_while_a_subscriber_does_not_run_are_conflated_to_the_latest() {
    block_on(async {
        let flow = MutableStateFlow::new(0);
        let mut subscription = flow.subscribe();
        assert_eq!(subscription.next().await, Some(0));
        for v in 1..=100 {
            flow.set_value(v);
        }
        assert_eq!(subscription.next().await, Some(100));
        assert!(poll_once(&mut subscription.next()).await.is_pending());
    });
}

#[test]
fn an_equal_value_is_no_change_and_never_two_equal_values_in_a_row() {
    block_on(async {
        let flow = MutableStateFlow::new(String::from("a"));
        let mut subscription = flow.subscribe();
        assert_eq!(subscription.next().await.as_deref(), Some("a"));
        flow.set_value("a".into());
        assert!(
            poll_once(&mut subscription.next()).await.is_pending(),
            "equal: nothing new"
        );
        // Away and back between two polls: the subscriber's last value is the current one.
        flow.set_value("b".into());
        flow.set_value("a".into());
        assert!(poll_once(&mut subscription.next()).await.is_pending());
        flow.set_value("c".into());
        assert_eq!(subscription.next().await.as_deref(), Some("c"));
    });
}

#[test]
fn null_like_values_are_values() {
    block_on(async {
        let flow: MutableStateFlow<Option<i32>> = MutableStateFlow::new(None);
        let mut subscription = flow.subscribe();
        assert_eq!(subscription.next().await, Some(None));
        flow.set_value(Some(1));
        assert_eq!(subscription.next().await, Some(Some(1)));
        flow.set_value(None);
        assert_eq!(subscription.next().await, Some(None));
        assert_eq!(flow.replay_cache(), [None]);
    });
}

#[test]
fn updates_are_atomic_and_report_what_they_did() {
    let flow = MutableStateFlow::new(10);
    assert_eq!(flow.update_and_get(|v| v + 1), 11);
    assert_eq!(flow.get_and_update(|v| v * 2), 11);
    assert_eq!(flow.value(), 22);
    assert!(!flow.compare_and_set(&21, 0));
    assert!(flow.compare_and_set(&22, 0));
    assert!(
        flow.compare_and_set(&0, 0),
        "kotlinx: true when expected and new are the current"
    );
    assert_eq!(flow.value(), 0);

    // Eight threads, 10,000 increments each: none lost.
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let flow = flow.clone();
            std::thread::spawn(move || {
                for _ in 0..10_000 {
                    flow.update(|v| v + 1);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(flow.value(), 80_000);
}

#[test]
fn the_subscription_count_sees_every_change_from_subscribe_to_drop() {
    block_on(async {
        let flow = MutableStateFlow::new(());
        let count = flow.subscription_count();
        let mut counts = count.subscribe();
        assert_eq!(counts.next().await, Some(0));
        let first = flow.subscribe(); // counted now, before any poll
        drop(first);
        let second = flow.subscribe();
        // A flicker 0 -> 1 -> 0 -> 1 is three items, not the latest one.
        assert_eq!(counts.next().await, Some(1));
        assert_eq!(counts.next().await, Some(0));
        assert_eq!(counts.next().await, Some(1));
        assert_eq!(count.value(), 1);
        drop(second);
        assert_eq!(counts.next().await, Some(0));
    });
}

#[test]
fn a_subscriber_ends_after_the_last_handle_is_gone_with_the_last_value() {
    block_on(async {
        let flow = MutableStateFlow::new(1);
        let reader: StateFlow<i32> = flow.as_state_flow();
        let mut subscription = reader.subscribe();
        assert_eq!(subscription.next().await, Some(1));
        flow.set_value(2);
        drop(flow);
        assert!(
            poll_once(&mut subscription.next()).await.is_ready(),
            "the value first"
        );
        drop(reader);
        assert_eq!(subscription.next().await, None);
        assert_eq!(subscription.next().await, None);
    });
}

#[test]
fn a_subscriber_on_another_thread_ends_at_the_last_value_set() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let flow = MutableStateFlow::new(0u32);
        let mut subscription = flow.subscribe();
        let reader = tokio::spawn(async move {
            let mut last = None;
            while let Some(v) = subscription.next().await {
                assert!(last.is_none_or(|l| v > l), "{last:?} then {v}");
                last = Some(v);
            }
            last
        });
        let writer = {
            let flow = flow.clone();
            std::thread::spawn(move || {
                for v in 1..=100_000 {
                    flow.set_value(v);
                }
            })
        };
        writer.join().unwrap();
        drop(flow);
        let last = tokio::time::timeout(LIMIT, reader).await.unwrap().unwrap();
        assert_eq!(last, Some(100_000), "the latest value is never lost");
    });
}

#[test]
fn polling_is_cancel_safe() {
    run_test(|_| async {
        let flow = Arc::new(MutableStateFlow::new(0));
        let mut subscription = flow.subscribe();
        assert_eq!(subscription.next().await, Some(0));
        // A `select!` that loses, a timeout that fires: the next poll still sees the change.
        let lost = with_timeout(Duration::from_secs(1), subscription.next()).await;
        assert!(lost.unwrap_err().is_timeout());
        flow.set_value(7);
        assert_eq!(subscription.next().await, Some(7));
    });
}

/// A value whose `Clone` panics when told to, and that counts its clones.
#[derive(Debug, PartialEq)]
struct Fragile(u32);

static CLONES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PANIC_ON_CLONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Clone for Fragile {
    fn clone(&self) -> Self {
        CLONES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if PANIC_ON_CLONE.swap(false, std::sync::atomic::Ordering::SeqCst) {
            panic!("clone broke");
        }
        Fragile(self.0)
    }
}

#[test]
fn a_set_clones_nothing_a_delivery_clones_once_and_a_panicking_clone_loses_nothing() {
    use std::sync::atomic::Ordering::SeqCst;
    block_on(async {
        let flow = MutableStateFlow::new(Fragile(0));
        CLONES.store(0, SeqCst);
        for n in 1..=100 {
            flow.set_value(Fragile(n));
        }
        assert_eq!(
            CLONES.load(SeqCst),
            0,
            "no subscriber: a set copies nothing"
        );
        let mut subscription = flow.subscribe();
        assert_eq!(subscription.next().await, Some(Fragile(100)));
        assert_eq!(CLONES.load(SeqCst), 1, "one clone per delivery");
        flow.set_value(Fragile(101));
        PANIC_ON_CLONE.store(true, SeqCst);
        let broken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            futures::FutureExt::now_or_never(subscription.next())
        }));
        assert!(broken.is_err(), "the delivery's clone panicked");
        assert_eq!(
            subscription.next().await,
            Some(Fragile(101)),
            "and the value is not lost"
        );
    });
}
