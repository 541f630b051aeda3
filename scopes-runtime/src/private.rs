//! What the macros' generated code calls, through `::scopes::__private`. Not public API: the
//! names may change with any release.

use std::future::Future;

use crate::builders::with_context;
use crate::context::{CoroutineContext, CoroutineName, IntoContext};
use crate::coroutine::{Coroutine, CoroutineStart, Deferred};
use crate::dispatcher::{Dispatcher, Dispatchers, require_dispatcher, run_main};
/// How `CoroutineResult` is implemented for `!` on stable Rust.
pub use crate::error::NeverOutput;
use crate::error::{BoxError, CoroutineError, CoroutineResult};
use crate::frame;
use crate::job::Job;
use crate::scope::{CoroutineScope, Scope, ScopeHandle};

/// `context`, named after `location` unless it names the coroutine itself.
fn named(context: impl IntoContext, location: &'static str) -> CoroutineContext {
    let context = context.into_context();
    if context.contains::<CoroutineName>() {
        context
    } else {
        context.with(CoroutineName::new(location))
    }
}

/// `launch!`.
pub fn launch<S, C, F>(scope: &S, context: C, location: &'static str, body: F) -> Coroutine
where
    S: CoroutineScope + ?Sized,
    C: IntoContext,
    F: Future<Output = Result<(), BoxError>> + Send + 'static,
{
    scope.launch_with(named(context, location), CoroutineStart::Default, body)
}

/// `async_!`.
pub fn async_<S, C, F, T>(scope: &S, context: C, location: &'static str, body: F) -> Deferred<T>
where
    S: CoroutineScope + ?Sized,
    C: IntoContext,
    F: Future<Output = Result<T, BoxError>> + Send + 'static,
    T: Send + 'static,
{
    scope.async_with(named(context, location), CoroutineStart::Default, body)
}

/// Never implemented: the bound that makes `.await` on a [`Coroutine`] a compile error (see the
/// `IntoFuture` impl in `coroutine.rs`).
pub trait JoinItToAwaitIt {}

/// A value that passes through a scope builder as it is, whatever its type.
struct Passthrough<T>(T);

impl<T> CoroutineResult for Passthrough<T> {
    type Value = T;
    fn into_result(self) -> Result<T, CoroutineError> {
        Ok(self.0)
    }
}

/// `#[dispatched(on = ..)]`: the body on `dispatcher`, its output as it is. Without its value the
/// caller cannot go on: a failure of the scope (a child's, a panic) becomes the caller's
/// failure, and a cancellation (the caller's own, one from inside the body, or the target's
/// runtime shutting down) cancels the caller, as the exception a `withContext` throws would
/// end it. The caller then stops at this suspension.
///
/// # Panics
///
/// Outside a coroutine, or inside a `NonCancellable` section, where the caller cannot be
/// stopped: the panic names `function` and carries the error.
pub async fn run_on<F>(dispatcher: Dispatcher, function: &'static str, body: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match with_context(dispatcher, async move { Passthrough(body.await) }).await {
        Ok(value) => value,
        Err(error) => {
            let Some(current) = frame::current_frame() else {
                panic!(
                    "`{function}` (#[dispatched(on)]) ended without a value outside any coroutine, \
                     so there is no coroutine to end with it: {error}"
                );
            };
            current.job().cancel_with_error(error.clone());
            if !current.is_cancelled() {
                panic!(
                    "`{function}` (#[dispatched(on)]) ended without a value inside a NonCancellable \
                     section, which cannot stop there: {error}"
                );
            }
            // The caller is cancelling now: its driver drops it at this suspension.
            std::future::pending().await
        }
    }
}

/// `#[dispatched(requires = ..)]`: the contract check on entry.
///
/// # Panics
///
/// If the caller does not run on `dispatcher` or a view of it.
pub fn require(dispatcher: &Dispatcher, function: &str) {
    if let Err(error) = require_dispatcher(dispatcher) {
        panic!("`{function}` requires {dispatcher}: {error}");
    }
}

/// `#[scopes::main]`: the calling thread becomes `Dispatchers::main()`; the body runs in a root
/// scope there; the program waits for the scope's coroutines.
pub fn run_program<F, Fut>(main: F) -> Fut::Output
where
    F: FnOnce(ScopeHandle) -> Fut,
    Fut: Future,
{
    run_main(async move {
        let scope = Scope::new(Job::new() + Dispatchers::main());
        let output = main(scope.handle()).await;
        scope.complete_and_join().await;
        output
    })
}
