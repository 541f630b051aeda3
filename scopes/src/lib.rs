//! # scopes
//!
//! Kotlin's structured concurrency for tokio: coroutines live in scopes, scopes own job trees,
//! failures travel up the tree and cancellation travels down it, and exception handlers catch
//! what nobody awaited.
//!
//! ```
//! use scopes::prelude::*;
//!
//! async fn fetch(page: u32) -> Result<usize, std::io::Error> {
//!     Ok(page as usize * 100)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let scope = Scope::new(Job::supervisor() + CoroutineName::new("app"));
//! let total = scope.async_(async {
//!     // Fan out; the first failure cancels the other fetches and is returned.
//!     coroutine_scope(|s| async move {
//!         let pages: Vec<_> = (1..=3).map(|p| s.async_(fetch(p))).collect();
//!         let mut total = 0;
//!         for page in pages {
//!             total += page.await?;
//!         }
//!         Ok::<_, CoroutineError>(total)
//!     })
//!     .await
//! });
//! assert_eq!(total.await.unwrap(), 600);
//! # }
//! ```
//!
//! The rules, one per line:
//!
//! - **A parent is not complete until every child is.** `join` on a coroutine waits for its
//!   whole subtree; a `coroutine_scope` returns when everything launched in it has finished.
//! - **A child's failure cancels its parent** (and so its siblings) and travels up to the root;
//!   **a cancellation does not travel up**. Cancelling a parent cancels every descendant.
//! - **The first failure wins**; later ones are kept on it as
//!   [`suppressed`](CoroutineError::suppressed), never dropped.
//! - **Supervisors isolate**: under [`Job::supervisor()`] or [`supervisor_scope`], a child's
//!   failure cancels no one else and goes to the [`CoroutineExceptionHandler`] in the child's
//!   own context.
//! - **Nothing is lost**: a failure that reaches a root `launch` goes to its handler, or the
//!   global one (a line on stderr); `async_` keeps its failure for the awaiter, and reports it
//!   if every `Deferred` is dropped unobserved.
//! - **Timeouts are values**: [`with_timeout`] returns a timed-out error; with `?` it is a
//!   failure like any other.
//! - **Every `.await` is a cancellation point**; the body is dropped there, so destructors run.
//!   Async cleanup goes in [`try_finally`], [`non_cancellable`] or
//!   `with_context(NonCancellable, ..)`.
//! - **Dispatchers decide the threads**: [`Dispatchers::default()`] for CPU work,
//!   [`Dispatchers::io()`] for blocking work (64 at once), `limited_parallelism(n)` views,
//!   `main()` for one designated thread; `with_context(dispatcher, ..)` hops there and back, and
//!   [`require_dispatcher`] checks a function's contract (views satisfy their parent).
//! - **Context follows the coroutine** across hops: [`current_context()`], and
//!   [`thread_local_element`] for a `thread_local!` value.
//!
//! See the README for the Kotlin → scopes table.

pub use scopes_runtime::*;

/// The names most programs use: `use scopes::prelude::*;`.
pub mod prelude {
    pub use scopes_runtime::{
        Coroutine, CoroutineContext, CoroutineError, CoroutineExceptionHandler, CoroutineName,
        CoroutineScope, CoroutineStart, Deferred, Dispatchers, Job, NonCancellable, Scope,
        ScopeHandle, coroutine_scope, current_context, current_scope, delay, ensure_active,
        is_active, non_cancellable, supervisor_scope, try_finally, with_context, with_timeout,
        with_timeout_or_none, yield_now,
    };
}

/// The README's example, compiled and run as a doc test so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
