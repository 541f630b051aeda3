//! Dispatchers: which threads run a coroutine.
//!
//! Everything runs on tokio. A [`Dispatcher`] is a context element; a coroutine runs on the
//! dispatcher in its context. A scope whose context names no dispatcher uses the tokio runtime it
//! was created in (`Scope::new` records it), so a `#[tokio::main]` program needs no second
//! runtime; with no runtime at all, launching is an error that says how to fix it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::context::{ContextElement, CoroutineContext};

/// Decides which threads run a coroutine. Cheap to clone.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

enum Inner {
    Runtime(Handle),
}

/// The dispatchers.
#[derive(Debug)]
pub struct Dispatchers(());

impl Dispatchers {
    /// A tokio runtime of yours as a dispatcher: coroutines on it are spawned on `handle`.
    pub fn from_handle(handle: Handle) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner::Runtime(handle)),
        }
    }
}

impl Dispatcher {
    /// The tokio runtime this dispatcher spawns on.
    pub fn handle(&self) -> &Handle {
        match &*self.inner {
            Inner::Runtime(handle) => handle,
        }
    }

    /// True if both are the same dispatcher.
    pub fn ptr_eq(&self, other: &Dispatcher) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
        drop(self.handle().spawn(task));
    }
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Inner::Runtime(handle) => match handle.runtime_flavor() {
                RuntimeFlavor::CurrentThread => f.write_str("TokioRuntime(current_thread)"),
                RuntimeFlavor::MultiThread => f.write_str("TokioRuntime(multi_thread)"),
                _ => f.write_str("TokioRuntime"),
            },
        }
    }
}

impl ContextElement for Dispatcher {}
crate::__context_add!(Dispatcher);

const NO_RUNTIME: &str = "scopes: cannot start a coroutine: its context names no dispatcher and \
this thread is not inside a tokio runtime; create the scope inside the runtime (Scope::new \
records it), or add `Dispatchers::from_handle(handle)` to the scope's context";

/// The tokio runtime a coroutine with `context` runs on.
pub(crate) fn handle_for(context: &CoroutineContext) -> Handle {
    match context.get::<Dispatcher>() {
        Some(dispatcher) => dispatcher.handle().clone(),
        None => Handle::try_current().expect(NO_RUNTIME),
    }
}

/// Spawns the task of a coroutine with `context`.
pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(context: &CoroutineContext, task: F) {
    match context.get::<Dispatcher>() {
        Some(dispatcher) => dispatcher.spawn(task),
        None => drop(Handle::try_current().expect(NO_RUNTIME).spawn(task)),
    }
}
