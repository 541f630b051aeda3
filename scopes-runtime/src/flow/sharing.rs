//! Sharing in scopes: a stream collected by a coroutine that is a child of a scope.
//!
//! - [`launch_in`]: collect a stream as a child coroutine (kotlinx's `launchIn`).
//! - [`state_in`]: keep a [`StateFlow`] with the latest item of an upstream, collected by a
//!   *sharing coroutine*, a child of the scope, as [`SharingStarted`] says (kotlinx's
//!   `stateIn`).
//!
//! The sharing coroutine is an ordinary child: the scope's cancellation stops it, and an
//! upstream failure is its failure (it fails a regular scope, and reaches the handler under a
//! supervisor); subscribers just see no new values. Dropping the returned flow does not stop
//! the sharing; only the scope does, as in kotlinx.
//!
//! A Rust `Stream` is collected once, where kotlinx's cold `Flow` is collected anew at each
//! start, so `state_in` takes a function that makes the upstream, called at each (re)start.
//!
//! # `WhileSubscribed`, a small state machine over the subscriber count
//!
//! ```text
//!            count > 0                 count = 0 for stop_timeout
//!   Idle ---------------> Running -----------------------------> Stopped
//!    ^                       ^  |  count > 0 within stop_timeout     |  count = 0 for
//!    |                       |  +---------- (keeps running)          |  replay_expiration:
//!    |                       +--------------------- count > 0 -------+  value := initial
//!    +------------------------------------------------------------------+
//! ```
//!
//! The timeouts are `with_timeout` on the coroutine's dispatcher's clock, so a `scopes::test`
//! test steps them in virtual time.

use std::time::Duration;

use futures::{Stream, StreamExt};

use super::state::{MutableStateFlow, StateFlow};
use crate::builders::with_timeout_or_none;
use crate::coroutine::{Coroutine, CoroutineStart};
use crate::scope::{CoroutineScope, current_scope};

/// When a sharing coroutine starts and stops its upstream (kotlinx's `SharingStarted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SharingStarted {
    /// At once, and never stops (until the scope does).
    Eagerly,
    /// With the first subscriber, and never stops (until the scope does).
    Lazily,
    /// While there are subscribers: it starts with the first, and stops `stop_timeout` after
    /// the last one left (a subscriber back within it keeps it running); `replay_expiration`
    /// after stopping, the value goes back to the initial one (`Duration::MAX`: never).
    WhileSubscribed {
        /// How long to keep the upstream running after the last subscriber left.
        stop_timeout: Duration,
        /// How long after stopping the last value is kept before the initial one returns.
        replay_expiration: Duration,
    },
}

impl SharingStarted {
    /// `WhileSubscribed` that stops at once and keeps the last value (kotlinx's
    /// `WhileSubscribed()`).
    pub fn while_subscribed() -> SharingStarted {
        SharingStarted::WhileSubscribed {
            stop_timeout: Duration::ZERO,
            replay_expiration: Duration::MAX,
        }
    }
}

/// Collects `stream` in a coroutine launched in `scope` (its items are dropped: put the work
/// in the stream, as kotlinx's `onEach { .. }.launchIn(scope)`).
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::{CoroutineScope, Scope, flow::{MutableStateFlow, launch_in}};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let clicks = MutableStateFlow::new(0);
/// let logger = launch_in(clicks.subscribe().map(|n| println!("clicks: {n}")), &scope);
/// clicks.set_value(1);
/// logger.cancel_and_join().await; // or drop the scope
/// # }
/// ```
pub fn launch_in<S>(stream: S, scope: &impl CoroutineScope) -> Coroutine
where
    S: Stream + Send + 'static,
{
    scope.launch(stream.for_each(|_| async {}))
}

/// A [`StateFlow`] that holds `initial`, then the latest item of the upstream that `upstream`
/// makes, collected by a child coroutine of `scope` as `started` says. See the
/// [module docs](self) for failures and for `WhileSubscribed`.
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::flow::{MutableStateFlow, SharingStarted, state_in};
/// use scopes_runtime::test::run_test;
///
/// run_test(|scope| async move {
///     let source = MutableStateFlow::new(1);
///     let doubled = {
///         let source = source.clone();
///         let upstream = move || source.subscribe().map(|n| n * 2);
///         // A scope that outlives the test body (a view model's, say).
///         state_in(upstream, &scope.background_scope(), SharingStarted::Eagerly, 0)
///     };
///     scope.run_current().await;
///     assert_eq!(doubled.value(), 2);
///     source.set_value(5);
///     scope.run_current().await;
///     assert_eq!(doubled.value(), 10);
/// });
/// ```
pub fn state_in<F, S, T>(
    upstream: F,
    scope: &impl CoroutineScope,
    started: SharingStarted,
    initial: T,
) -> StateFlow<T>
where
    F: FnMut() -> S + Send + 'static,
    S: Stream<Item = T> + Send + 'static,
    T: Clone + PartialEq + Send + Sync + 'static,
{
    let state = MutableStateFlow::new(initial.clone());
    let flow = state.as_state_flow();
    let sharing = share(upstream, state, started, initial);
    match started {
        SharingStarted::Eagerly => drop(scope.launch(sharing)),
        // Undispatched: the sharing coroutine counts subscribers from now on.
        _ => drop(scope.launch_with((), CoroutineStart::Undispatched, sharing)),
    }
    flow
}

/// The sharing coroutine's body.
async fn share<F, S, T>(
    mut upstream: F,
    state: MutableStateFlow<T>,
    started: SharingStarted,
    initial: T,
) where
    F: FnMut() -> S + Send + 'static,
    S: Stream<Item = T> + Send + 'static,
    T: Clone + PartialEq + Send + Sync + 'static,
{
    let collect = |stream: S, state: MutableStateFlow<T>| {
        stream.for_each(move |item| {
            state.set_value(item);
            async {}
        })
    };
    let (stop_timeout, replay_expiration) = match started {
        SharingStarted::Eagerly => return collect(upstream(), state).await,
        SharingStarted::Lazily => {
            let mut counts = state.subscription_count().subscribe();
            while let Some(count) = counts.next().await {
                if count > 0 {
                    drop(counts);
                    return collect(upstream(), state).await;
                }
            }
            return;
        }
        SharingStarted::WhileSubscribed {
            stop_timeout,
            replay_expiration,
        } => (stop_timeout, replay_expiration),
    };
    let counts = state.subscription_count();
    let mut counts = counts.subscribe();
    let mut count = 0;
    loop {
        // Idle or stopped: wait for a subscriber.
        while count == 0 {
            match counts.next().await {
                Some(next) => count = next,
                None => return,
            }
        }
        // Running: the upstream as a child of this coroutine, so it ends with it.
        let running = current_scope().launch(collect(upstream(), state.clone()));
        loop {
            while count > 0 {
                match counts.next().await {
                    Some(next) => count = next,
                    None => return,
                }
            }
            // The last subscriber left: keep running for `stop_timeout`.
            let back = with_timeout_or_none(stop_timeout, async {
                while let Some(next) = counts.next().await {
                    if next > 0 {
                        return next;
                    }
                }
                0
            });
            match back.await {
                Ok(Some(next)) if next > 0 => count = next,
                _ => break,
            }
        }
        running.cancel_and_join().await;
        // Stopped: the value expires `replay_expiration` later, unless a subscriber comes.
        if replay_expiration != Duration::MAX {
            let back = with_timeout_or_none(replay_expiration, async {
                while let Some(next) = counts.next().await {
                    if next > 0 {
                        return next;
                    }
                }
                0
            });
            match back.await {
                Ok(Some(next)) if next > 0 => count = next,
                _ => state.set_value(initial.clone()),
            }
        }
    }
}
