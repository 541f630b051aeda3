//! The launch builder: a coroutine's name, extra context and start mode, given by name, before
//! it is launched (`scope.coroutine().name("upload").launch(fut)`).
//!
//! Kotlin writes `launch(CoroutineName("upload"), start = CoroutineStart.LAZY) { }` with named,
//! defaulted arguments; Rust has neither, so the builder stands for them. It only gathers the
//! arguments: launching goes through the scope's `launch_with` / `async_with`, so it behaves
//! exactly as they do.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::context::{CoroutineContext, CoroutineName, IntoContext};
use crate::coroutine::{Coroutine, CoroutineStart, Deferred};
use crate::error::{CoroutineResult, LaunchResult};
use crate::scope::CoroutineScope;

/// The arguments of a coroutine to launch in a scope: made by
/// [`CoroutineScope::coroutine`], finished by [`launch`](Self::launch) or
/// [`async_`](Self::async_).
///
/// Each setter may be given in any order; the context combines as `+` does (a later element of
/// a type replaces an earlier one, so a later [`name`](Self::name) wins).
///
/// ```
/// use scopes_runtime::{CoroutineName, CoroutineScope, CoroutineStart, Dispatchers, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let upload = scope
///     .coroutine()
///     .name("upload")
///     .context(Dispatchers::io())
///     .start(CoroutineStart::Lazy)
///     .launch(async { /* the work */ });
/// assert!(scope.dump().contains("\"upload\""));
/// upload.join().await; // a lazy coroutine starts when joined
///
/// let size = scope.coroutine().name("size").async_(async { 42 });
/// assert_eq!(size.await.unwrap(), 42);
/// # }
/// ```
#[must_use = "nothing is launched until `.launch(fut)` or `.async_(fut)`"]
pub struct CoroutineBuilder<'a, S: ?Sized> {
    scope: &'a S,
    context: CoroutineContext,
    start: CoroutineStart,
}

impl<'a, S: CoroutineScope + ?Sized> CoroutineBuilder<'a, S> {
    pub(crate) fn new(scope: &'a S) -> Self {
        CoroutineBuilder {
            scope,
            context: CoroutineContext::new(),
            start: CoroutineStart::Default,
        }
    }

    /// Names the coroutine ([`CoroutineName`]): it shows in `dump()`, `Debug` and failure
    /// reports, and its children inherit it.
    pub fn name(self, name: impl Into<Arc<str>>) -> Self {
        self.context(CoroutineName::new(name))
    }

    /// Adds context elements (a dispatcher, a handler, an element of yours), combined with `+`.
    /// A [`Job`](crate::Job) given here becomes the coroutine's parent instead of the scope's
    /// job, as with [`CoroutineScope::launch_with`].
    pub fn context(mut self, context: impl IntoContext) -> Self {
        self.context = self.context + context;
        self
    }

    /// The start mode ([`CoroutineStart::Default`] if not given).
    pub fn start(mut self, start: CoroutineStart) -> Self {
        self.start = start;
        self
    }

    /// Launches the coroutine, as [`CoroutineScope::launch`] does.
    pub fn launch<F>(self, body: F) -> Coroutine
    where
        F: Future + Send + 'static,
        F::Output: LaunchResult,
    {
        self.scope.launch_with(self.context, self.start, body)
    }

    /// Starts the coroutine for its value, as [`CoroutineScope::async_`] does.
    pub fn async_<F>(self, body: F) -> Deferred<<F::Output as CoroutineResult>::Value>
    where
        F: Future + Send + 'static,
        F::Output: CoroutineResult,
        <F::Output as CoroutineResult>::Value: Send + 'static,
    {
        self.scope.async_with(self.context, self.start, body)
    }
}

impl<S: ?Sized> fmt::Debug for CoroutineBuilder<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoroutineBuilder")
            .field("context", &self.context)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}
