//! `MutableSharedFlow` / `SharedFlow`: values broadcast to every subscriber, with a replay
//! cache, an extra buffer, and what to do when a slow subscriber lets the buffer fill.
//!
//! # Why not `tokio::sync::broadcast`
//!
//! `broadcast` never makes a sender wait: a slow receiver loses values (`Lagged`). kotlinx's
//! default, `BufferOverflow::Suspend`, makes `emit` wait for the slowest subscriber instead,
//! with waiting emitters resumed in FIFO order, and a cancelled one taking its value back;
//! `broadcast` has no replay for late subscribers either. So the flow is our own, on kotlinx's
//! model (`SharedFlowImpl`).
//!
//! # Model
//!
//! Values have increasing indices. The buffer holds the values from `head` to `tail`: those
//! the slowest subscriber has not taken yet, and the replay cache (the last `replay` values,
//! from `replay_start`). A subscriber holds the index of the next value it takes; a new one
//! starts at `replay_start`. The buffer is *full* when it holds `replay + extra` values and the
//! slowest subscriber still needs its oldest replay value; then:
//!
//! - `Suspend`: `emit` queues (its value with it) until the slowest subscriber moves on; queued
//!   emitters enter the buffer in FIFO order. `try_emit` returns false.
//! - `DropOldest`: the oldest value goes (subscribers behind it skip it).
//! - `DropLatest`: the new value goes.
//!
//! With no subscribers nothing waits: the value enters the replay cache (or nothing, with no
//! replay). With no buffer at all (`replay = extra = 0`, a *rendezvous*), `emit` waits until
//! every subscriber has taken its value, which they take from the emitter itself.
//!
//! One mutex guards it all; no user code but `Clone` of a value runs under it, and wakers are
//! woken after it is released (but for those of the subscription count's subscribers: counts
//! are published under it, to land in order).

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::task::Waker;

use super::state::{MutableStateFlow, StateFlow};

mod emit;
mod subscription;

use crate::job::Slab;
use crate::sync::lock_std as lock;
pub use emit::Emit;
pub use subscription::SharedSubscription;

/// What a full buffer does to a new value (kotlinx's `BufferOverflow`).
///
/// ```
/// use scopes_runtime::flow::{BufferOverflow, MutableSharedFlow};
///
/// let latest = MutableSharedFlow::with_config(2, 0, BufferOverflow::DropOldest).unwrap();
/// let _slow = latest.subscribe(); // never reads
/// for n in 1..=4 {
///     assert!(latest.try_emit(n)); // never waits: the oldest value goes
/// }
/// assert_eq!(latest.replay_cache(), [3, 4]);
///
/// let strict = MutableSharedFlow::with_config(0, 1, BufferOverflow::Suspend).unwrap();
/// let _slow = strict.subscribe();
/// assert!(strict.try_emit(1));
/// assert!(!strict.try_emit(2), "full: `emit` would wait, `try_emit` refuses");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BufferOverflow {
    /// `emit` waits for the slowest subscriber; `try_emit` fails.
    #[default]
    Suspend,
    /// The oldest value in the buffer is dropped.
    DropOldest,
    /// The new value is dropped.
    DropLatest,
}

/// A [`MutableSharedFlow`] that cannot be made: the message says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedFlowConfigError(String);

impl fmt::Display for SharedFlowConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SharedFlowConfigError {}

/// Values broadcast to every subscriber: kotlinx's `MutableSharedFlow`. Cheap to clone;
/// clones are the same flow. See [the model](crate::flow#shared-flows-the-model).
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::flow::MutableSharedFlow;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let events = MutableSharedFlow::new(); // no replay, no buffer: emit waits for subscribers
/// assert!(events.try_emit("lost")); // no subscriber: nothing waits, nothing kept
///
/// let mut first = events.subscribe();
/// let mut second = events.subscribe();
/// let sender = events.clone();
/// let emitting = tokio::spawn(async move { sender.emit("hello").await });
/// assert_eq!(first.next().await, Some("hello"));
/// assert_eq!(second.next().await, Some("hello")); // both took it: the emit returns
/// emitting.await.unwrap();
/// # }
/// ```
pub struct MutableSharedFlow<T> {
    shared: Arc<Shared<T>>,
}

/// A read-only view of a [`MutableSharedFlow`]. Cheap to clone.
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::flow::{BufferOverflow, MutableSharedFlow, SharedFlow};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let events = MutableSharedFlow::with_config(1, 0, BufferOverflow::Suspend).unwrap();
/// let read_only: SharedFlow<&str> = events.as_shared_flow();
/// events.emit("saved").await;
/// let mut late = read_only.subscribe(); // gets the replayed value first
/// assert_eq!(late.next().await, Some("saved"));
/// assert_eq!(read_only.replay_cache(), ["saved"]);
/// # }
/// ```
pub struct SharedFlow<T> {
    shared: Arc<Shared<T>>,
}

struct Shared<T> {
    replay: usize,
    capacity: usize,
    overflow: BufferOverflow,
    state: Mutex<State<T>>,
}

struct State<T> {
    buffer: VecDeque<T>,
    head: u64,
    replay_start: u64,
    subscribers: Slab<Subscriber>,
    emitters: VecDeque<Emitter<T>>,
    next_emitter: u64,
    handles: usize,
    count: MutableStateFlow<usize>,
    /// The slowest subscriber's index, and how many subscribers are there: kept so that a
    /// take is O(1) (the scan runs once per value, when the last one at the slowest index
    /// moves on, and when subscribers come, go or are moved).
    slowest: Option<u64>,
    at_slowest: usize,
}

struct Subscriber {
    /// The next value it takes from the buffer.
    index: u64,
    /// Values it took ahead (see `TAKE_AHEAD`) and may not have delivered yet: for the flow's
    /// backpressure it is still at `index - pending`, so that emitters and drops treat it as
    /// kotlinx would a subscriber that took one value at a time.
    pending: u64,
    waker: Option<Waker>,
}

impl Subscriber {
    /// The index the flow counts it at: what it has surely delivered.
    fn at(&self) -> u64 {
        self.index - self.pending
    }
}

struct Emitter<T> {
    id: u64,
    value: T,
    waker: Option<Waker>,
}

/// Wakers to wake, and user values to drop, once the lock is released.
#[must_use]
struct After<T> {
    wake: Vec<Waker>,
    dropped: Vec<T>,
}

impl<T> After<T> {
    fn new() -> Self {
        After {
            wake: Vec::new(),
            dropped: Vec::new(),
        }
    }

    fn run(self) {
        drop(self.dropped);
        crate::user::wake_all(self.wake);
    }
}

impl<T: Clone + Send + 'static> MutableSharedFlow<T> {
    /// A rendezvous flow: no replay, no buffer, `Suspend` (kotlinx's `MutableSharedFlow()`).
    pub fn new() -> Self {
        Self::with_config(0, 0, BufferOverflow::Suspend).expect("a valid configuration")
    }

    /// A flow that replays its last `replay` values to new subscribers, buffers `extra` more
    /// for slow ones, and does `overflow` when the buffer is full.
    ///
    /// # Errors
    ///
    /// `DropOldest` or `DropLatest` with no buffer at all (`replay + extra == 0`): there is
    /// nothing to drop from, kotlinx's rule.
    pub fn with_config(
        replay: usize,
        extra: usize,
        overflow: BufferOverflow,
    ) -> Result<Self, SharedFlowConfigError> {
        let capacity = replay.checked_add(extra).ok_or_else(|| {
            SharedFlowConfigError(format!("replay ({replay}) + extra ({extra}) overflows"))
        })?;
        if capacity == 0 && overflow != BufferOverflow::Suspend {
            return Err(SharedFlowConfigError(format!(
                "BufferOverflow::{overflow:?} needs a buffer to drop from: give a replay or an \
                 extra buffer capacity above 0, or use BufferOverflow::Suspend"
            )));
        }
        Ok(MutableSharedFlow {
            shared: Arc::new(Shared {
                replay,
                capacity,
                overflow,
                state: Mutex::new(State {
                    buffer: VecDeque::new(),
                    head: 0,
                    replay_start: 0,
                    subscribers: Slab::default(),
                    emitters: VecDeque::new(),
                    next_emitter: 0,
                    handles: 1,
                    count: MutableStateFlow::counting(0),
                    slowest: None,
                    at_slowest: 0,
                }),
            }),
        })
    }

    /// Emits `value` without waiting: true if it was taken (or dropped by the overflow rule,
    /// or by the absence of subscribers and replay), false if it would have to wait
    /// (`Suspend`, and a full buffer or a rendezvous with subscribers).
    pub fn try_emit(&self, value: T) -> bool {
        let mut after = After::new();
        let taken = {
            let mut state = lock(&self.shared.state);
            match self.shared.try_emit_locked(&mut state, value, &mut after) {
                Ok(()) => true,
                Err(value) => {
                    after.dropped.push(value);
                    false
                }
            }
        };
        after.run();
        taken
    }

    /// Emits `value`, waiting while the buffer is full under `Suspend` (behind the emitters
    /// already waiting). Dropping the future while it waits takes the value back.
    pub fn emit(&self, value: T) -> Emit<T> {
        Emit::new(self.shared.clone(), value)
    }

    /// Empties the replay cache (subscribers still get what they have not taken).
    pub fn reset_replay_cache(&self) {
        let mut after = After::new();
        {
            let mut state = lock(&self.shared.state);
            state.replay_start = state.tail();
            self.shared.trim_locked(&mut state, &mut after);
        }
        after.run();
    }

    /// A read-only view of this flow.
    pub fn as_shared_flow(&self) -> SharedFlow<T> {
        lock(&self.shared.state).handles += 1;
        SharedFlow {
            shared: self.shared.clone(),
        }
    }
}

impl<T: Clone + Send + 'static> Default for MutableSharedFlow<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> State<T> {
    fn tail(&self) -> u64 {
        self.head + self.buffer.len() as u64
    }

    fn min_subscriber(&self) -> Option<u64> {
        self.slowest
    }

    /// Finds the slowest subscriber again, after indices moved.
    fn rescan_slowest(&mut self) {
        let slowest = self.subscribers.iter().map(Subscriber::at).min();
        self.slowest = slowest;
        self.at_slowest = slowest.map_or(0, |slowest| {
            self.subscribers
                .iter()
                .filter(|s| s.at() == slowest)
                .count()
        });
    }

    /// A subscriber at `from` moved on by one.
    fn moved_on(&mut self, from: u64) {
        if self.slowest == Some(from) {
            self.at_slowest -= 1;
            if self.at_slowest == 0 {
                self.rescan_slowest();
            }
        }
    }

    fn wake_subscribers(&mut self, after: &mut After<T>) {
        after
            .wake
            .extend(self.subscribers.iter_mut().filter_map(|s| s.waker.take()));
    }
}

impl<T: Clone + Send + 'static> Shared<T> {
    /// Adds `value` if nothing must wait; gives it back if it must (`Suspend`).
    fn try_emit_locked(
        &self,
        state: &mut State<T>,
        value: T,
        after: &mut After<T>,
    ) -> Result<(), T> {
        let Some(slowest) = state.min_subscriber() else {
            // Nobody to wait for: the value goes to the replay cache, or nowhere.
            if self.replay > 0 {
                state.buffer.push_back(value);
                self.trim_locked(state, after);
            } else {
                after.dropped.push(value);
            }
            return Ok(());
        };
        if !state.emitters.is_empty() {
            // Emitters are waiting: this one comes after them.
            return self.overflow_or(value, state, after);
        }
        let full = state.buffer.len() >= self.capacity && slowest <= state.replay_start;
        if full {
            return self.overflow_or(value, state, after);
        }
        state.buffer.push_back(value);
        if state.buffer.len() > self.capacity {
            // The oldest was a replay value every subscriber had taken.
            self.drop_oldest_locked(state, after);
        }
        self.trim_locked(state, after);
        state.wake_subscribers(after);
        Ok(())
    }

    fn overflow_or(&self, value: T, state: &mut State<T>, after: &mut After<T>) -> Result<(), T> {
        match self.overflow {
            BufferOverflow::Suspend => Err(value),
            BufferOverflow::DropLatest => {
                after.dropped.push(value);
                Ok(())
            }
            BufferOverflow::DropOldest => {
                state.buffer.push_back(value);
                self.drop_oldest_locked(state, after);
                self.trim_locked(state, after);
                state.wake_subscribers(after);
                Ok(())
            }
        }
    }

    fn subscribe(self: &Arc<Self>) -> SharedSubscription<T> {
        let key = {
            let mut state = lock(&self.state);
            let index = state.replay_start;
            let key = state.subscribers.insert(Subscriber {
                index,
                pending: 0,
                waker: None,
            });
            state.rescan_slowest();
            let count = state.subscribers.len();
            state.count.set_value(count);
            key
        };
        SharedSubscription::new(self.clone(), key)
    }

    fn replay_cache(&self) -> Vec<T> {
        let state = lock(&self.state);
        let skip = (state.replay_start - state.head) as usize;
        state.buffer.iter().skip(skip).cloned().collect()
    }
}

macro_rules! common_methods {
    () => {
        /// A subscriber: a `Stream` of every value emitted from now on, after the replay
        /// cache. It counts as a subscriber (and holds emitters back under `Suspend`) from now
        /// until it is dropped; it ends once every handle of the flow is gone and it took what
        /// was left. Polling it is cancel-safe.
        pub fn subscribe(&self) -> SharedSubscription<T> {
            self.shared.subscribe()
        }

        /// The values a new subscriber would get first.
        pub fn replay_cache(&self) -> Vec<T> {
            self.shared.replay_cache()
        }

        /// How many subscribers the flow has, as a flow whose subscribers see every change.
        pub fn subscription_count(&self) -> StateFlow<usize> {
            lock(&self.shared.state).count.as_state_flow()
        }
    };
}

impl<T: Clone + Send + 'static> MutableSharedFlow<T> {
    common_methods!();
}

impl<T: Clone + Send + 'static> SharedFlow<T> {
    common_methods!();
}

impl<T> Clone for MutableSharedFlow<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).handles += 1;
        MutableSharedFlow {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Clone for SharedFlow<T> {
    fn clone(&self) -> Self {
        lock(&self.shared.state).handles += 1;
        SharedFlow {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Shared<T> {
    /// Drops the buffer's oldest value; subscribers behind it skip to the next.
    fn drop_oldest_locked(&self, state: &mut State<T>, after: &mut After<T>) {
        if let Some(oldest) = state.buffer.pop_front() {
            after.dropped.push(oldest);
            state.head += 1;
            let head = state.head;
            state.replay_start = state.replay_start.max(head);
            for subscriber in state.subscribers.iter_mut() {
                // Behind the new head, it skips the dropped value (values it took ahead
                // already are its own).
                if subscriber.index < head {
                    subscriber.index = head;
                    subscriber.pending = 0;
                } else if subscriber.at() < head {
                    subscriber.pending = subscriber.index - head;
                }
            }
            state.rescan_slowest();
        }
    }

    /// Keeps the replay cache at `replay` values, drops what nobody needs any more, and lets
    /// waiting emitters in while there is room.
    fn trim_locked(&self, state: &mut State<T>, after: &mut After<T>) {
        loop {
            let tail = state.tail();
            let replay_floor = tail.saturating_sub(self.replay as u64);
            state.replay_start = state.replay_start.max(replay_floor);
            let needed = state
                .min_subscriber()
                .map_or(state.replay_start, |s| s.min(state.replay_start));
            while state.head < needed {
                if let Some(value) = state.buffer.pop_front() {
                    after.dropped.push(value);
                }
                state.head += 1;
            }
            // A waiting emitter enters when its value fits (or when nobody subscribes).
            let slowest = state.min_subscriber();
            let room = match slowest {
                None => true,
                Some(slowest) => {
                    self.capacity > 0
                        && (state.buffer.len() < self.capacity || slowest > state.replay_start)
                }
            };
            if !room || state.emitters.is_empty() {
                return;
            }
            let emitter = state.emitters.pop_front().expect("not empty");
            after.wake.extend(emitter.waker);
            if slowest.is_none() && self.replay == 0 {
                after.dropped.push(emitter.value);
            } else {
                state.buffer.push_back(emitter.value);
                if state.buffer.len() > self.capacity {
                    self.drop_oldest_locked(state, after);
                }
                state.wake_subscribers(after);
            }
        }
    }

    /// A rendezvous: every subscriber took the first waiting emitter's value; it is delivered.
    fn complete_rendezvous_locked(&self, state: &mut State<T>, after: &mut After<T>) {
        if self.capacity > 0 || state.emitters.is_empty() {
            return;
        }
        let tail = state.tail();
        if state.min_subscriber().is_some_and(|slowest| slowest > tail) {
            let emitter = state.emitters.pop_front().expect("not empty");
            after.dropped.push(emitter.value);
            after.wake.extend(emitter.waker);
            state.head += 1;
            state.replay_start = state.head;
            // The next waiting emitter's value is there for the taking.
            state.wake_subscribers(after);
        }
    }

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

impl<T> Drop for MutableSharedFlow<T> {
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl<T> Drop for SharedFlow<T> {
    fn drop(&mut self) {
        self.shared.release();
    }
}

impl<T> fmt::Debug for MutableSharedFlow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.shared.state);
        f.debug_struct("MutableSharedFlow")
            .field("replay", &self.shared.replay)
            .field("capacity", &self.shared.capacity)
            .field("overflow", &self.shared.overflow)
            .field("buffered", &state.buffer.len())
            .field("subscribers", &state.subscribers.len())
            .field("waiting_emitters", &state.emitters.len())
            .finish()
    }
}

impl<T> fmt::Debug for SharedFlow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedFlow")
            .field("replay", &self.shared.replay)
            .finish_non_exhaustive()
    }
}
