//! Scopes: where coroutines live.
//!
//! A [`Scope`] owns a job tree: every coroutine launched in it is a child of its job, and
//! dropping the `Scope` cancels them all (like an Android `viewModelScope` when the view model is
//! cleared). A [`ScopeHandle`] is a cloneable, non-owning view of a scope to pass into services;
//! inside a coroutine, [`current_scope()`] is the handle of the running coroutine, so what it
//! launches are its own children.

use std::fmt;
use std::future::Future;

use crate::context::{CoroutineContext, IntoContext};
use crate::coroutine::{Coroutine, CoroutineStart, Deferred, start_coroutine};
use crate::dispatcher::{Dispatcher, Dispatchers};
use crate::error::{CoroutineResult, LaunchResult};
use crate::frame;
use crate::job::{Job, Kind};
use crate::launcher::CoroutineBuilder;

/// Something with a coroutine context: a scope, a scope handle, or a struct of yours that owns a
/// scope. The provided methods launch coroutines as children of the context's job.
///
/// # How to launch
///
/// - [`launch(fut)`](Self::launch) / [`async_(fut)`](Self::async_): no name, the scope's
///   context, started at once. The common case.
/// - [`coroutine()`](Self::coroutine), then any of `.name(..)`, `.context(..)`, `.start(..)`,
///   then `.launch(fut)` / `.async_(fut)`: **the** way to give a name, extra context or a start
///   mode (Kotlin's `launch(CoroutineName("upload"), start = LAZY) { }`). Give only what you
///   need; the rest keeps its default.
/// - [`launch_with(context, start, fut)`](Self::launch_with) /
///   [`async_with`](Self::async_with): the positional form the builder calls. It stays for
///   code that already holds a whole `CoroutineContext` and a `CoroutineStart` as values (a
///   generic helper that forwards them); do not reach for it just to add a name.
/// - In the macro DSL, `launch!(scope, context => { body })` (and `async_!`) adds context the
///   same way, `?` works in the body, and an unnamed coroutine is named after its source line;
///   for a start mode other than `Default`, use the builder.
///
/// ```
/// use scopes_runtime::{CoroutineScope, CoroutineStart, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// scope.launch(async { /* unnamed, started at once */ });
/// let upload = scope.coroutine().name("upload").launch(async { /* .. */ });
/// let report = scope
///     .coroutine()
///     .name("report")
///     .start(CoroutineStart::Lazy)
///     .async_(async { "done" });
/// upload.join().await;
/// assert_eq!(report.await.unwrap(), "done"); // awaiting starts it
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a coroutine scope",
    label = "coroutines are launched in a `Scope`, a `ScopeHandle`, or a struct marked `#[coroutine_scope]`",
    note = "if `{Self}` holds a `Scope`, mark the struct `#[scopes::coroutine_scope]`, or launch in its field: `launch!(self.scope, {{ .. }})`"
)]
pub trait CoroutineScope {
    /// The context coroutines launched here inherit. It holds the scope's job.
    fn coroutine_context(&self) -> &CoroutineContext;

    /// A coroutine to launch here, with a name, extra context or a start mode given by name:
    /// `scope.coroutine().name("upload").start(CoroutineStart::Lazy).launch(fut)`. See
    /// [`CoroutineBuilder`] and [how to launch](Self#how-to-launch).
    fn coroutine(&self) -> CoroutineBuilder<'_, Self> {
        CoroutineBuilder::new(self)
    }

    /// Launches a coroutine that runs `body` as a child of this scope's job. The body returns
    /// `()` or `Result<(), E>` (or never returns); an error is the coroutine's failure.
    fn launch<F>(&self, body: F) -> Coroutine
    where
        F: Future + Send + 'static,
        F::Output: LaunchResult,
    {
        self.launch_with(CoroutineContext::new(), CoroutineStart::Default, body)
    }

    /// Launches with extra context elements (a name, a handler, ...) and a start mode. A `Job`
    /// in `context` becomes the coroutine's parent instead of the scope's job. To give only some
    /// of them, [`coroutine()`](Self::coroutine) says which by name.
    fn launch_with<F>(&self, context: impl IntoContext, start: CoroutineStart, body: F) -> Coroutine
    where
        F: Future + Send + 'static,
        F::Output: LaunchResult,
    {
        let job = start_coroutine(
            self.coroutine_context(),
            context.into_context(),
            start,
            Kind::Launch,
            body,
            LaunchResult::into_launch_result,
        );
        Coroutine::new(job)
    }

    /// Starts a coroutine that computes a value; await the [`Deferred`] for it. A failure is
    /// returned to the awaiters and also cancels a non-supervisor parent.
    fn async_<F>(&self, body: F) -> Deferred<<F::Output as CoroutineResult>::Value>
    where
        F: Future + Send + 'static,
        F::Output: CoroutineResult,
        <F::Output as CoroutineResult>::Value: Send + 'static,
    {
        self.async_with(CoroutineContext::new(), CoroutineStart::Default, body)
    }

    /// [`async_`](Self::async_) with extra context elements and a start mode; see
    /// [`coroutine()`](Self::coroutine) to give only some of them.
    fn async_with<F>(
        &self,
        context: impl IntoContext,
        start: CoroutineStart,
        body: F,
    ) -> Deferred<<F::Output as CoroutineResult>::Value>
    where
        F: Future + Send + 'static,
        F::Output: CoroutineResult,
        <F::Output as CoroutineResult>::Value: Send + 'static,
    {
        Deferred::spawn(
            self.coroutine_context(),
            context.into_context(),
            start,
            body,
        )
    }

    /// The scope's job.
    ///
    /// # Panics
    ///
    /// If the context holds no job (every scope made by this crate has one).
    fn job(&self) -> Job {
        self.coroutine_context()
            .job()
            .cloned()
            .expect("a CoroutineScope's context must hold a Job: build it with `Scope::new`")
    }

    /// Cancels the scope's job, and so every coroutine in it.
    fn cancel(&self) {
        if let Some(job) = self.coroutine_context().job() {
            job.cancel();
        }
    }

    /// True while the scope's job is active.
    fn is_active(&self) -> bool {
        self.coroutine_context().job().is_none_or(Job::is_active)
    }

    /// The live tree of the scope, one line per coroutine; see [`Job::dump`].
    fn dump(&self) -> String {
        self.coroutine_context()
            .job()
            .map(Job::dump)
            .unwrap_or_default()
    }
}

/// A reference to a scope is a scope (so `launch!(self, ..)` works in a method).
impl<T: CoroutineScope + ?Sized> CoroutineScope for &T {
    fn coroutine_context(&self) -> &CoroutineContext {
        (**self).coroutine_context()
    }
}

/// An owning scope: the root of a job tree. Dropping it cancels every coroutine in it.
///
/// ```
/// use scopes_runtime::{CoroutineName, CoroutineScope, Job, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(Job::supervisor() + CoroutineName::new("service"));
/// let child = scope.launch(async { println!("working") });
/// child.join().await;
/// drop(scope); // cancels whatever is still running
/// # }
/// ```
///
/// # Which job a scope owns
///
/// A `Scope` owns the job it creates (when its context has none) and a job given to it that
/// nothing else holds (`Scope::new(Job::supervisor() + handler)`): dropping the scope cancels
/// that job. A job that something else holds when the scope is made (`Scope::new(job.clone())`,
/// `Scope::new(current_context())`) belongs to whoever holds it, and the scope's drop leaves it
/// running, so a temporary `Scope::new(job.clone()).launch(..)` is safe. But if, when the scope
/// is dropped, nothing else holds a standalone job any more (the other holder let go), the scope
/// cancels it too: nobody else could. To wrap a context without owning anything, say so with
/// [`ScopeHandle::new`].
///
/// ```
/// use scopes_runtime::{CoroutineScope, Job, Scope};
///
/// let job = Job::new();
/// drop(Scope::new(job.clone())); // not the scope's job: it keeps running
/// assert!(job.is_active());
///
/// let scope = Scope::new(Job::new()); // the scope's own
/// let owned = scope.job();
/// drop(scope);
/// assert!(owned.is_cancelled());
/// ```
pub struct Scope {
    handle: ScopeHandle,
    /// Whether the scope made its job, or was its only holder when made: dropping it cancels
    /// the job then (and also if it is the job's only holder by then).
    owns_job: bool,
}

impl Scope {
    /// A scope with `context`, plus a new `Job::new()` if it holds no job, plus a dispatcher if
    /// it names none: the tokio runtime it is created in, or `Dispatchers::default()` outside
    /// any runtime. Use `()` for an empty context. See [which job it owns](Scope#which-job-a-scope-owns).
    pub fn new(context: impl IntoContext) -> Scope {
        let mut context = context.into_context();
        let owns_job = match context.job() {
            Some(job) => job.is_sole_handle(),
            None => {
                context = context.with_job(Job::new());
                true
            }
        };
        if !context.contains::<Dispatcher>() {
            let dispatcher = match tokio::runtime::Handle::try_current() {
                Ok(runtime) => Dispatchers::from_handle(runtime),
                Err(_) => Dispatchers::default(),
            };
            context = context.with(dispatcher);
        }
        if owns_job && let Some(job) = context.job() {
            // Its children may be kept for reuse: this scope's drop cancels the job, so what
            // they hold cannot keep the job alive (see `job::recycle`).
            job.set_owner_elements(context.elements_id());
        }
        Scope {
            handle: ScopeHandle { context },
            owns_job,
        }
    }

    /// A cloneable, non-owning handle to this scope, to pass into services.
    pub fn handle(&self) -> ScopeHandle {
        self.handle.clone()
    }

    /// True if dropping this scope now would cancel its job (see
    /// [which job it owns](Scope#which-job-a-scope-owns)).
    pub fn owns_job(&self) -> bool {
        self.owns_job || self.sole_holder()
    }

    /// True if nothing but this scope holds its (standalone) job.
    fn sole_holder(&self) -> bool {
        self.handle.context.job().is_some_and(Job::is_sole_handle)
    }

    /// Completes the scope's job and waits until every coroutine in it has finished. Coroutines
    /// may still be launched while it waits.
    pub async fn complete_and_join(&self) {
        let job = self.job();
        job.complete();
        job.join().await;
    }

    /// Cancels the scope's job (every coroutine in it) and waits until all of them are gone,
    /// their cleanup included. Launches after it are cancelled at once.
    pub async fn cancel_and_join(&self) {
        let job = self.job();
        job.cancel();
        job.join().await;
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.owns_job() {
            self.handle.cancel();
        }
    }
}

impl CoroutineScope for Scope {
    fn coroutine_context(&self) -> &CoroutineContext {
        &self.handle.context
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CoroutineScope(coroutineContext={:?})",
            self.handle.context
        )
    }
}

/// A cloneable, non-owning handle to a scope: launching through it adds children to the scope's
/// job; dropping it cancels nothing.
///
/// ```
/// use scopes_runtime::{Coroutine, CoroutineScope, Job, Scope, ScopeHandle};
///
/// // A service takes a handle: it launches into its owner's scope, but cannot end it.
/// struct Mailer { scope: ScopeHandle }
/// impl Mailer {
///     fn send(&self, to: &'static str) -> Coroutine {
///         self.scope.launch(async move { println!("mail to {to}") })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let app = Scope::new(Job::supervisor());
/// let mailer = Mailer { scope: app.handle() };
/// mailer.send("ann").join().await;
/// drop(mailer); // a handle owns nothing: the scope stays active
/// assert!(app.job().is_active());
/// # }
/// ```
#[derive(Clone)]
pub struct ScopeHandle {
    context: CoroutineContext,
}

impl ScopeHandle {
    /// A non-owning scope over `context` (kotlinx's `CoroutineScope(context)`): what it launches
    /// are children of the context's job; dropping it cancels nothing. Without a job in the
    /// context its coroutines are roots, like `GlobalScope`'s.
    ///
    /// ```
    /// use scopes_runtime::{CoroutineScope, Job, ScopeHandle};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let service_job = Job::supervisor();
    /// let scope = ScopeHandle::new(service_job.clone());
    /// scope.launch(async {}).join().await;
    /// drop(scope);
    /// assert!(service_job.is_active()); // still the service's to end
    /// # }
    /// ```
    pub fn new(context: impl IntoContext) -> Self {
        ScopeHandle {
            context: context.into_context(),
        }
    }
}

impl CoroutineScope for ScopeHandle {
    fn coroutine_context(&self) -> &CoroutineContext {
        &self.context
    }
}

impl fmt::Debug for ScopeHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopeHandle(coroutineContext={:?})", self.context)
    }
}

/// The scope of the running coroutine (or scope block): what it launches are its children.
///
/// # Panics
///
/// Outside a coroutine. Use [`try_current_scope`] to ask.
///
/// ```
/// use scopes_runtime::{CoroutineScope, Scope, current_scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let parent = scope.launch(async {
///     current_scope().launch(async { /* a child of `parent` */ });
/// });
/// parent.join().await; // waits for the child too
/// # }
/// ```
pub fn current_scope() -> ScopeHandle {
    try_current_scope().expect(
        "`current_scope()` was called outside a coroutine: call it inside a body run by `launch`, \
         `async_` or a scope builder, or pass a `ScopeHandle` in",
    )
}

/// The scope of the running coroutine, or `None` outside a coroutine.
///
/// ```
/// use scopes_runtime::{CoroutineScope, Scope, try_current_scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert!(try_current_scope().is_none(), "not in a coroutine");
/// let scope = Scope::new(());
/// let inside = scope.async_(async { try_current_scope().is_some() });
/// assert!(inside.await.unwrap());
/// # }
/// ```
pub fn try_current_scope() -> Option<ScopeHandle> {
    frame::with_current(|f| f.map(|f| ScopeHandle::new(f.context())))
}

/// The context of the running coroutine; the empty context outside a coroutine.
///
/// ```
/// use scopes_runtime::{CoroutineName, CoroutineScope, Scope, current_context};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(CoroutineName::new("loader"));
/// let name = scope.async_(async {
///     current_context().get::<CoroutineName>().unwrap().as_str().to_owned()
/// });
/// assert_eq!(name.await.unwrap(), "loader");
/// assert!(current_context().is_empty(), "outside coroutines: the empty context");
/// # }
/// ```
pub fn current_context() -> CoroutineContext {
    frame::with_current(|f| f.map(|f| f.context())).unwrap_or_default()
}
