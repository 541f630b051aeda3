//! Sharing in scopes: a stream collected by a coroutine that is a child of a scope.
//!
//! - [`launch_in`]: collect a stream as a child coroutine (kotlinx's `launchIn`).
//! - [`state_in`]: keep a [`StateFlow`] with the latest item of an upstream, collected by a
//!   *sharing coroutine*, a child of the scope, as [`SharingStarted`] says (kotlinx's
//!   `stateIn`).
//! - [`share_in`]: the same into a [`SharedFlow`] with a replay (kotlinx's `shareIn`).
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

use std::future::Future;
use std::sync::Arc;

use super::shared::{BufferOverflow, MutableSharedFlow, SharedFlow};
use super::state::{MutableStateFlow, StateFlow, StateSubscription};
use crate::builders::with_timeout_or_none;
use crate::coroutine::{Coroutine, CoroutineStart};
use crate::scope::{CoroutineScope, current_scope};

/// When a sharing coroutine starts and stops its upstream (kotlinx's `SharingStarted`).
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use scopes_runtime::{CoroutineScope, Scope, flow::{SharingStarted, state_in}};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// // The upstream runs while someone watches, and 5 s longer (a screen rotation, say).
/// let started = SharingStarted::WhileSubscribed {
///     stop_timeout: Duration::from_secs(5),
///     replay_expiration: Duration::MAX,
/// };
/// let prices = state_in(|| futures::stream::iter([101, 102]), &scope, started, 100);
/// assert_eq!(prices.value(), 100, "nobody subscribed yet: not started");
/// let mut watch = prices.subscribe();
/// assert_eq!(watch.next().await, Some(100));
/// # scope.job().cancel();
/// # }
/// ```
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
/// [flow module docs](crate::flow#sharing-coroutines) for failures and for `WhileSubscribed`.
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
    let initial = Arc::new(initial);
    let sharing = share(upstream, StateSink { state, initial }, started);
    match started {
        SharingStarted::Eagerly => drop(scope.launch(sharing)),
        // Undispatched: the sharing coroutine counts subscribers from now on.
        _ => drop(scope.launch_with((), CoroutineStart::Undispatched, sharing)),
    }
    flow
}

/// A [`SharedFlow`] of the items of the upstream that `upstream` makes, collected by a child
/// coroutine of `scope` as `started` says, replaying the last `replay` to new subscribers
/// (kotlinx's `shareIn`: the flow buffers `64 - replay` more, at least 0, and a full buffer
/// makes the sharing coroutine wait for the slowest subscriber). `WhileSubscribed`'s replay
/// expiration empties the replay cache. See the
/// [flow module docs](crate::flow#sharing-coroutines).
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::flow::{MutableStateFlow, SharingStarted, share_in};
/// use scopes_runtime::test::run_test;
///
/// run_test(|scope| async move {
///     let source = MutableStateFlow::new(1);
///     let shared = {
///         let source = source.clone();
///         let upstream = move || source.subscribe().map(|n| n * 10);
///         share_in(upstream, &scope.background_scope(), SharingStarted::Lazily, 1)
///     };
///     let mut subscriber = shared.subscribe(); // starts the upstream
///     assert_eq!(subscriber.next().await, Some(10));
///     source.set_value(2);
///     assert_eq!(subscriber.next().await, Some(20));
///     assert_eq!(shared.replay_cache(), [20]);
/// });
/// ```
pub fn share_in<F, S, T>(
    upstream: F,
    scope: &impl CoroutineScope,
    started: SharingStarted,
    replay: usize,
) -> SharedFlow<T>
where
    F: FnMut() -> S + Send + 'static,
    S: Stream<Item = T> + Send + 'static,
    T: Clone + Send + Sync + 'static,
{
    let extra = 64usize.saturating_sub(replay);
    let flow = MutableSharedFlow::with_config(replay, extra, BufferOverflow::Suspend)
        .expect("Suspend is valid with any buffer");
    let shared = flow.as_shared_flow();
    let sharing = share(upstream, SharedSink(flow), started);
    match started {
        SharingStarted::Eagerly => drop(scope.launch(sharing)),
        _ => drop(scope.launch_with((), CoroutineStart::Undispatched, sharing)),
    }
    shared
}

/// Where a sharing coroutine puts what it collects.
trait Sink<T>: Clone + Send + Sync + 'static {
    /// The subscribers of what it feeds, counted without conflation.
    fn subscription_count(&self) -> StateFlow<usize>;
    /// Puts an item (a shared flow's emit may wait for slow subscribers).
    fn put(self, item: T) -> impl Future<Output = ()> + Send + 'static;
    /// The replay expired: what new subscribers get first goes.
    fn expire(&self);
}

/// `state_in`'s: the state flow, and the value it goes back to when the replay expires.
#[derive(Clone)]
struct StateSink<T> {
    state: MutableStateFlow<T>,
    initial: Arc<T>,
}

impl<T: Clone + PartialEq + Send + Sync + 'static> Sink<T> for StateSink<T> {
    fn subscription_count(&self) -> StateFlow<usize> {
        self.state.subscription_count()
    }

    fn put(self, item: T) -> impl Future<Output = ()> + Send + 'static {
        self.state.set_value(item);
        std::future::ready(())
    }

    fn expire(&self) {
        self.state.set_value(T::clone(&self.initial));
    }
}

/// `share_in`'s: the shared flow.
#[derive(Clone)]
struct SharedSink<T>(MutableSharedFlow<T>);

impl<T: Clone + Send + Sync + 'static> Sink<T> for SharedSink<T> {
    fn subscription_count(&self) -> StateFlow<usize> {
        self.0.subscription_count()
    }

    fn put(self, item: T) -> impl Future<Output = ()> + Send + 'static {
        self.0.emit(item)
    }

    fn expire(&self) {
        self.0.reset_replay_cache();
    }
}

/// The sharing coroutine's body.
async fn share<F, S, T, K>(mut upstream: F, sink: K, started: SharingStarted)
where
    F: FnMut() -> S + Send + 'static,
    S: Stream<Item = T> + Send + 'static,
    T: Send + 'static,
    K: Sink<T>,
{
    let collect = |stream: S, sink: K| stream.for_each(move |item| sink.clone().put(item));
    let state = sink.clone();
    let mut counts = state.subscription_count().subscribe();
    let (stop_timeout, replay_expiration) = match started {
        SharingStarted::Eagerly => return collect(upstream(), sink).await,
        SharingStarted::Lazily => {
            if next_count(&mut counts, |n| n > 0).await.is_some() {
                drop(counts);
                collect(upstream(), sink).await;
            }
            return;
        }
        SharingStarted::WhileSubscribed {
            stop_timeout,
            replay_expiration,
        } => (stop_timeout, replay_expiration),
    };
    // Set when a subscriber came while stopped: no need to wait for one.
    let mut subscribed = false;
    loop {
        // Idle or stopped: wait for a subscriber.
        if !subscribed && next_count(&mut counts, |n| n > 0).await.is_none() {
            return;
        }
        // Running: the upstream as a child of this coroutine, so it ends with it.
        let running = current_scope().launch(collect(upstream(), state.clone()));
        loop {
            if next_count(&mut counts, |n| n == 0).await.is_none() {
                return;
            }
            // The last subscriber left: keep running for `stop_timeout`.
            if !subscriber_within(stop_timeout, &mut counts).await {
                break;
            }
        }
        running.cancel_and_join().await;
        // Stopped: the value expires `replay_expiration` later, unless a subscriber comes.
        subscribed = replay_expiration != Duration::MAX
            && subscriber_within(replay_expiration, &mut counts).await;
        if replay_expiration != Duration::MAX && !subscribed {
            state.expire();
        }
    }
}

/// The next subscriber count that `wanted` accepts; `None` once the flow is gone.
async fn next_count(
    counts: &mut StateSubscription<usize>,
    wanted: impl Fn(usize) -> bool,
) -> Option<usize> {
    while let Some(count) = counts.next().await {
        if wanted(count) {
            return Some(count);
        }
    }
    None
}

/// True if a subscriber comes within `limit` (on the coroutine's clock).
async fn subscriber_within(limit: Duration, counts: &mut StateSubscription<usize>) -> bool {
    matches!(
        with_timeout_or_none(limit, async { next_count(counts, |n| n > 0).await.unwrap_or(0) })
            .await,
        Ok(Some(n)) if n > 0
    )
}
