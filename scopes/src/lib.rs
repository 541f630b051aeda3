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
//!   failure like any other. A [`Deadline`] bounds a whole scope, children included.
//! - **Every `.await` is a cancellation point**; the body is dropped there, so destructors run.
//!   Async cleanup goes in [`try_finally`] (or [`try_finally_with`], told how the body ended),
//!   [`non_cancellable`] or `with_context(NonCancellable, ..)`.
//! - **Dropping a builder's future cancels what it started**: a [`coroutine_scope()`] or
//!   [`with_context()`] that loses a `select!` or hits `tokio::time::timeout` cancels its block and
//!   children; nothing it launched keeps running.
//! - **A panic anywhere is a failure**: in a body, its `Drop`, a handler or a conversion; it is
//!   reported like any other, and the rest of the tree still ends.
//! - **A `Scope` owns its job**, and dropping it cancels the job, unless something else held the
//!   job when the scope was made ([which job a scope owns](Scope#which-job-a-scope-owns));
//!   [`ScopeHandle::new`] wraps a context without owning it. A standalone [`Job`] whose last
//!   handle is dropped completes, so nothing waits for a job nobody can end.
//! - **Dispatchers decide the threads**: [`Dispatchers::default()`] for CPU work,
//!   [`Dispatchers::io()`] for blocking work (64 at once), `limited_parallelism(n)` views,
//!   `main()` for one designated thread; `with_context(dispatcher, ..)` hops there and back, and
//!   [`require_dispatcher`] checks a function's contract (views satisfy their parent).
//! - **Context follows the coroutine** across hops: [`current_context()`], and
//!   [`thread_local_element`] for a `thread_local!` value.
//!
//! - **Observable**: [`Job::dump`] and [`Job::snapshot`] show the live tree; with the `tracing`
//!   feature each coroutine has a span whose parent is its parent coroutine's, and failures
//!   (where handled, once), cancellations and `NonCancellable` sections are events (README,
//!   "Observability"); [`quiet_coroutine_panics`] makes a coroutine's panic one report.
//!
//! The [`guide`] has a chapter per concept: [from Kotlin](guide::from_kotlin) (the table of
//! names and the deliberate differences), [the job tree](guide::job_tree),
//! [cancellation and cleanup](guide::cancellation), [dispatchers](guide::dispatchers),
//! [testing](guide::testing), [shutting down a service](guide::shutdown), [flows](guide::flows)
//! and [observability](guide::observability).

pub use scopes_runtime::*;

pub mod guide;

/// Makes a struct with named fields a [`CoroutineScope`] that owns its scope.
///
/// The struct keeps its [`Scope`] in a field marked `#[scope]` (or in its only field of type
/// `Scope`); dropping the struct cancels the scope, like a view model's scope when it is
/// cleared. `#[coroutine_scope(context = EXPR)]` sets the context of the scopes that the
/// generated `Self::new_scope()` makes (default: a `Job::new()`); `Self::scope_context()` gives
/// that context, with a new job, to extend first: `Scope::new(Self::scope_context() + handler)`.
///
/// ```
/// use scopes::prelude::*;
/// use scopes::coroutine_scope;
///
/// #[coroutine_scope(context = Job::supervisor() + Dispatchers::io().limited_parallelism(4))]
/// struct Uploader {
///     #[scope]
///     scope: Scope,
///     bucket: String,
/// }
///
/// impl Uploader {
///     fn new(bucket: &str) -> Self {
///         Uploader { scope: Self::new_scope(), bucket: bucket.to_owned() }
///     }
///     fn upload(&self, name: String) -> Coroutine {
///         let bucket = self.bucket.clone();
///         self.launch(async move { println!("{bucket}/{name}") })
///     }
/// }
///
/// # #[tokio::main] async fn main() {
/// let uploader = Uploader::new("photos");
/// uploader.upload("cat.png".into()).join().await;
/// drop(uploader); // cancels whatever is still uploading
/// # }
/// ```
///
/// Equivalent code without the macro:
///
/// ```
/// # use scopes::prelude::*;
/// struct Uploader { scope: Scope, bucket: String }
/// impl CoroutineScope for Uploader {
///     fn coroutine_context(&self) -> &CoroutineContext { self.scope.coroutine_context() }
/// }
/// impl Uploader {
///     pub fn scope_context() -> CoroutineContext {
///         Job::supervisor() + Dispatchers::io().limited_parallelism(4)
///     }
///     pub fn new_scope() -> Scope { Scope::new(Self::scope_context()) }
/// }
/// ```
pub use scopes_macros::coroutine_scope;

/// Launches a coroutine: `launch!({ body })`, `launch!(scope, { body })`,
/// `launch!(context => { body })` or `launch!(scope, context => { body })`.
///
/// Without a scope it launches a child of the running coroutine ([`current_scope()`]). The body
/// may use `?` on any error that converts into a boxed `std::error::Error`; its value is `()`.
/// Without a [`CoroutineName`] in the context the coroutine is named after the macro's place in
/// the source (`file:line`), so [`Job::dump`] says where each coroutine came from. The macro
/// takes no start mode: for a lazy (or atomic, undispatched) start, use the builder,
/// `scope.coroutine().name("upload").start(CoroutineStart::Lazy).launch(fut)`
/// ([`CoroutineScope::coroutine`]).
///
/// ```
/// use scopes::prelude::*;
/// use scopes::launch;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let worker = launch!(scope, CoroutineName::new("worker") => {
///     let n: u32 = "42".parse()?;
///     launch!({ println!("a child of worker: {n}") });
/// });
/// worker.join().await;
/// assert!(worker.final_error().is_none());
/// # }
/// ```
///
/// Equivalent code without the macro (`launch!(scope, { body })`):
///
/// ```
/// # use scopes::prelude::*;
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap(); let _g = rt.enter();
/// # let scope = Scope::new(());
/// scope.launch_with(CoroutineName::new(concat!(file!(), ":", line!())), CoroutineStart::Default, async move {
///     /* body */
///     Ok::<(), scopes::BoxError>(())
/// });
/// ```
pub use scopes_macros::launch;

/// `launch!`'s companion for [`CoroutineScope::async_`] (the keyword `async` cannot name a
/// macro): same syntax; the body's value is the `Deferred`'s value, and `?` fails it.
///
/// ```
/// use scopes::prelude::*;
/// use scopes::async_;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let parsed = async_!(scope, { "7".parse::<u8>()? * 6 });
/// assert_eq!(parsed.await.unwrap(), 42);
/// # }
/// ```
///
/// Equivalent code without the macro: `scope.async_with(name, CoroutineStart::Default, async
/// move { Ok::<_, scopes::BoxError>({ body }) })`, named as for `launch!`.
pub use scopes_macros::async_;

/// `with_context!(context, { body })`: runs the body with `context` (hopping to its dispatcher)
/// and awaits it; `?` works in the body. It awaits, so it belongs in async code.
///
/// ```
/// use scopes::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let text = scopes::with_context!(Dispatchers::io(), {
///     std::fs::read_to_string("Cargo.toml")?
/// });
/// assert!(text.unwrap().contains("[package]"));
/// # }
/// ```
///
/// Equivalent code without the macro:
/// `with_context(context, async move { Ok::<_, scopes::BoxError>({ body }) }).await`.
pub use scopes_macros::with_context;

/// `suspend!(|cont| ..)`: the continuation bridge, awaited (Kotlin's `suspendCoroutine { cont
/// -> .. }`): a callback API becomes a suspension. `suspend!(cancellable |cont| ..)` is
/// [`suspend_cancellable_coroutine`], which a cancellation resumes at once.
///
/// ```
/// use scopes::suspend;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let value: Result<u8, _> = suspend!(|cont| {
///     std::thread::spawn(move || cont.resume(5));
/// });
/// assert_eq!(value.unwrap(), 5);
/// # }
/// ```
///
/// Equivalent code without the macro: `scopes::suspend_coroutine(|cont| ..).await`.
pub use scopes_macros::suspend;

/// `suspend!` under its first name, named after the function it calls; kept so code written
/// with it compiles. Prefer [`suspend!`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let value: Result<u8, _> = scopes::suspend_coroutine!(|cont| cont.resume(5));
/// assert_eq!(value.unwrap(), 5);
/// # }
/// ```
pub use scopes_macros::suspend_coroutine;

/// An `async fn`'s dispatcher contract (first named `#[suspend]`, now [`suspend!`]'s name).
///
/// - `#[dispatched(on = DISPATCHER)]`: the body runs on that dispatcher (no hop when already
///   there), whoever calls it. Its arguments must be owned, since the body may move to another
///   thread.
/// - `#[dispatched(requires = DISPATCHER)]`: on entry, checks that the caller runs on that
///   dispatcher or a view of it, and panics with "expected .., but running on .." if not (in a
///   coroutine, the panic is its failure). The check is the same in debug and release builds.
///
/// ```
/// use scopes::prelude::*;
/// use scopes::dispatched;
///
/// #[dispatched(on = Dispatchers::io())]
/// async fn read_config(path: String) -> std::io::Result<String> {
///     std::fs::read_to_string(path) // blocking is fine here
/// }
///
/// #[dispatched(requires = Dispatchers::io())]
/// async fn write_blocking(bytes: usize) -> usize {
///     bytes
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert!(read_config("Cargo.toml".into()).await.unwrap().contains("[package]"));
/// let on_view = with_context(Dispatchers::io().limited_parallelism(2), write_blocking(3));
/// assert_eq!(on_view.await.unwrap(), 3);
/// # }
/// ```
///
/// Equivalent code without the macro: for `on`, the body becomes
/// `with_context(DISPATCHER, async move { body }).await` with the body's output passed through;
/// for `requires`, `require_dispatcher(&DISPATCHER)` runs first and panics on `Err`.
pub use scopes_macros::dispatched;

/// `#[derive(ContextElement)]`: your type becomes a context element that combines with `+`
/// on either side. It must be `Debug + Send + Sync + 'static`.
///
/// ```
/// use scopes::prelude::*;
/// use scopes::ContextElement;
///
/// #[derive(Debug, ContextElement)]
/// struct TraceId(u64);
///
/// let ctx = TraceId(7) + CoroutineName::new("handler");
/// assert_eq!(ctx.get::<TraceId>().unwrap().0, 7);
/// let ctx2 = CoroutineName::new("other") + TraceId(8);
/// assert_eq!(format!("{ctx2:?}"), "[CoroutineName(other), TraceId(8)]");
/// ```
///
/// Equivalent code without the macro: `impl scopes::ContextElement for TraceId {}` and an
/// `impl<R: scopes::IntoContext> Add<R> for TraceId` (what [`context_element!`] writes).
pub use scopes_macros::ContextElement;

/// `#[scopes::main]` on `async fn main()` (or `async fn main(scope: ScopeHandle)`): the calling
/// thread becomes `Dispatchers::main()`, the body runs in a root scope on it, and the program
/// waits for every coroutine of that scope before it exits.
///
/// ```no_run
/// use scopes::prelude::*;
///
/// #[scopes::main]
/// async fn main(scope: ScopeHandle) {
///     scope.launch(async { println!("runs before the program exits") });
/// }
/// ```
///
/// Equivalent code without the macro:
///
/// ```no_run
/// # use scopes::prelude::*;
/// fn main() {
///     scopes::run_main(async {
///         let scope = Scope::new(Job::new() + Dispatchers::main());
///         let handle = scope.handle();
///         handle.launch(async { println!("runs before the program exits") });
///         scope.complete_and_join().await;
///     })
/// }
/// ```
pub use scopes_macros::main;

/// `#[scopes::test]` on an `async fn`: a `#[test]` whose body runs as a coroutine on a
/// scheduler of its own, with virtual time on every dispatcher (feature `test-util`; the
/// [`test`](mod@test) module tells what a test scheduler does). The `#[test]` attribute for
/// coroutine code, as `runTest { }` is in kotlinx-coroutines-test.
///
/// - The function takes no parameter, or one: the test's [`TestScope`](test::TestScope), under
///   any pattern (`scope: TestScope`, `_scope: scopes::test::TestScope`).
/// - It ends in `()` or `Result<(), E>`; an `Err` fails the test, as does a panic or an
///   unhandled failure of any coroutine of the test.
/// - `#[scopes::test(seed = 7, time_limit_ms = 500)]` sets [`Test::seed`](test::Test::seed)
///   and [`Test::time_limit`](test::Test::time_limit) (in milliseconds); both are optional.
/// - Its other attributes stay on the `#[test]`: `#[ignore]`, `#[should_panic(expected =
///   "..")]` (a failed test panics with a message that contains the body's panic message or
///   error).
/// - It cannot be generic, take `self`, or be `const`, `unsafe` or `extern`; and it is not
///   marked `#[test]` as well.
///
/// ```
/// use std::time::Duration;
/// use scopes::prelude::*;
/// use scopes::test::TestScope;
///
/// #[scopes::test]
/// async fn an_hour_in_no_time(scope: TestScope) {
///     let reminder = scope.async_(async {
///         delay(Duration::from_secs(3600)).await;
///         "time's up"
///     });
///     assert_eq!(reminder.await.unwrap(), "time's up");
///     assert_eq!(scope.current_time(), Duration::from_secs(3600));
/// }
///
/// #[scopes::test(seed = 7, time_limit_ms = 5000)]
/// async fn with_a_seed(scope: TestScope) -> Result<(), std::io::Error> {
///     assert_eq!(scope.seed(), Some(7));
///     Ok(())
/// }
/// ```
///
/// Equivalent code without the macro:
///
/// ```
/// use std::time::Duration;
/// use scopes::test::{Test, TestScope};
///
/// # /*
/// #[test]
/// # */
/// fn with_a_seed() {
///     Test::new()
///         .seed(7)
///         .time_limit(Duration::from_millis(5000))
///         .run(|scope: TestScope| async move {
///             assert_eq!(scope.seed(), Some(7));
///             Ok::<(), std::io::Error>(())
///         });
/// }
/// # with_a_seed();
/// ```
#[cfg(feature = "test-util")]
pub use scopes_macros::test;

/// The names most programs use: `use scopes::prelude::*;`.
pub mod prelude {
    pub use scopes_runtime::{
        Coroutine, CoroutineContext, CoroutineError, CoroutineExceptionHandler, CoroutineName,
        CoroutineScope, CoroutineStart, Deferred, Dispatchers, Job, NonCancellable, Scope,
        ScopeHandle, coroutine_scope, current_context, current_scope, delay, ensure_active,
        is_active, non_cancellable, supervisor_scope, try_finally, with_context, with_timeout,
        with_timeout_or_none, yield_now,
    };
    pub use scopes_runtime::{Select, all_successful, await_all, first_success, join_all};
}

/// The README's example, compiled and run as a doc test so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
