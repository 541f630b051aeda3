//! `launch_in` and `state_in`: sharing coroutines are children of their scope, and
//! `SharingStarted` starts and stops the upstream with the subscribers (virtual time).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use futures::{Stream, StreamExt};
use scopes::flow::{MutableStateFlow, SharingStarted, launch_in, state_in};
use scopes::prelude::*;
use scopes::test::run_test;

/// Counts the upstreams made and the upstreams dropped (stopped).
#[derive(Clone, Default)]
struct Upstreams {
    made: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

impl Upstreams {
    /// An upstream that follows `source` (times ten) and counts its own making and dropping.
    fn of(
        &self,
        source: &MutableStateFlow<u32>,
    ) -> impl FnMut() -> std::pin::Pin<Box<dyn Stream<Item = u32> + Send>> + Send + 'static {
        let (made, dropped, source) = (self.made.clone(), self.dropped.clone(), source.clone());
        move || {
            made.fetch_add(1, SeqCst);
            let guard = Dropped(dropped.clone());
            let subscription = source.subscribe();
            Box::pin(futures::stream::unfold(
                (subscription, guard),
                |(mut subscription, guard)| async move {
                    let v = subscription.next().await?;
                    Some((v * 10, (subscription, guard)))
                },
            ))
        }
    }

    fn made(&self) -> usize {
        self.made.load(SeqCst)
    }

    fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn eagerly_collects_at_once_and_stops_with_the_scope() {
    run_test(|scope| async move {
        let source = MutableStateFlow::new(1);
        let upstreams = Upstreams::default();
        let owner = Scope::new(Job::new());
        let state = state_in(upstreams.of(&source), &owner, SharingStarted::Eagerly, 0);
        assert_eq!(upstreams.made(), 0, "eagerly is a dispatched start");
        scope.run_current().await;
        assert_eq!((upstreams.made(), state.value()), (1, 10));
        source.set_value(4);
        scope.run_current().await;
        assert_eq!(state.value(), 40);
        drop(owner); // the scope's end stops the sharing coroutine
        scope.run_current().await;
        assert_eq!(upstreams.dropped(), 1);
        assert_eq!(state.value(), 40, "the last value stays");
    });
}

#[test]
fn lazily_starts_with_the_first_subscriber_and_never_stops() {
    run_test(|scope| async move {
        let source = MutableStateFlow::new(1);
        let upstreams = Upstreams::default();
        let background = scope.background_scope();
        let state = state_in(
            upstreams.of(&source),
            &background,
            SharingStarted::Lazily,
            0,
        );
        scope.advance_time_by(secs(60)).await;
        assert_eq!(
            (upstreams.made(), state.value()),
            (0, 0),
            "nobody subscribed yet"
        );
        let subscriber = state.subscribe();
        scope.run_current().await;
        assert_eq!((upstreams.made(), state.value()), (1, 10));
        drop(subscriber);
        scope.advance_time_by(secs(3600)).await;
        assert_eq!(upstreams.dropped(), 0, "lazily never stops");
        source.set_value(2);
        scope.run_current().await;
        assert_eq!(state.value(), 20);
    });
}

#[test]
fn while_subscribed_starts_with_a_subscriber_survives_a_return_within_the_timeout_and_stops_after()
{
    run_test(|scope| async move {
        let source = MutableStateFlow::new(1);
        let upstreams = Upstreams::default();
        let started = SharingStarted::WhileSubscribed {
            stop_timeout: secs(5),
            replay_expiration: Duration::MAX,
        };
        let state = state_in(upstreams.of(&source), &scope.background_scope(), started, 0);
        scope.run_current().await;
        assert_eq!(upstreams.made(), 0);

        let first = state.subscribe();
        scope.run_current().await;
        assert_eq!((upstreams.made(), state.value()), (1, 10));

        // Gone for 3 s, back within the 5 s timeout: the same upstream runs on.
        drop(first);
        scope.advance_time_by(secs(3)).await;
        let second = state.subscribe();
        scope.advance_time_by(secs(10)).await;
        assert_eq!((upstreams.made(), upstreams.dropped()), (1, 0));

        // Gone for good: stopped 5 s later, not before.
        drop(second);
        scope.advance_time_by(secs(4)).await;
        assert_eq!(upstreams.dropped(), 0, "still within the timeout");
        scope.advance_time_by(secs(1)).await;
        assert_eq!(upstreams.dropped(), 1, "stopped at the timeout");
        assert_eq!(
            state.value(),
            10,
            "the value is kept (no replay expiration)"
        );

        // A new subscriber starts a new upstream.
        let _third = state.subscribe();
        source.set_value(3);
        scope.run_current().await;
        assert_eq!((upstreams.made(), state.value()), (2, 30));
    });
}

#[test]
fn while_subscribed_resets_to_the_initial_value_after_the_replay_expiration() {
    run_test(|scope| async move {
        let source = MutableStateFlow::new(7);
        let upstreams = Upstreams::default();
        let started = SharingStarted::WhileSubscribed {
            stop_timeout: secs(1),
            replay_expiration: secs(10),
        };
        let state = state_in(upstreams.of(&source), &scope.background_scope(), started, 0);
        let subscriber = state.subscribe();
        scope.run_current().await;
        assert_eq!(state.value(), 70);
        drop(subscriber);
        scope.advance_time_by(secs(1)).await;
        assert_eq!(
            (upstreams.dropped(), state.value()),
            (1, 70),
            "stopped, value kept"
        );
        scope.advance_time_by(secs(9)).await;
        assert_eq!(state.value(), 70);
        scope.advance_time_by(secs(1)).await;
        assert_eq!(state.value(), 0, "expired: the initial value again");
    });
}

#[test]
fn an_upstream_that_panics_fails_the_sharing_coroutine_and_its_scope() {
    run_test(|scope| async move {
        let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = failures.clone();
        let handler = CoroutineExceptionHandler::new(move |_, error| {
            seen.lock()
                .unwrap()
                .push(error.panic_message().unwrap_or_default().to_owned());
        });
        let owner = Scope::new(Job::new() + handler);
        let source = MutableStateFlow::new(1u32);
        let upstream = {
            let source = source.clone();
            move || {
                source.subscribe().map(|v| {
                    assert!(v < 3, "upstream broke at {v}");
                    v
                })
            }
        };
        let state = state_in(upstream, &owner, SharingStarted::Eagerly, 0);
        scope.run_current().await;
        assert_eq!(state.value(), 1);
        source.set_value(3);
        scope.run_current().await;
        assert!(
            owner.job().is_cancelled(),
            "a regular scope fails with its child"
        );
        assert_eq!(state.value(), 1, "subscribers keep the last value");
        assert_eq!(failures.lock().unwrap().len(), 1);
        assert!(failures.lock().unwrap()[0].contains("upstream broke at 3"));
    });
}

#[test]
fn launch_in_collects_as_a_child_of_the_scope() {
    run_test(|scope| async move {
        let clicks = MutableStateFlow::new(0);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let owner = Scope::new(Job::new());
        let collector = launch_in(
            clicks.subscribe().map(move |n| log.lock().unwrap().push(n)),
            &owner,
        );
        scope.run_current().await;
        clicks.set_value(1);
        scope.run_current().await;
        clicks.set_value(2);
        scope.run_current().await;
        assert_eq!(*seen.lock().unwrap(), [0, 1, 2]);
        assert_eq!(owner.job().children().len(), 1);
        drop(owner);
        scope.run_current().await;
        assert!(collector.is_cancelled());
    });
}

#[test]
fn share_in_while_subscribed_replays_to_late_subscribers_and_expires() {
    use scopes::flow::share_in;
    run_test(|scope| async move {
        let source = MutableStateFlow::new(1);
        let upstreams = Upstreams::default();
        let started = SharingStarted::WhileSubscribed {
            stop_timeout: secs(2),
            replay_expiration: secs(10),
        };
        let shared = share_in(upstreams.of(&source), &scope.background_scope(), started, 1);
        scope.run_current().await;
        assert_eq!(upstreams.made(), 0);
        let mut first = shared.subscribe();
        assert_eq!(first.next().await, Some(10));
        source.set_value(2);
        assert_eq!(first.next().await, Some(20));
        // A late subscriber gets the replay first.
        let mut late = shared.subscribe();
        assert_eq!(late.next().await, Some(20));
        drop((first, late));
        scope.advance_time_by(secs(2)).await;
        assert_eq!(upstreams.dropped(), 1, "stopped at the timeout");
        assert_eq!(shared.replay_cache(), [20], "kept until the replay expires");
        scope.advance_time_by(secs(10)).await;
        assert!(shared.replay_cache().is_empty(), "expired");
        let mut again = shared.subscribe();
        assert_eq!(
            again.next().await,
            Some(20),
            "a new upstream, from the source's value"
        );
        assert_eq!(upstreams.made(), 2);
    });
}

#[test]
fn share_in_waits_for_a_slow_subscriber_instead_of_dropping() {
    use scopes::flow::share_in;
    run_test(|scope| async move {
        let upstream = || futures::stream::iter(0..200u32);
        let shared = share_in(
            upstream,
            &scope.background_scope(),
            SharingStarted::Lazily,
            0,
        );
        let mut slow = shared.subscribe();
        scope.run_current().await;
        // 64 buffered; the sharing coroutine waits for the rest.
        let all: Vec<u32> = (&mut slow).take(200).collect().await;
        assert_eq!(all, (0..200).collect::<Vec<_>>(), "nothing lost");
    });
}
