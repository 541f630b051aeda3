//! Seeing the job tree: `tracing` spans and events (the `tracing` feature), dumps, panics and
//! tokio-console. This module only documents; the items are elsewhere.
//!
//! # Without `tracing`
//!
//! [`Job::dump`](crate::Job::dump) prints the live tree under a job, and
//! [`Job::snapshot`](crate::Job::snapshot) gives it as data ([`JobSnapshot`](crate::JobSnapshot):
//! `serde::Serialize` with the `serde` feature); both are linear in the number of jobs.
//! [`quiet_coroutine_panics`](crate::quiet_coroutine_panics) keeps the panic hook's message away
//! for panics inside coroutines, which their owner reports, and leaves other panics alone.
//!
//! Without the `tracing` feature nothing of `tracing` is compiled in: no field, no check, no
//! event.
//!
//! # Spans (the `tracing` feature)
//!
//! Every coroutine has a span named `coroutine`, made when its job is (so a queued or lazy
//! coroutine has one too), and entered on every poll of its body and on the drop of its body:
//!
//! | field | value |
//! |---|---|
//! | `name` | its [`CoroutineName`](crate::CoroutineName) (the macros name a coroutine after their source location), else its kind |
//! | `id` | its [`CoroutineId`](crate::CoroutineId) (every coroutine gets one while coroutine spans are enabled, as in debug mode; a scope builder shares its caller's, as in kotlinx) |
//! | `kind` | `launch`, `async_`, `scope` (`coroutine_scope`, `with_context`, `with_timeout`, `non_cancellable`) or `supervisor_scope` |
//! | `dispatcher` | the dispatcher its context names, if any |
//!
//! `launch` and `async_` spans are at `INFO`, scope builders' at `DEBUG` (so a plain `INFO` log
//! shows the coroutines and not every scope level, as kotlinx's `DebugProbes` hides scoped
//! coroutines).
//!
//! **The parent of a coroutine's span is the span of its parent coroutine** (the nearest
//! ancestor in the job tree whose span is enabled), set explicitly: not the span that happened
//! to be current where `launch` was called. A coroutine's span therefore stays inside its
//! parent's, as the job stays inside its parent's job, whichever thread or span launched it. A
//! coroutine with no coroutine above it (a child of a `Scope`'s own job) has a root span, which
//! *follows from* the span current at the launch: `follows_from` records what caused the
//! coroutine (the request handler that launched into a service's scope) without making it part
//! of that span's time, which it may outlive. That is the only use of `follows_from`. Spans a
//! body enters itself nest under its coroutine's span as usual.
//!
//! # Events
//!
//! | when | level | where | fields |
//! |---|---|---|---|
//! | a failure is *handled*: given to an exception handler (the coroutine's or the global one), returned by a `Deferred`, or returned by a scope builder | `ERROR` | the span of the coroutine that handled it | `error`, `suppressed`, `handled_by` |
//! | a coroutine is cancelled (by a `cancel`, its parent, or a failure elsewhere in the tree; not its own failure) | `DEBUG` | its span | `cause`, `kind` |
//! | a `NonCancellable` section (a `non_cancellable` block, `with_context(NonCancellable, ..)`, the cleanup of a `try_finally`) starts and ends | `TRACE` | the span of the coroutine it runs in | `section` |
//!
//! A failure yields one error event, however many places it passes: it is marked when its event
//! is emitted, so the same failure returned by a scope, then by the coroutine around it, then
//! given to its handler is reported where it was first handled. A scope builder's own timeout
//! (returned as a value, or as `Ok(None)` by `with_timeout_or_none`) is not a failure event there.
//! A failure attached as suppressed to one whose event is out already (a sibling's cleanup that
//! fails after the first failure was returned by a `Deferred`) gets an event of its own
//! (`handled_by = "suppressed on a failure reported before"`).
//!
//! The mark is on the `CoroutineError`: a failure converted into another error type (`anyhow`,
//! a `Box<dyn Error>` of your own) and back into a `CoroutineError` is a new error, so it may
//! be reported twice, once under each identity. Return `CoroutineError` (or `?` it into one
//! without wrapping) where one report matters.
//!
//! # Limits
//!
//! - **A span lives as long as its job**: it closes when the last handle on the job
//!   (`Coroutine`, `Deferred`, `Job`, a child's link) is dropped, not when the coroutine ends;
//!   a child's span keeps its ancestors' open. Keeping 2,000 finished `Deferred`s keeps 2,000
//!   spans, and a `FmtSpan::CLOSE` time measures the handle's life.
//! - **Deep trees and `tracing-subscriber`**: the span tree is as deep as the job tree, and
//!   `tracing-subscriber`'s `Registry` closes a parent's span from inside its child's close,
//!   recursively (tokio-rs/tracing#1147). A chain of a few thousand nested coroutines (about
//!   3,000 with `fmt()` in release, 1,000 in a debug build, on a 2 MiB thread) overflows the
//!   stack of the thread that drops the last span. The job tree itself has no such limit (it is
//!   tested 10,000 deep); keep the `tracing` feature off, or the subscriber above `INFO`, for
//!   such chains.
//! - **Serializing a snapshot recurses** (the `serde` feature): `serde_json::to_string` of a
//!   chain overflows a 2 MiB thread at about 3,000 levels in a debug build and 20,000 in
//!   release (`to_value` at fewer). The snapshot, its text and its drop do not recurse.

//!
//! # tokio-console
//!
//! Under `RUSTFLAGS="--cfg tokio_unstable"` with the `tracing` feature (which turns on tokio's
//! own `tracing` feature, needed by its task builder), each coroutine that runs as a tokio task
//! of its own (on `default()` or a runtime's dispatcher; views and `unconfined()` run coroutines
//! inside tasks of their own schedulers) is spawned with `tokio::task::Builder::name`: its
//! `CoroutineName` and id, so tokio-console lists it by name. tokio-console shows tasks flat;
//! the tree is in the spans. See `examples/console.rs` of the `scopes` crate.
