//! `produce`: the producer is a child coroutine; dropping the stream cancels it; its failure is
//! the stream's last item and its scope's failure; kotlinx's capacities.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use futures::StreamExt;
use scopes::flow::{Capacity, produce};
use scopes::prelude::*;
use scopes::test::run_test;

#[test]
fn a_rendezvous_producer_hands_each_value_over_and_ends_the_stream() {
    run_test(|scope| async move {
        let sent = Arc::new(AtomicUsize::new(0));
        let counter = sent.clone();
        let mut squares = produce(&scope, Capacity::Rendezvous, move |tx| async move {
            for n in 1..=3u32 {
                tx.send(n * n).await?;
                counter.fetch_add(1, SeqCst);
            }
            Ok::<(), CoroutineError>(())
        });
        scope.run_current().await;
        assert_eq!(
            sent.load(SeqCst),
            0,
            "a rendezvous send waits for the receiver"
        );
        assert_eq!(squares.next().await.unwrap().unwrap(), 1);
        scope.run_current().await;
        assert_eq!(sent.load(SeqCst), 1);
        let rest: Vec<u32> = (&mut squares).map(Result::unwrap).collect().await;
        assert_eq!(rest, [4, 9]);
        assert!(squares.next().await.is_none());
    });
}

#[test]
fn capacities_decide_when_the_producer_waits() {
    run_test(|scope| async move {
        for (capacity, sent_before_reading) in [
            (Capacity::Rendezvous, 0),
            (Capacity::Buffered(2), 2),
            (Capacity::Unlimited, 5),
            (Capacity::Conflated, 5),
        ] {
            let sent = Arc::new(AtomicUsize::new(0));
            let counter = sent.clone();
            let values = produce(&scope, capacity, move |tx| async move {
                for n in 1..=5u32 {
                    tx.send(n).await?;
                    counter.fetch_add(1, SeqCst);
                }
                Ok::<(), CoroutineError>(())
            });
            scope.run_current().await;
            assert_eq!(sent.load(SeqCst), sent_before_reading, "{capacity:?}");
            let got: Vec<u32> = values.map(Result::unwrap).collect().await;
            let expected: &[u32] = if capacity == Capacity::Conflated {
                &[5]
            } else {
                &[1, 2, 3, 4, 5]
            };
            assert_eq!(got, expected, "{capacity:?}");
        }
    });
}

#[test]
fn dropping_the_stream_cancels_the_producer_and_its_cleanup_runs() {
    run_test(|scope| async move {
        let cleaned = Arc::new(AtomicBool::new(false));
        let flag = cleaned.clone();
        let mut ticks = produce(&scope, Capacity::BUFFERED, move |tx| {
            try_finally(
                async move {
                    for n in 0u64.. {
                        tx.send(n).await?;
                        delay(Duration::from_secs(1)).await;
                    }
                    Ok::<(), CoroutineError>(())
                },
                async move { flag.store(true, SeqCst) },
            )
        });
        assert_eq!(ticks.next().await.unwrap().unwrap(), 0);
        assert_eq!(ticks.next().await.unwrap().unwrap(), 1);
        let producer = ticks.producer().clone();
        drop(ticks);
        producer.join().await;
        assert!(producer.is_cancelled());
        assert!(cleaned.load(SeqCst));
        assert_eq!(scope.current_time(), Duration::from_secs(1));
    });
}

#[test]
fn a_producer_failure_is_the_streams_last_item_and_its_scopes_failure() {
    run_test(|scope| async move {
        let owner = Scope::new(Job::new() + CoroutineExceptionHandler::new(|_, _| {}));
        let mut values = produce(&owner, Capacity::Unlimited, |tx| async move {
            tx.send(1).await?;
            Err::<(), CoroutineError>(CoroutineError::failed(std::io::Error::other("disk gone")))
        });
        assert_eq!(values.next().await.unwrap().unwrap(), 1);
        let failure = values.next().await.unwrap().unwrap_err();
        assert_eq!(failure.to_string(), "disk gone");
        assert!(values.next().await.is_none());
        scope.run_current().await;
        assert!(
            owner.job().is_cancelled(),
            "a regular scope fails with its child"
        );
    });
}

#[test]
fn a_producer_panic_is_the_streams_last_item() {
    run_test(|_| async move {
        let owner = Scope::new(Job::supervisor() + CoroutineExceptionHandler::new(|_, _| {}));
        let mut values = produce(&owner, Capacity::Rendezvous, |tx| async move {
            tx.send(1u8).await?;
            if std::hint::black_box(true) {
                panic!("producer broke");
            }
            Ok::<(), CoroutineError>(())
        });
        assert_eq!(values.next().await.unwrap().unwrap(), 1);
        let failure = values.next().await.unwrap().unwrap_err();
        assert_eq!(failure.panic_message(), Some("producer broke"));
        assert!(owner.job().is_active(), "a supervisor survives its child");
    });
}

#[test]
fn a_cancelled_send_takes_its_value_back() {
    run_test(|scope| async move {
        let mut values = produce(&scope, Capacity::Rendezvous, |tx| async move {
            let lost = with_timeout(Duration::from_secs(1), tx.send(1u32)).await;
            assert!(
                lost.unwrap_err().is_timeout(),
                "nobody read within a second"
            );
            tx.send(2).await?;
            Ok::<(), CoroutineError>(())
        });
        scope.advance_time_by(Duration::from_secs(2)).await;
        let got: Vec<u32> = (&mut values).map(Result::unwrap).collect().await;
        assert_eq!(got, [2], "the timed-out send's value is gone with it");
    });
}

const ALL: [Capacity; 4] = [
    Capacity::Rendezvous,
    Capacity::Buffered(2),
    Capacity::Unlimited,
    Capacity::Conflated,
];

#[test]
fn the_stream_ends_after_the_producers_children_and_a_late_sender_is_refused() {
    run_test(|scope| async move {
        for capacity in ALL {
            let (kept_tx, kept_rx) = tokio::sync::oneshot::channel();
            let mut values = produce(&scope, capacity, move |tx| async move {
                let child_tx = tx.clone();
                // A child sends after the body returned: the stream waits for it.
                current_scope().launch(async move {
                    delay(Duration::from_secs(1)).await;
                    child_tx.send(7u32).await?;
                    Ok::<(), CoroutineError>(())
                });
                kept_tx.send(tx).ok();
                Ok::<(), CoroutineError>(())
            });
            assert_eq!(values.next().await.unwrap().unwrap(), 7, "{capacity:?}");
            assert!(values.next().await.is_none(), "{capacity:?}");
            let late = kept_rx.await.unwrap();
            assert!(
                late.try_send(8).is_err(),
                "{capacity:?}: the producer has ended"
            );
            assert!(late.send(9).await.is_err(), "{capacity:?}");
        }
    });
}

#[test]
fn every_capacity_delivers_what_was_sent_before_a_failure_then_the_failure() {
    run_test(|_| async move {
        for capacity in ALL {
            let owner = Scope::new(Job::supervisor() + CoroutineExceptionHandler::new(|_, _| {}));
            let mut values = produce(&owner, capacity, |tx| async move {
                tx.try_send(1u32).ok();
                Err::<(), CoroutineError>(CoroutineError::failed(std::io::Error::other("gone")))
            });
            let got: Vec<Result<u32, String>> = (&mut values)
                .map(|item| item.map_err(|e| e.to_string()))
                .collect()
                .await;
            // The caller waits in `collect` before the producer runs, so even a rendezvous
            // `try_send` finds a receiver to hand its value to.
            assert_eq!(got, [Ok(1), Err("gone".to_owned())], "{capacity:?}");
        }
    });
}

#[test]
fn dropping_a_stream_refuses_a_waiting_sender_of_every_capacity() {
    run_test(|scope| async move {
        for capacity in [Capacity::Rendezvous, Capacity::Buffered(1)] {
            let (result_tx, result_rx) = tokio::sync::oneshot::channel();
            let values = produce(&scope, capacity, move |tx| async move {
                // Held outside the producer, so its cancellation does not stop this send.
                let outside = tx.clone();
                scopes::GlobalScope.launch(async move {
                    let first = outside.send(1u32).await;
                    let second = outside.send(2).await;
                    result_tx.send((first.is_ok(), second.is_ok())).ok();
                });
                std::future::pending::<()>().await;
                Ok::<(), CoroutineError>(())
            });
            scope.run_current().await;
            drop(values);
            let (first, second) = result_rx.await.unwrap();
            let expected = capacity != Capacity::Rendezvous;
            assert_eq!((first, second), (expected, false), "{capacity:?}");
        }
    });
}

#[test]
fn try_send_tells_a_full_channel_from_a_closed_one() {
    run_test(|scope| async move {
        let owner = Scope::new(Job::supervisor() + CoroutineExceptionHandler::new(|_, _| {}));
        let mut values = produce(&owner, Capacity::Buffered(2), |tx| async move {
            for i in 0..5u32 {
                tx.try_send(i)?;
            }
            Ok::<(), CoroutineError>(())
        });
        let got: Vec<Result<u32, String>> = (&mut values)
            .map(|item| item.map_err(|e| format!("{e} (cancellation: {})", e.is_cancellation())))
            .collect()
            .await;
        assert_eq!(
            got,
            [
                Ok(0),
                Ok(1),
                Err("the channel is full (cancellation: false)".to_owned())
            ]
        );
        let (kept_tx, kept_rx) = tokio::sync::oneshot::channel();
        let ended = produce(&scope, Capacity::Buffered(2), move |tx| async move {
            kept_tx.send(tx).ok();
            Ok::<(), CoroutineError>(())
        });
        let late = kept_rx.await.unwrap();
        drop(ended);
        assert!(matches!(
            late.try_send(1),
            Err(scopes::flow::TrySendError::Closed(1))
        ));
    });
}

#[test]
fn a_rendezvous_try_send_succeeds_when_the_receiver_waits() {
    run_test(|scope| async move {
        let (go_tx, go) = tokio::sync::oneshot::channel::<()>();
        let mut values = produce(&scope, Capacity::Rendezvous, move |tx| async move {
            assert!(tx.try_send(0u32).is_err(), "nobody waits yet");
            go.await.ok();
            tx.try_send(1)?;
            Ok::<(), CoroutineError>(())
        });
        scope.run_current().await;
        let receiver = scope.async_(async move { values.next().await.map(Result::unwrap) });
        scope.run_current().await;
        go_tx.send(()).unwrap();
        assert_eq!(receiver.await.unwrap(), Some(1));
    });
}

/// A value whose drop panics (the user's own).
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("a bomb went off");
        }
    }
}

#[test]
fn a_value_whose_drop_panics_does_not_keep_the_producer_running_when_the_stream_is_dropped() {
    run_test(|scope| async move {
        for capacity in ALL {
            let values = produce(&scope, capacity, |tx| async move {
                if let Err(refused) = tx.try_send(Bomb) {
                    // A rendezvous with nobody waiting: not this test's subject.
                    std::mem::forget(refused);
                }
                std::future::pending::<()>().await;
                Ok::<(), CoroutineError>(())
            });
            scope.run_current().await;
            let producer = values.producer().clone();
            let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(values)));
            producer.join().await;
            assert!(producer.is_cancelled(), "{capacity:?}");
            assert_eq!(
                dropped.is_err(),
                capacity != Capacity::Rendezvous,
                "{capacity:?}"
            );
        }
    });
}
