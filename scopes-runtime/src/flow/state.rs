//! `MutableStateFlow` / `StateFlow`: a value that always exists, and subscribers that see its
//! latest value.
//!
//! # Why not `tokio::sync::watch`
//!
//! A watch receiver is a stream only through a future that borrows it (`changed()`), which a
//! `Stream` can hold only boxed and re-made per item, or through tokio-stream. Its `send` of an
//! equal value notifies, and its plain `send` drops the value when nobody listens; only
//! `send_if_modified` gives kotlinx's rule. And `subscription_count` must see every change (a
//! 0 → 1 → 0 flicker drives `WhileSubscribed`), which a watch conflates away. So the state is
//! our own: the value with a version under a mutex, and a slab of subscribers, each with the
//! version it saw last, its waker, and, for a flow that must not conflate, its queue.
//!
//! # Rules (kotlinx's `StateFlow`)
//!
//! - Setting a value equal to the current one does nothing: no new version, no wake-up.
//! - A subscriber gets the current value first, then the latest value each time it polls after
//!   a change (values set in between are skipped), never two equal values in a row. It never
//!   ends while the flow lives; once every `MutableStateFlow` and `StateFlow` handle is gone it
//!   ends after its last unseen value.
//! - A subscriber counts from the moment `subscribe()` returns, until it is dropped.
//! - User code that runs under the flow's lock: comparisons and clones of its value, and an
//!   update function (so an update must not touch its own flow). No lock is held across an
//!   `.await`. Subscribers are woken after the lock is released; subscribers of the
//!   subscription count are woken under it, since counts are published under it to land in
//!   order.
//! - The value is kept behind an `Arc`: a set clones nothing, and a delivery clones the value
//!   once (for the subscriber). A panicking `Clone` or `PartialEq` leaves the flow as it was.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::Stream;

use crate::job::Slab;
use crate::sync::lock_std as lock;

/// A value that always exists and that anyone holding the flow may set: kotlinx's
/// `MutableStateFlow`. Cheap to clone; clones are the same flow.
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::flow::MutableStateFlow;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let progress = MutableStateFlow::new(false);
/// let mut seen = progress.subscribe();
/// assert_eq!(seen.next().await, Some(false)); // the current value first
///
/// progress.set_value(true);
/// progress.set_value(true); // equal: nothing happens
/// assert_eq!(seen.next().await, Some(true));
///
/// progress.set_value(false);
/// progress.set_value(true); // the subscriber had not run: it sees only the latest
/// assert_eq!(progress.value(), true);
/// # }
/// ```
pub struct MutableStateFlow<T> {
    shared: Arc<Shared<T>>,
}

/// A read-only view of a [`MutableStateFlow`]: what a view model hands out. Cheap to clone.
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::flow::{MutableStateFlow, StateFlow};
///
/// struct ViewModel { loading: MutableStateFlow<bool> }
/// impl ViewModel {
///     fn loading(&self) -> StateFlow<bool> { self.loading.as_state_flow() } // read-only
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let vm = ViewModel { loading: MutableStateFlow::new(false) };
/// let view = vm.loading();
/// let mut updates = view.subscribe();
/// assert_eq!(updates.next().await, Some(false));
/// vm.loading.set_value(true);
/// assert_eq!(updates.next().await, Some(true));
/// assert!(view.value());
/// # }
/// ```
pub struct StateFlow<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    /// True for a flow whose subscribers see every value (`subscription_count`).
    queued: bool,
}

struct State<T> {
    /// Shared with the subscribers' `last`, so that remembering what they saw copies nothing.
    value: Arc<T>,
    version: u64,
    subscribers: Slab<Subscriber<T>>,
    /// Handles (`MutableStateFlow`, `StateFlow`) alive: at 0 the subscribers end.
    handles: usize,
    /// The subscriber count, as a flow of its own, made on first use. It is set under this
    /// flow's lock (lock order: a flow, then its count's), so that counts published by racing
    /// subscribes and drops land in the order they happened.
    count: Option<MutableStateFlow<usize>>,
}

struct Subscriber<T> {
    /// The version this subscriber saw last (`None`: not even the first).
    seen: Option<u64>,
    waker: Option<Waker>,
    /// For a flow that does not conflate: the values set since the subscriber saw one.
    queue: VecDeque<T>,
    /// The value it yielded last, for a flow that conflates: a value set away and back
    /// (1 → 2 → 1) between two polls is no new value to it (kotlinx's collector compares too).
    last: Option<Arc<T>>,
}

impl<T: Clone + PartialEq + Send + 'static> MutableStateFlow<T> {
    /// A flow whose value is `initial`.
    pub fn new(initial: T) -> Self {
        Self::with_queue(initial, false)
    }

    /// A flow whose subscribers see every value (a subscription count).
    pub(super) fn counting(initial: T) -> Self {
        Self::with_queue(initial, true)
    }

    fn with_queue(initial: T, queued: bool) -> Self {
        MutableStateFlow {
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    value: Arc::new(initial),
                    version: 0,
                    subscribers: Slab::default(),
                    handles: 1,
                    count: None,
                }),
                queued,
            }),
        }
    }

    /// Sets the value; a value equal to the current one does nothing (kotlinx's `value = v`).
    pub fn set_value(&self, value: T) {
        self.update(|_| value);
    }

    /// Sets the value to `f(current)`, atomically (no other update comes in between); an
    /// equal result does nothing. `f` runs under the flow's lock: keep it short, and do not
    /// touch this flow from inside it.
    pub fn update(&self, f: impl FnOnce(&T) -> T) {
        self.shared.modify(|current| (f(current), ()));
    }

    /// [`update`](Self::update), returning the new value.
    pub fn update_and_get(&self, f: impl FnOnce(&T) -> T) -> T {
        self.shared.modify(|current| {
            let new = f(current);
            (new.clone(), new)
        })
    }

    /// [`update`](Self::update), returning the value before it.
    pub fn get_and_update(&self, f: impl FnOnce(&T) -> T) -> T {
        self.shared.modify(|current| (f(current), current.clone()))
    }

    /// Sets the value to `new` if it equals `expected`, atomically; true if it did (also when
    /// `new` equals the current value, as kotlinx's `compareAndSet`).
    pub fn compare_and_set(&self, expected: &T, new: T) -> bool {
        let mut new = Some(new);
        self.shared.modify(|current| {
            if current == expected {
                (new.take().expect("taken once"), true)
            } else {
                (current.clone(), false)
            }
        })
    }

    /// A read-only view of this flow.
    pub fn as_state_flow(&self) -> StateFlow<T> {
        lock(&self.shared.state).handles += 1;
        StateFlow {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Clone + PartialEq + Send + 'static> Shared<T> {
    /// Runs `f` on the value under the lock; stores its new value if it differs, and wakes the
    /// subscribers after the lock is released.
    fn modify<R>(&self, f: impl FnOnce(&T) -> (T, R)) -> R {
        let (result, wake, dropped) = {
            let mut state = lock(&self.state);
            let (new, result) = f(&state.value);
            if new == *state.value {
                (result, Vec::new(), Dropped::Refused(new))
            } else {
                // A flow that does not conflate (a count) queues the value for each
                // subscriber: cloned before anything changes, so a panicking clone changes
                // nothing. A conflating one clones nothing here.
                let queued: Vec<T> = if self.queued {
                    let n = state
                        .subscribers
                        .iter()
                        .filter(|s| s.seen.is_some())
                        .count();
                    (0..n).map(|_| new.clone()).collect()
                } else {
                    Vec::new()
                };
                let old = std::mem::replace(&mut state.value, Arc::new(new));
                state.version += 1;
                let mut wake = Vec::new();
                let mut queued = queued.into_iter();
                for subscriber in state.subscribers.iter_mut() {
                    if subscriber.seen.is_some()
                        && let Some(value) = queued.next()
                    {
                        subscriber.queue.push_back(value);
                    }
                    wake.extend(subscriber.waker.take());
                }
                (result, wake, Dropped::Replaced(old))
            }
        };
        // The old (or refused) value is the user's: dropped outside the lock.
        match dropped {
            Dropped::Refused(value) => drop(value),
            Dropped::Replaced(value) => drop(value),
        }
        crate::user::wake_all(wake);
        result
    }

    fn subscribe(self: &Arc<Self>) -> StateSubscription<T> {
        let mut state = lock(&self.state);
        let key = state.subscribers.insert(Subscriber {
            seen: None,
            waker: None,
            queue: VecDeque::new(),
            last: None,
        });
        state.publish_count();
        drop(state);
        StateSubscription {
            shared: self.clone(),
            key: Some(key),
        }
    }

    fn subscription_count(&self) -> StateFlow<usize> {
        let mut state = lock(&self.state);
        let count = state.subscribers.len();
        state
            .count
            .get_or_insert_with(|| MutableStateFlow::with_queue(count, true))
            .as_state_flow()
    }

    fn value(&self) -> T {
        let value = lock(&self.state).value.clone();
        T::clone(&value)
    }
}

macro_rules! common_methods {
    () => {
        /// The current value (a clone).
        pub fn value(&self) -> T {
            self.shared.value()
        }

        /// A subscriber: a `Stream` that yields the current value first, then the latest value
        /// each time it is polled after a change (values set in between are skipped; never two
        /// equal values in a row). It counts as a subscriber from now until it is dropped, and
        /// ends only after every handle of the flow is gone. Polling it is cancel-safe.
        pub fn subscribe(&self) -> StateSubscription<T> {
            self.shared.subscribe()
        }

        /// How many subscribers the flow has, as a flow whose subscribers see every change
        /// (kotlinx's non-conflated `subscriptionCount`: a 0 → 1 → 0 flicker is two items).
        pub fn subscription_count(&self) -> StateFlow<usize> {
            self.shared.subscription_count()
        }

        /// kotlinx's `replayCache`: the current value, alone.
        pub fn replay_cache(&self) -> Vec<T> {
            vec![self.value()]
        }
    };
}

impl<T: Clone + PartialEq + Send + 'static> MutableStateFlow<T> {
    common_methods!();
}

impl<T: Clone + PartialEq + Send + 'static> StateFlow<T> {
    common_methods!();
}

impl<T> Clone for MutableStateFlow<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).handles += 1;
        MutableStateFlow {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Clone for StateFlow<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).handles += 1;
        StateFlow {
            shared: self.shared.clone(),
        }
    }
}

/// What a modification leaves to drop after the lock: the refused new value or the old one.
enum Dropped<T> {
    Refused(T),
    Replaced(Arc<T>),
}

impl<T> State<T> {
    fn publish_count(&self) {
        if let Some(count) = &self.count {
            count.set_value(self.subscribers.len());
        }
    }
}

impl<T> Shared<T> {
    /// A handle is gone; at the last one the subscribers are woken to end.
    fn release(&self) {
        let wake: Vec<Waker> = {
            let mut state = lock(&self.state);
            state.handles -= 1;
            if state.handles > 0 {
                return;
            }
            state
                .subscribers
                .iter_mut()
                .filter_map(|s| s.waker.take())
                .collect()
        };
        crate::user::wake_all(wake);
    }
}

impl<T> Drop for MutableStateFlow<T> {
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl<T> Drop for StateFlow<T> {
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl<T: Clone + PartialEq + Send + 'static> From<MutableStateFlow<T>> for StateFlow<T> {
    fn from(flow: MutableStateFlow<T>) -> Self {
        flow.as_state_flow()
    }
}

impl<T: fmt::Debug> fmt::Debug for MutableStateFlow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("MutableStateFlow")
            .field("value", &state.value)
            .field("subscribers", &state.subscribers.len())
            .finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for StateFlow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("StateFlow")
            .field("value", &state.value)
            .field("subscribers", &state.subscribers.len())
            .finish()
    }
}

/// A subscriber of a [`StateFlow`]: see [`StateFlow::subscribe`].
#[must_use = "a subscription does nothing unless polled (it counts as a subscriber meanwhile)"]
pub struct StateSubscription<T> {
    shared: Arc<Shared<T>>,
    /// `None` once it ended.
    key: Option<usize>,
}

impl<T: Clone + PartialEq + Send + 'static> Stream for StateSubscription<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Some(key) = self.key else {
            return Poll::Ready(None);
        };
        let shared = self.shared.clone();
        let mut guard = lock(&shared.state);
        let state = &mut *guard;
        let version = state.version;
        let live = state.handles > 0;
        let subscriber = state
            .subscribers
            .get_mut(key)
            .expect("a subscription's slot lives until it is dropped");
        if let Some(value) = subscriber.queue.pop_front() {
            subscriber.seen = Some(version);
            return Poll::Ready(Some(value));
        }
        if subscriber.seen != Some(version) {
            let current = &state.value;
            let repeated = subscriber
                .last
                .as_ref()
                .is_some_and(|last| Arc::ptr_eq(last, current) || **last == **current);
            if shared.queued || !repeated {
                // Cloned before it is marked seen: a panicking clone leaves it to the next poll.
                let value = T::clone(current);
                subscriber.seen = Some(version);
                if !shared.queued {
                    subscriber.last = Some(current.clone());
                }
                return Poll::Ready(Some(value));
            }
            subscriber.seen = Some(version);
        }
        if !live {
            drop(guard);
            self.end();
            return Poll::Ready(None);
        }
        match &subscriber.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => subscriber.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> StateSubscription<T> {
    fn end(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let removed = {
            let mut state = lock(&self.shared.state);
            // (The removed subscriber's queue and last value are the user's: dropped below.)
            let removed = state.subscribers.remove(key);
            state.publish_count();
            removed
        };
        // Its queue holds the user's values: dropped outside the lock.
        drop(removed);
    }
}

impl<T> Drop for StateSubscription<T> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<T> fmt::Debug for StateSubscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSubscription")
            .field("ended", &self.key.is_none())
            .finish()
    }
}
