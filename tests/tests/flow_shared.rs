//! `MutableSharedFlow`: kotlinx's scenarios (no subscribers, replay, rendezvous, drop oldest or
//! latest, FIFO emitters under `Suspend`, cancelled emitters and subscribers), and a stress.

use futures::StreamExt;
use scopes::flow::{BufferOverflow, MutableSharedFlow};
use scopes_tests::{LIMIT, poll_once};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn flow(replay: usize, extra: usize, overflow: BufferOverflow) -> MutableSharedFlow<u32> {
    MutableSharedFlow::with_config(replay, extra, overflow).unwrap()
}

#[test]
fn without_subscribers_nothing_waits_and_only_the_replay_is_kept() {
    let rendezvous = MutableSharedFlow::<u32>::new();
    assert!(rendezvous.try_emit(1));
    assert!(rendezvous.replay_cache().is_empty());

    let replaying = flow(2, 5, BufferOverflow::Suspend);
    for v in 1..=10 {
        assert!(replaying.try_emit(v));
    }
    assert_eq!(replaying.replay_cache(), [9, 10]);
    block_on(async {
        replaying.emit(11).await; // never waits without subscribers
        let mut late = replaying.subscribe();
        assert_eq!(late.next().await, Some(10));
        assert_eq!(late.next().await, Some(11));
        assert!(poll_once(&mut late.next()).await.is_pending());
    });
    replaying.reset_replay_cache();
    assert!(replaying.replay_cache().is_empty());
}

#[test]
fn a_rendezvous_emit_waits_until_every_subscriber_took_its_value() {
    block_on(async {
        let events = MutableSharedFlow::<u32>::new();
        let mut a = events.subscribe();
        let mut b = events.subscribe();
        assert!(
            !events.try_emit(1),
            "with subscribers, a rendezvous cannot be tried"
        );
        let mut emit = events.emit(2);
        assert!(poll_once(&mut emit).await.is_pending());
        assert_eq!(a.next().await, Some(2));
        assert!(
            poll_once(&mut emit).await.is_pending(),
            "b has not taken it"
        );
        assert_eq!(b.next().await, Some(2));
        assert!(poll_once(&mut emit).await.is_ready());
        assert!(poll_once(&mut a.next()).await.is_pending(), "nothing else");
        // A subscriber gone lets the waiting emitter go.
        let mut emit = events.emit(3);
        assert!(poll_once(&mut emit).await.is_pending());
        assert_eq!(a.next().await, Some(3));
        drop(b);
        assert!(poll_once(&mut emit).await.is_ready());
    });
}

#[test]
fn drop_oldest_keeps_the_newest_for_a_slow_subscriber() {
    block_on(async {
        let events = flow(0, 2, BufferOverflow::DropOldest);
        let mut slow = events.subscribe();
        for v in 1..=5 {
            assert!(events.try_emit(v), "drop oldest never refuses");
        }
        assert_eq!(slow.next().await, Some(4));
        assert_eq!(slow.next().await, Some(5));
        assert!(poll_once(&mut slow.next()).await.is_pending());
    });
}

#[test]
fn drop_latest_keeps_the_oldest_for_a_slow_subscriber() {
    block_on(async {
        let events = flow(0, 2, BufferOverflow::DropLatest);
        let mut slow = events.subscribe();
        for v in 1..=5 {
            assert!(events.try_emit(v));
        }
        assert_eq!(slow.next().await, Some(1));
        assert_eq!(slow.next().await, Some(2));
        assert!(poll_once(&mut slow.next()).await.is_pending());
        assert!(events.try_emit(6), "room again");
        assert_eq!(slow.next().await, Some(6));
    });
}

#[test]
fn replay_one_extra_two_suspends_emitters_and_resumes_them_in_order() {
    block_on(async {
        let events = flow(1, 2, BufferOverflow::Suspend);
        let mut slow = events.subscribe();
        for v in 1..=3 {
            events.emit(v).await; // the buffer takes three
        }
        assert!(!events.try_emit(99), "full: try_emit refuses");
        let mut fourth = events.emit(4);
        let mut fifth = events.emit(5);
        assert!(poll_once(&mut fourth).await.is_pending());
        assert!(poll_once(&mut fifth).await.is_pending());
        assert_eq!(slow.next().await, Some(1));
        assert!(
            poll_once(&mut fifth).await.is_pending(),
            "FIFO: the fourth goes first"
        );
        assert!(poll_once(&mut fourth).await.is_ready());
        assert_eq!(slow.next().await, Some(2));
        assert!(poll_once(&mut fifth).await.is_ready());
        let rest: Vec<u32> = (&mut slow).take(3).collect().await;
        assert_eq!(rest, [3, 4, 5]);
        assert_eq!(events.replay_cache(), [5]);
    });
}

#[test]
fn a_cancelled_waiting_emitter_takes_its_value_back() {
    block_on(async {
        let events = flow(0, 1, BufferOverflow::Suspend);
        let mut slow = events.subscribe();
        events.emit(1).await;
        let mut second = events.emit(2);
        let mut third = events.emit(3);
        assert!(poll_once(&mut second).await.is_pending());
        assert!(poll_once(&mut third).await.is_pending());
        drop(second); // a `select!` lost, a timeout fired
        let seen: Vec<u32> = (&mut slow).take(2).collect().await;
        assert_eq!(seen, [1, 3]);
        assert!(poll_once(&mut third).await.is_ready());
    });
}

#[test]
fn a_dropped_slowest_subscriber_releases_the_emitters() {
    block_on(async {
        let events = flow(0, 1, BufferOverflow::Suspend);
        let mut fast = events.subscribe();
        let slowest = events.subscribe();
        events.emit(1).await;
        assert_eq!(fast.next().await, Some(1));
        let mut second = events.emit(2);
        assert!(
            poll_once(&mut second).await.is_pending(),
            "the one slot holds 1, which the slowest has not taken"
        );
        drop(slowest);
        assert!(poll_once(&mut second).await.is_ready());
        assert_eq!(fast.next().await, Some(2));
    });
}

#[test]
fn drop_policies_need_a_buffer() {
    let err = MutableSharedFlow::<u32>::with_config(0, 0, BufferOverflow::DropOldest).unwrap_err();
    assert_eq!(
        err.to_string(),
        "BufferOverflow::DropOldest needs a buffer to drop from: give a replay or an extra buffer \
         capacity above 0, or use BufferOverflow::Suspend"
    );
    assert!(MutableSharedFlow::<u32>::with_config(usize::MAX, 1, BufferOverflow::Suspend).is_err());
    assert!(MutableSharedFlow::<u32>::with_config(0, 1, BufferOverflow::DropLatest).is_ok());
}

#[test]
fn subscribers_count_from_subscribe_to_drop() {
    block_on(async {
        let events = flow(0, 4, BufferOverflow::Suspend);
        let count = events.subscription_count();
        let mut counts = count.subscribe();
        assert_eq!(counts.next().await, Some(0));
        let a = events.subscribe();
        drop(a);
        assert_eq!(counts.next().await, Some(1));
        assert_eq!(counts.next().await, Some(0));
        // Ends once every handle is gone, after what it had not taken.
        let mut last = events.subscribe();
        events.emit(7).await;
        drop(events);
        assert_eq!(last.next().await, Some(7));
        assert_eq!(last.next().await, None);
    });
}

/// 8 emitters and 8 subscribers on 2 threads, 1,000,000 values under `Suspend`: every
/// subscriber sees every value, in order per emitter.
#[test]
fn every_subscriber_sees_every_value_in_order_per_emitter() {
    const EMITTERS: u64 = 8;
    const PER_EMITTER: u64 = 125_000;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let events =
            MutableSharedFlow::<(u64, u64)>::with_config(0, 64, BufferOverflow::Suspend).unwrap();
        let subscribers: Vec<_> = (0..8)
            .map(|_| {
                let mut subscription = events.subscribe();
                tokio::spawn(async move {
                    let mut next = [0u64; EMITTERS as usize];
                    let mut total = 0;
                    while total < EMITTERS * PER_EMITTER {
                        let (emitter, value) = subscription.next().await.unwrap();
                        assert_eq!(value, next[emitter as usize], "in order per emitter");
                        next[emitter as usize] += 1;
                        total += 1;
                    }
                    total
                })
            })
            .collect();
        let emitters: Vec<_> = (0..EMITTERS)
            .map(|emitter| {
                let events = events.clone();
                tokio::spawn(async move {
                    for value in 0..PER_EMITTER {
                        events.emit((emitter, value)).await;
                    }
                })
            })
            .collect();
        for emitter in emitters {
            tokio::time::timeout(LIMIT * 6, emitter)
                .await
                .unwrap()
                .unwrap();
        }
        for subscriber in subscribers {
            let total = tokio::time::timeout(LIMIT, subscriber)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(total, EMITTERS * PER_EMITTER);
        }
    });
}

/// Found by a fuzzer: at a rendezvous, a subscriber that took the head emitter's value is sent
/// back for the next one when that emitter is cancelled, and must be woken for it.
#[test]
fn a_cancelled_rendezvous_emitter_wakes_the_subscribers_that_took_its_value() {
    block_on(async {
        let events = MutableSharedFlow::<u32>::new();
        let mut a = events.subscribe();
        let mut b = events.subscribe();
        let mut first = events.emit(0);
        assert!(poll_once(&mut first).await.is_pending());
        assert_eq!(a.next().await, Some(0));
        let mut second = events.emit(1);
        assert!(
            poll_once(&mut second).await.is_pending(),
            "queued behind the first"
        );
        // `a` waits in a task of its own: only a wake-up brings it back.
        let a_task = tokio::spawn(async move { a.next().await });
        for _ in 0..3 {
            tokio::task::yield_now().await; // `a` runs and parks: it took 0 already
        }
        assert!(!a_task.is_finished());
        drop(first); // cancelled: b never took 0
        assert_eq!(b.next().await, Some(1));
        let got = tokio::time::timeout(LIMIT, a_task).await;
        assert_eq!(got.expect("a is woken for 1").unwrap(), Some(1));
        assert!(poll_once(&mut second).await.is_ready());
    });
}

/// A subscriber ahead of the slowest takes several values per lock: nobody can tell, not the
/// emitters (still held back by the slowest) nor the overflow rule.
#[test]
fn a_subscriber_ahead_of_the_slowest_sees_every_value_in_order_and_holds_nobody_back() {
    block_on(async {
        let events = flow(0, 4, BufferOverflow::Suspend);
        let mut slow = events.subscribe();
        let mut fast = events.subscribe();
        for v in 1..=4 {
            events.emit(v).await;
        }
        assert_eq!(slow.next().await, Some(1)); // now `fast` is behind: the slowest
        assert_eq!(fast.next().await, Some(1));
        assert_eq!(fast.next().await, Some(2)); // ahead of `slow`: takes 2, 3, 4 at once
        let mut fifth = events.emit(5);
        assert!(poll_once(&mut fifth).await.is_ready(), "room: slow took 1");
        let mut sixth = events.emit(6);
        assert!(
            poll_once(&mut sixth).await.is_pending(),
            "full for slow (2..=5): fast's take-ahead freed nothing"
        );
        let rest: Vec<u32> = (&mut fast).take(3).collect().await;
        assert_eq!(rest, [3, 4, 5]);
        assert!(
            poll_once(&mut sixth).await.is_pending(),
            "still held back by slow"
        );
        assert_eq!(slow.next().await, Some(2));
        assert!(poll_once(&mut sixth).await.is_ready());
        let rest: Vec<u32> = (&mut slow).take(4).collect().await;
        assert_eq!(rest, [3, 4, 5, 6]);
        assert_eq!(fast.next().await, Some(6));
    });
}

/// Values taken ahead still count as not taken for the flow: a subscriber that becomes the
/// slowest (the slower one left) holds emitters back exactly as if it took one at a time.
#[test]
fn values_taken_ahead_hold_emitters_back_until_delivered() {
    block_on(async {
        let events = flow(0, 4, BufferOverflow::Suspend);
        let slow = events.subscribe();
        let mut fast = events.subscribe();
        for v in 1..=4 {
            events.emit(v).await;
        }
        assert_eq!(fast.next().await, Some(1));
        assert_eq!(fast.next().await, Some(2)); // ahead of `slow`: takes 3 and 4 with it
        drop(slow); // now `fast` is the slowest, having delivered 1 and 2
        for v in 5..=6 {
            let mut emit = events.emit(v);
            assert!(
                poll_once(&mut emit).await.is_ready(),
                "{v} fits beside 3 and 4"
            );
        }
        let mut seventh = events.emit(7);
        assert!(
            poll_once(&mut seventh).await.is_pending(),
            "full: 3, 4, 5, 6 are not delivered yet"
        );
        assert_eq!(fast.next().await, Some(3));
        assert_eq!(fast.next().await, Some(4));
        assert_eq!(fast.next().await, Some(5));
        assert!(poll_once(&mut seventh).await.is_ready());
        let rest: Vec<u32> = (&mut fast).take(2).collect().await;
        assert_eq!(rest, [6, 7]);
    });
}
