//! The flow tables: `MutableStateFlow` against `tokio::sync::watch`, and `MutableSharedFlow`
//! against `tokio::sync::broadcast` and `async-broadcast`, and `produce` against a spawned task
//! sending into `tokio::sync::mpsc`. Every producer and consumer is a
//! tokio task of its own on the same 2-worker runtime (so the producer and a consumer can run
//! in parallel); the clock starts once the consumers have subscribed and stops when the last
//! one has seen the last value.
//!
//! There is no kotlinx column for the state and shared flows: Debian's kotlinx.coroutines
//! (1.0.1, what `bench/kotlin` runs) predates `StateFlow` and `SharedFlow` (1.4). The `produce`
//! table has its kotlinx rows in `bench/kotlin/Workloads.kt` (kotlinx 1.0.1 has `produce`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use scopes::CoroutineError;
use scopes::flow::{BufferOverflow, Capacity, MutableSharedFlow, MutableStateFlow, produce};
use scopes::prelude::*;
use tokio::runtime::Runtime;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::{Plan, Row, print_table, timed_part};

/// The extra buffer of the `Suspend` shared flow, and the capacity of the `async-broadcast`
/// channel that waits like it.
const BUFFER: usize = 64;

/// One setter sets `plan.sets` distinct values as fast as it can while one subscriber collects
/// until it has seen the last one; per value set. The setter is a thread of tokio's blocking
/// pool: a worker that never yields would keep the subscriber it wakes in its own LIFO slot
/// (which no other worker steals) until it is done, and the subscriber would see two values.
/// The subscriber is parked when the clock starts and may skip values (conflation): how many it
/// saw is printed under the table.
pub(crate) fn state_collect(rt: &Runtime, plan: Plan) {
    let n = plan.sets;
    let watch_seen = Arc::new(AtomicU64::new(0));
    let flow_seen = Arc::new(AtomicU64::new(0));
    let watch_row = {
        let seen = watch_seen.clone();
        timed_part(rt, n, move || {
            let seen = seen.clone();
            async move {
                let (tx, mut rx) = watch::channel(0u64);
                let (ready, parked) = oneshot::channel();
                let collector = tokio::spawn(async move {
                    let mut count = 0;
                    ready.send(()).unwrap();
                    loop {
                        rx.changed().await.expect("the sender lives");
                        let v = *rx.borrow_and_update();
                        count += 1;
                        if v == n as u64 {
                            return count;
                        }
                    }
                });
                parked.await.unwrap();
                let start = Instant::now();
                let setter = tokio::task::spawn_blocking(move || {
                    for i in 1..=n as u64 {
                        tx.send_replace(i);
                    }
                    tx
                });
                let count = collector.await.unwrap();
                let elapsed = start.elapsed();
                drop(setter.await.unwrap());
                seen.store(count, Ordering::Relaxed);
                elapsed
            }
        })
    };
    let flow_row = {
        let seen = flow_seen.clone();
        timed_part(rt, n, move || {
            let seen = seen.clone();
            async move {
                let flow = MutableStateFlow::new(0u64);
                let mut values = flow.subscribe();
                let (ready, parked) = oneshot::channel();
                let collector = tokio::spawn(async move {
                    let mut count = 0;
                    // The initial value first (`watch` does not yield it).
                    assert_eq!(values.next().await, Some(0));
                    ready.send(()).unwrap();
                    while let Some(v) = values.next().await {
                        count += 1;
                        if v == n as u64 {
                            return count;
                        }
                    }
                    panic!("the flow ended early");
                });
                parked.await.unwrap();
                let start = Instant::now();
                let setter = tokio::task::spawn_blocking(move || {
                    for i in 1..=n as u64 {
                        flow.set_value(i);
                    }
                    flow
                });
                let count = collector.await.unwrap();
                let elapsed = start.elapsed();
                drop(setter.await.unwrap());
                seen.store(count, Ordering::Relaxed);
                elapsed
            }
        })
    };
    print_table(
        plan,
        &format!(
            "flow: one setter thread sets {n} values while one subscriber collects (conflated)"
        ),
        "`MutableStateFlow` at most 1.2x `watch`",
        vec![
            Row::new(
                "tokio: `watch` `send_replace` / `changed` + `borrow_and_update`",
                "baseline",
                watch_row,
            ),
            Row::new(
                "scopes: `MutableStateFlow::set_value` / `subscribe()` stream",
                "",
                flow_row,
            ),
        ],
    );
    println!(
        "\nvalues the subscriber saw in the last round (of {n}): watch {}, MutableStateFlow {}",
        watch_seen.load(Ordering::Relaxed),
        flow_seen.load(Ordering::Relaxed)
    );
}

/// Ping-pong over two state holders: the pinger sets `i` on one, then waits until the ponger,
/// which copies every value it sees onto the other, has set `i` back; per round trip.
pub(crate) fn state_ping_pong(rt: &Runtime, plan: Plan) {
    let n = plan.round_trips as u64;
    let watch_row = timed_part(rt, plan.round_trips, move || async move {
        let (ping, mut ping_rx) = watch::channel(0u64);
        let (pong, mut pong_rx) = watch::channel(0u64);
        let ponger = tokio::spawn(async move {
            loop {
                ping_rx.changed().await.expect("the pinger lives");
                let v = *ping_rx.borrow_and_update();
                pong.send_replace(v);
                if v == n {
                    return;
                }
            }
        });
        let start = Instant::now();
        let pinger = tokio::spawn(async move {
            for i in 1..=n {
                ping.send_replace(i);
                while *pong_rx.borrow_and_update() != i {
                    pong_rx.changed().await.expect("the ponger lives");
                }
            }
            ping
        });
        let ping = pinger.await.unwrap();
        let elapsed = start.elapsed();
        ponger.await.unwrap();
        drop(ping);
        elapsed
    });
    let flow_row = timed_part(rt, plan.round_trips, move || async move {
        let (ping, pong) = (MutableStateFlow::new(0u64), MutableStateFlow::new(0u64));
        let (mut pings, mut pongs) = (ping.subscribe(), pong.subscribe());
        let ponger = tokio::spawn(async move {
            while let Some(v) = pings.next().await {
                pong.set_value(v);
                if v == n {
                    return;
                }
            }
            panic!("the ping flow ended early");
        });
        let start = Instant::now();
        let pinger = tokio::spawn(async move {
            for i in 1..=n {
                ping.set_value(i);
                while pongs.next().await.expect("the ponger lives") != i {}
            }
            ping
        });
        let ping = pinger.await.unwrap();
        let elapsed = start.elapsed();
        ponger.await.unwrap();
        drop(ping);
        elapsed
    });
    print_table(
        plan,
        &format!(
            "flow: ping-pong, {n} round trips over two state holders (set, wait for the echo)"
        ),
        "`MutableStateFlow` at most 1.2x `watch`",
        vec![
            Row::new("tokio: two `watch` channels", "baseline", watch_row),
            Row::new("scopes: two `MutableStateFlow`s", "", flow_row),
        ],
    );
}

/// Runs one fan-out round: `subscribe` makes each of `k` consumers (spawned before the clock
/// starts), `emit` sends `0..n` from a task of its own; returns the time until every consumer
/// has taken all `n` values, in order.
async fn fan_out<C, E>(k: usize, n: usize, consumers: Vec<C>, emit: E) -> Duration
where
    C: Future<Output = u64> + Send + 'static,
    E: Future<Output = ()> + Send + 'static,
{
    assert_eq!(consumers.len(), k);
    let consumers: Vec<_> = consumers.into_iter().map(tokio::spawn).collect();
    tokio::task::yield_now().await;
    let start = Instant::now();
    let emitter = tokio::spawn(emit);
    let expected = (n as u64) * (n as u64 - 1) / 2;
    for c in consumers {
        assert_eq!(c.await.unwrap(), expected, "every value, once each");
    }
    let elapsed = start.elapsed();
    emitter.await.unwrap();
    elapsed
}

/// The sum of the `n` values a stream yields (it must yield them in order).
async fn take_in_order(mut values: impl futures::Stream<Item = u64> + Unpin, n: usize) -> u64 {
    let mut sum = 0;
    for i in 0..n as u64 {
        let v = values.next().await.expect("every value");
        assert_eq!(v, i);
        sum += v;
    }
    sum
}

/// One emitter, `k` subscribers, `n` values each; per value delivered (`n * k` deliveries).
pub(crate) fn shared_fan_out(rt: &Runtime, plan: Plan, k: usize) {
    let n = (plan.deliveries / k).min(plan.max_values);
    let ops = n * k;
    let tokio_broadcast = timed_part(rt, ops, move || async move {
        // Room for every value: nobody lags, the sender never waits.
        let (tx, _) = broadcast::channel::<u64>(n);
        let consumers = (0..k)
            .map(|_| {
                let mut rx = tx.subscribe();
                async move {
                    let mut sum = 0;
                    for i in 0..n as u64 {
                        let v = rx.recv().await.expect("no lag, no close");
                        assert_eq!(v, i);
                        sum += v;
                    }
                    sum
                }
            })
            .collect();
        fan_out(k, n, consumers, async move {
            for i in 0..n as u64 {
                tx.send(i).expect("subscribers");
            }
        })
        .await
    });
    let async_broadcast = timed_part(rt, ops, move || async move {
        // Overflow off (the default): a full channel makes `broadcast` wait, as `Suspend`.
        let (tx, rx) = async_broadcast::broadcast::<u64>(BUFFER);
        let consumers = (0..k)
            .map(|_| take_in_order(rx.clone(), n))
            .collect::<Vec<_>>();
        drop(rx);
        fan_out(k, n, consumers, async move {
            for i in 0..n as u64 {
                tx.broadcast(i).await.expect("subscribers");
            }
        })
        .await
    });
    let flow = |extra: usize| {
        move || async move {
            let flow = MutableSharedFlow::with_config(0, extra, BufferOverflow::Suspend)
                .expect("a valid configuration");
            let consumers = (0..k)
                .map(|_| take_in_order(flow.subscribe(), n))
                .collect::<Vec<_>>();
            fan_out(k, n, consumers, async move {
                for i in 0..n as u64 {
                    flow.emit(i).await;
                }
            })
            .await
        }
    };
    let flow_suspend = timed_part(rt, ops, flow(BUFFER));
    let flow_roomy = timed_part(rt, ops, flow(n));
    print_table(
        plan,
        &format!(
            "flow: fan-out of {n} values to {k} subscriber{} ({ops} deliveries), per value delivered",
            if k == 1 { "" } else { "s" }
        ),
        "`MutableSharedFlow` at most 1.2x `broadcast` where the semantics match",
        vec![
            Row::new(
                "tokio: `broadcast`, capacity n",
                "baseline: nobody lags, the sender never waits",
                tokio_broadcast,
            ),
            Row::new(
                "scopes: `MutableSharedFlow` (0, n, Suspend)",
                "the baseline's semantics: never waits",
                flow_roomy,
            ),
            Row::new(
                "scopes: `MutableSharedFlow` (0, 64, Suspend)",
                "the emitter waits for the slowest",
                flow_suspend,
            ),
            Row::new(
                "async-broadcast: capacity 64",
                "the sender waits when full, as Suspend",
                async_broadcast,
            ),
        ],
    );
}

/// The caller's side of a `produce` round: takes the `n` values in order, then the end (no
/// `Err`: the producer returned normally); returns their sum.
async fn drain_produced(
    mut values: impl futures::Stream<Item = Result<u64, CoroutineError>> + Unpin,
    n: usize,
) -> u64 {
    let mut sum = 0;
    for i in 0..n as u64 {
        let v = values
            .next()
            .await
            .expect("every value")
            .expect("no failure");
        assert_eq!(v, i);
        sum += v;
    }
    assert!(
        values.next().await.is_none(),
        "the end after the last value"
    );
    sum
}

/// `n` values through `produce` (rendezvous and 64 slots), taken by the caller, against a
/// spawned tokio task sending into `mpsc::channel(1)` and `channel(64)`; per value. Each round
/// runs as a task of its own on the 2-worker runtime (the caller), and the producer is another
/// one, so the two can run in parallel; the clock runs from before the producer is started
/// until the caller has seen the end of the stream (or channel).
pub(crate) fn produce_values(rt: &Runtime, plan: Plan) {
    let n = plan.produced;
    let expected = (n as u64) * (n as u64 - 1) / 2;
    let mpsc = |capacity: usize| {
        move || async move {
            tokio::spawn(async move {
                let start = Instant::now();
                let (tx, mut rx) = mpsc::channel::<u64>(capacity);
                let producer = tokio::spawn(async move {
                    for i in 0..n as u64 {
                        tx.send(i).await.expect("the receiver lives");
                    }
                });
                let values = futures::stream::poll_fn(|cx| rx.poll_recv(cx).map(|v| v.map(Ok)));
                let sum = drain_produced(values, n).await;
                let elapsed = start.elapsed();
                assert_eq!(sum, expected);
                producer.await.unwrap();
                elapsed
            })
            .await
            .unwrap()
        }
    };
    let produced = |capacity: Capacity| {
        move || async move {
            tokio::spawn(async move {
                let scope = Scope::new(());
                let start = Instant::now();
                let values = produce(&scope, capacity, move |tx| async move {
                    for i in 0..n as u64 {
                        tx.send(i).await?;
                    }
                    Ok::<(), CoroutineError>(())
                });
                let sum = drain_produced(values, n).await;
                let elapsed = start.elapsed();
                assert_eq!(sum, expected);
                scope.complete_and_join().await;
                elapsed
            })
            .await
            .unwrap()
        }
    };
    let mpsc_1 = timed_part(rt, n, mpsc(1));
    let mpsc_64 = timed_part(rt, n, mpsc(BUFFER));
    let rendezvous = timed_part(rt, n, produced(Capacity::Rendezvous));
    let buffered = timed_part(rt, n, produced(Capacity::Buffered(BUFFER)));
    print_table(
        plan,
        &format!("flow: {n} values through `produce`, taken by the caller, per value"),
        "`produce` at most 1.2x tokio's `mpsc` where the semantics match (64 slots)",
        vec![
            Row::new(
                "tokio: spawned task, `mpsc::channel(64)`",
                "baseline",
                mpsc_64,
            ),
            Row::new(
                "scopes: `produce`, `Capacity::Buffered(64)`",
                "the baseline's semantics",
                buffered,
            ),
            Row::new(
                "tokio: spawned task, `mpsc::channel(1)`",
                "tokio has no rendezvous: its least capacity is 1",
                mpsc_1,
            ),
            Row::new(
                "scopes: `produce`, `Capacity::Rendezvous`",
                "each send waits until the caller took its value",
                rendezvous,
            ),
        ],
    );
}
