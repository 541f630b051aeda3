//! Hot flows: values that coroutines publish and others subscribe to, as `futures::Stream`s.
//!
//! - [`MutableStateFlow`] / [`StateFlow`]: a value that always exists; subscribers see the
//!   current value, then the latest one each time they get to run (kotlinx's `StateFlow`).
//! - [`MutableSharedFlow`] / [`SharedFlow`]: values broadcast to every subscriber, with a
//!   replay cache, an extra buffer and a [`BufferOverflow`] rule (kotlinx's `SharedFlow`).
//! - [`launch_in`] and [`state_in`] with [`SharingStarted`]: streams collected by child
//!   coroutines of a scope.
//! - [`produce`]: a child coroutine sending into a channel ([`Capacity`]), read as a stream
//!   whose drop cancels it.
//!
//! | kotlinx.coroutines | scopes |
//! |---|---|
//! | `MutableStateFlow(v)`, `val s: StateFlow<T> = _s` | `MutableStateFlow::new(v)`, `flow.as_state_flow()` |
//! | `flow.value`, `flow.value = v` | `flow.value()`, `flow.set_value(v)` |
//! | `update { }`, `updateAndGet { }`, `getAndUpdate { }`, `compareAndSet(e, v)` | `update(\|v\| ..)`, `update_and_get`, `get_and_update`, `compare_and_set(&e, v)` |
//! | `flow.collect { }` | `let mut s = flow.subscribe(); while let Some(v) = s.next().await { }` |
//! | `subscriptionCount` | `subscription_count()` (a `StateFlow<usize>` whose subscribers see every change) |
//! | `MutableSharedFlow(replay, extraBufferCapacity, onBufferOverflow)` | `MutableSharedFlow::with_config(replay, extra, overflow)?` (`new()`: a rendezvous) |
//! | `emit(v)`, `tryEmit(v)`, `replayCache`, `resetReplayCache()` | `emit(v).await`, `try_emit(v)`, `replay_cache()`, `reset_replay_cache()` |
//! | `flow.onEach { }.launchIn(scope)` | `launch_in(stream.map(..), &scope)` |
//! | `flow.shareIn(scope, started, replay)` | `share_in(\|\| make_stream(), &scope, started, replay)` |
//! | `flow.stateIn(scope, started, initial)` | `state_in(\|\| make_stream(), &scope, started, initial)` |
//! | `produce(capacity) { send(v) }`, `for (v in channel)` | `produce(&scope, capacity, \|tx\| async move { tx.send(v).await?; .. })`, `while let Some(v) = stream.next().await` (`Result` items) |
//! | `SharingStarted.Eagerly/Lazily/WhileSubscribed(stop, expire)` | `SharingStarted::{Eagerly, Lazily, WhileSubscribed { stop_timeout, replay_expiration }}` |
//!
//! A subscriber counts from the moment `subscribe()` returns, not from its first poll (a Rust
//! stream does nothing until polled; kotlinx's collector subscribes before it first suspends).
//!
//! # Shared flows: the model
//!
//! A [`MutableSharedFlow`] keeps a buffer: the values its slowest subscriber has not taken yet,
//! and the replay cache (the last `replay` values, which a new subscriber gets first). The
//! buffer is *full* when it holds `replay + extra` values and the slowest subscriber still
//! needs its oldest replay value; then [`BufferOverflow`] decides:
//!
//! - `Suspend`: `emit` waits (its value with it) until the slowest subscriber moves on;
//!   waiting emitters get in in FIFO order, and one dropped while it waits takes its value
//!   back. `try_emit` returns false.
//! - `DropOldest`: the oldest value goes (subscribers behind it skip it).
//! - `DropLatest`: the new value goes.
//!
//! With no subscribers nothing waits: the value enters the replay cache (or nothing, with no
//! replay). With no buffer at all (`replay = extra = 0`, a *rendezvous*), `emit` waits until
//! every subscriber has taken its value.
//!
//! One difference from kotlinx, for speed: a subscriber ahead of the slowest takes up to 16
//! values under one lock. They still count as not taken (emitters wait for it as for one that
//! takes them one by one), but if it becomes the slowest and a `DropOldest` overflow drops
//! some of them, it still delivers those it holds.
//!
//! # Sharing coroutines
//!
//! [`state_in`], [`share_in`] and [`launch_in`] launch one ordinary child of the scope: the
//! scope's cancellation stops it, and an upstream failure (a panic) is its failure (it fails a
//! regular scope, and reaches the handler under a supervisor); subscribers just see no new
//! values. Dropping the returned flow does not stop the sharing; only the scope does, as in
//! kotlinx. A Rust `Stream` is collected once, where kotlinx's cold `Flow` is collected anew
//! at each start, so `state_in` and `share_in` take a function that makes the upstream, called
//! at each (re)start.
//!
//! `WhileSubscribed` follows the subscriber count (every change, not the latest):
//!
//! ```text
//!            count > 0                 count = 0 for stop_timeout
//!   Idle ---------------> Running -----------------------------> Stopped
//!    ^                       ^  |  count > 0 within stop_timeout     |  count = 0 for
//!    |                       |  +---------- (keeps running)          |  replay_expiration:
//!    |                       +--------------------- count > 0 -------+  reset (the initial
//!    +------------------------------------------------------------------+  value, no replay)
//! ```
//!
//! Its timeouts are `with_timeout`s on the sharing coroutine's clock, so a `scopes::test` test
//! steps them in virtual time.

mod produce;
mod shared;
mod sharing;
mod state;

pub use produce::{Capacity, ChannelSender, Produced, SendError, TrySendError, produce};
pub use shared::{
    BufferOverflow, Emit, MutableSharedFlow, SharedFlow, SharedFlowConfigError, SharedSubscription,
};
pub use sharing::{SharingStarted, launch_in, share_in, state_in};
pub use state::{MutableStateFlow, StateFlow, StateSubscription};
