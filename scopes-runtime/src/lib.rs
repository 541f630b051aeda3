//! The runtime behind [`scopes`](https://docs.rs/scopes): Kotlin-style structured concurrency on
//! tokio. Use it through the `scopes` crate, which re-exports everything here and adds the
//! macros.
//!
//! Map of the modules, by concept:
//!
//! - `context`: [`CoroutineContext`], [`ContextElement`], `+`, [`CoroutineName`].
//! - `job`: [`Job`], the job tree and its state machine (the design note is there).
//! - `frame`: the running body, `current_*()`, and how a cancellation reaches a body.
//! - `coroutine`: [`Coroutine`], [`Deferred`], [`CoroutineStart`], the task that runs a body.
//! - `scope`: [`Scope`], [`ScopeHandle`], [`CoroutineScope`], [`current_scope`].
//! - `launcher`: [`CoroutineBuilder`], a launch's name, context and start mode.
//! - `builders`: [`coroutine_scope`], [`supervisor_scope`], [`with_context`], [`with_timeout`],
//!   [`non_cancellable`].
//! - `deadline`: [`Deadline`], a scope whose block and children end by an instant.
//! - `cancel`: [`NonCancellable`], [`is_active`], [`ensure_active`], [`delay`], [`yield_now`].
//! - `finally`: [`try_finally`], and [`try_finally_with`], whose cleanup gets the [`Outcome`].
//! - `exception`: [`CoroutineExceptionHandler`] and the global handler.
//! - `error`: [`CoroutineError`] and [`CoroutineResult`].
//! - `dispatcher`: [`Dispatcher`], [`Dispatchers`], [`run_main`], [`require_dispatcher`].
//! - `bridge`: [`suspend_coroutine`], [`suspend_cancellable_coroutine`]: callbacks as suspensions.
//! - `thread_local`: [`thread_local_element`], a `thread_local!` value that follows a coroutine.
//! - `debug`: [`CoroutineId`] and debug mode.
//! - `flow`: [`flow::MutableStateFlow`] and [`flow::StateFlow`], hot values as `Stream`s.
//! - `joiners`: [`await_all`], [`join_all`], [`first_success`], [`all_successful`] and the
//!   structured [`Select`]: what they cancel, they wait for.
//! - `panic_hook`: [`quiet_coroutine_panics`], [`is_in_coroutine`]: one report per panic.
//! - [`observability`]: a span per coroutine and events for failures, cancellations and
//!   `NonCancellable` sections (the `tracing` feature, in `trace`), dumps, panics, tokio-console.
//! - `global`: [`GlobalScope`], behind an explicit opt-in (the `global-scope` feature).
//! - `test`: `run_test`, `TestScope` and the test scheduler: virtual time for every dispatcher
//!   (the `test-util` feature).
//! - `timer`: the timers of `delay` and `with_timeout`.

/// What the macros' generated code calls. Not public API.
#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;
mod bridge;
mod builders;
mod cancel;
mod context;
mod coroutine;
mod deadline;
mod debug;
mod dispatcher;
mod error;
mod exception;
mod finally;
pub mod flow;
mod frame;
mod global;
mod job;
mod joiners;
mod launcher;
pub mod observability;
mod panic_hook;
mod scope;
mod shutdown;
mod sync;
#[cfg(feature = "test-util")]
pub mod test;
mod thread_local;
mod timer;
#[cfg(feature = "tracing")]
mod trace;
mod user;

pub use bridge::{
    CancellableContinuation, Continuation, Suspend, suspend_cancellable_coroutine,
    suspend_coroutine,
};
pub use builders::{
    coroutine_scope, non_cancellable, supervisor_scope, with_context, with_timeout,
    with_timeout_or_none,
};
pub use cancel::{NonCancellable, delay, ensure_active, is_active, yield_now};
pub use context::{ContextElement, CoroutineContext, CoroutineName, IntoContext};
pub use coroutine::{Await, Coroutine, CoroutineStart, Deferred};
pub use deadline::{Deadline, DeadlineScope};
pub use debug::{CoroutineId, is_debug_mode, set_debug_mode};
pub use dispatcher::{
    Dispatcher, DispatcherError, Dispatchers, IO_PARALLELISM_ENV, MainThread, current_dispatcher,
    require_dispatcher, run_main,
};
pub use error::{BoxError, CoroutineError, CoroutineResult, ErrorKind, LaunchResult, PlainValue};
pub use exception::{
    CoroutineExceptionHandler, reset_global_exception_handler, set_global_exception_handler,
};
pub use finally::{Outcome, TryFinally, TryFinallyWith, try_finally, try_finally_with};
pub use global::{GlobalScope, GlobalScopeOptIn};
pub use job::{CompletionHandle, Job, JobSnapshot, JobState, Join};
pub use joiners::{Select, all_successful, await_all, first_success, join_all};
pub use launcher::CoroutineBuilder;
pub use panic_hook::{is_in_coroutine, quiet_coroutine_panics};
pub use scope::{
    CoroutineScope, Scope, ScopeHandle, current_context, current_scope, try_current_scope,
};
pub use shutdown::ShutdownReport;
pub use thread_local::{LocalSlot, ThreadLocalElement, thread_local_element};
