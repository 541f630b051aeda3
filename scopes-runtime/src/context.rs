//! `CoroutineContext`: the immutable set of elements a coroutine runs with.
//!
//! A context maps a *key* to one element. The key is the element's type: one `CoroutineName`,
//! one `CoroutineExceptionHandler`, one of each user element. `Job` and `Dispatcher` each have
//! one key whatever their flavour (a supervisor is a `Job`; every dispatcher is a `Dispatcher`).
//! `a + b` is a new context in which `b`'s elements win per key, like Kotlin's `plus`.
//!
//! Representation: the job sits in its own slot and the other elements in a shared slice. A
//! child coroutine's context is its parent's with another job, so deriving it costs two
//! reference counts and no allocation; `+` allocates one new slice.
//!
//! `Debug` prints Kotlin's way, `[CoroutineName(sync), SupervisorJob{Active}, Dispatchers.IO]`:
//! the plain elements in the order they were added, then the job, then the dispatcher.

use std::any::{Any, TypeId};
use std::fmt;
use std::ops::Add;
use std::sync::Arc;

use crate::dispatcher::Dispatcher;
use crate::job::Job;

/// An element of a [`CoroutineContext`]. Its type is its key: a context holds at most one
/// element of each type.
///
/// User elements implement it (and get `+` with [`context_element!`](crate::context_element)):
///
/// ```
/// use scopes_runtime::{context_element, CoroutineContext, CoroutineName};
///
/// #[derive(Debug, Clone, PartialEq)]
/// struct RequestId(u64);
/// context_element!(RequestId);
///
/// let ctx = RequestId(7) + CoroutineName::new("handler");
/// assert_eq!(ctx.get::<RequestId>(), Some(&RequestId(7)));
/// assert_eq!(format!("{ctx:?}"), "[RequestId(7), CoroutineName(handler)]");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a coroutine context element",
    label = "not a context element",
    note = "a context is built from elements: `Job::new()`, `Job::supervisor()`, `CoroutineName::new(..)`, `CoroutineExceptionHandler::new(..)`, `NonCancellable`, a dispatcher, or your own type with `context_element!`"
)]
pub trait ContextElement: Any + Send + Sync + fmt::Debug {
    /// Tells apart elements of one type that are different keys (a thread-local element per
    /// thread-local). Not for user elements.
    #[doc(hidden)]
    fn __key_discriminator(&self) -> usize {
        0
    }

    /// The thread-local this element sets around every poll, if it is a thread-local element.
    #[doc(hidden)]
    fn __thread_local(&self) -> Option<&dyn crate::thread_local::ThreadLocalSwap> {
        None
    }
}

/// Anything that can stand on either side of `+` in a context expression: an element or a whole
/// context.
///
/// ```
/// use scopes_runtime::{CoroutineContext, CoroutineName, IntoContext, Job, Scope};
///
/// // Anything `Scope::new` or `+` takes: an element, a sum of elements, a context, or `()`.
/// fn named(name: &str, extra: impl IntoContext) -> CoroutineContext {
///     CoroutineName::new(name) + extra.into_context()
/// }
/// let ctx = named("worker", Job::supervisor());
/// assert_eq!(ctx.get::<CoroutineName>().unwrap().as_str(), "worker");
/// assert!(ctx.job().unwrap().is_supervisor());
/// assert_eq!(named("alone", ()).len(), 1);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be added to a coroutine context",
    label = "not a context element",
    note = "a context is built from elements: `Job::new()`, `Job::supervisor()`, `CoroutineName::new(..)`, `CoroutineExceptionHandler::new(..)`, `NonCancellable`, a dispatcher, or your own type with `context_element!`",
    note = "if this is the `Coroutine` that `launch` returned: it is a handle, not a job; to give a scope its own job, use `Job::new()` or `Job::supervisor()`"
)]
pub trait IntoContext {
    /// The element (or context) as a context.
    fn into_context(self) -> CoroutineContext;
}

impl<E: ContextElement> IntoContext for E {
    fn into_context(self) -> CoroutineContext {
        CoroutineContext::default().with(self)
    }
}

impl IntoContext for CoroutineContext {
    fn into_context(self) -> CoroutineContext {
        self
    }
}

/// `()` is the empty context: `Scope::new(())`, `launch_with((), ..)`.
impl IntoContext for () {
    fn into_context(self) -> CoroutineContext {
        CoroutineContext::new()
    }
}

/// The immutable set of elements a coroutine runs with: its [`Job`], its dispatcher, its name,
/// its exception handler and any user elements. Cheap to clone.
///
/// ```
/// use scopes_runtime::{CoroutineContext, CoroutineName, Job};
///
/// let ctx = CoroutineName::new("sync") + Job::supervisor();
/// assert_eq!(format!("{ctx:?}"), "[CoroutineName(sync), SupervisorJob{Active}]");
/// // The right side wins per key.
/// let renamed = ctx.clone() + CoroutineName::new("upload");
/// assert_eq!(renamed.get::<CoroutineName>().unwrap().as_str(), "upload");
/// assert!(renamed.minus::<Job>().get::<Job>().is_none());
/// ```
#[derive(Clone, Default)]
pub struct CoroutineContext {
    job: Option<Job>,
    elements: Option<Arc<[Arc<dyn ContextElement>]>>,
}

impl CoroutineContext {
    /// The empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The element of type `E`, if the context holds one (the first, for thread-local elements,
    /// of which a context may hold one per thread-local).
    pub fn get<E: ContextElement>(&self) -> Option<&E> {
        if TypeId::of::<E>() == TypeId::of::<Job>() {
            return self
                .job
                .as_ref()
                .and_then(|job| (job as &dyn Any).downcast_ref::<E>());
        }
        self.elements()
            .iter()
            .find_map(|e| (&**e as &dyn Any).downcast_ref::<E>())
    }

    /// True if the context holds an element of type `E`.
    pub fn contains<E: ContextElement>(&self) -> bool {
        self.get::<E>().is_some()
    }

    /// The job of the context, if any (`get::<Job>()`).
    pub fn job(&self) -> Option<&Job> {
        self.job.as_ref()
    }

    /// The identity of this context's elements (not its job): equal for two contexts that share
    /// them, 0 for none. Compared, never dereferenced.
    pub(crate) fn elements_id(&self) -> usize {
        self.elements
            .as_ref()
            .map_or(0, |e| Arc::as_ptr(e).cast::<()>() as usize)
    }

    /// This context without its element of type `E`.
    pub fn minus<E: ContextElement>(&self) -> Self {
        let key = TypeId::of::<E>();
        if key == TypeId::of::<Job>() {
            return CoroutineContext {
                job: None,
                elements: self.elements.clone(),
            };
        }
        if !self.contains::<E>() {
            return self.clone();
        }
        let kept: Vec<_> = self
            .elements()
            .iter()
            .filter(|e| key_of(e).0 != key)
            .cloned()
            .collect();
        CoroutineContext {
            job: self.job.clone(),
            elements: (!kept.is_empty()).then(|| kept.into()),
        }
    }

    /// This context with `element` in it, replacing the element of the same type.
    pub fn with<E: ContextElement>(&self, element: E) -> Self {
        // A `Job` lives in its own slot; `Option::take` through `dyn Any` moves it out of the
        // generic parameter without `unsafe`.
        let mut slot = Some(element);
        if let Some(job) = (&mut slot as &mut dyn Any).downcast_mut::<Option<Job>>() {
            return self.with_job(job.take().expect("the slot was just filled"));
        }
        let element = slot.expect("the slot is still full");
        let key = (TypeId::of::<E>(), element.__key_discriminator());
        let mut kept: Vec<Arc<dyn ContextElement>> = self
            .elements()
            .iter()
            .filter(|e| key_of(e) != key)
            .cloned()
            .collect();
        kept.push(Arc::new(element));
        CoroutineContext {
            job: self.job.clone(),
            elements: Some(kept.into()),
        }
    }

    /// This context with `job` as its job (no allocation).
    pub(crate) fn with_job(&self, job: Job) -> Self {
        CoroutineContext {
            job: Some(job),
            elements: self.elements.clone(),
        }
    }

    /// Every element: the plain ones in the order they were added, then the job, then the
    /// dispatcher.
    pub fn iter(&self) -> impl Iterator<Item = &dyn ContextElement> + '_ {
        let is_dispatcher =
            |e: &&Arc<dyn ContextElement>| key_of(e).0 == TypeId::of::<Dispatcher>();
        let plain = self.elements().iter().filter(move |e| !is_dispatcher(e));
        let dispatcher = self.elements().iter().filter(is_dispatcher);
        let job = self.job.iter().map(|j| j as &dyn ContextElement);
        plain
            .map(|e| &**e)
            .chain(job)
            .chain(dispatcher.map(|e| &**e))
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.elements().len() + usize::from(self.job.is_some())
    }

    /// True for the empty context.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The thread-local elements, in order: a frame sets them around every poll.
    pub(crate) fn thread_locals(
        &self,
    ) -> impl DoubleEndedIterator<Item = &dyn crate::thread_local::ThreadLocalSwap> {
        self.elements().iter().filter_map(|e| e.__thread_local())
    }

    fn elements(&self) -> &[Arc<dyn ContextElement>] {
        self.elements.as_deref().unwrap_or(&[])
    }

    fn plus(mut self, mut other: CoroutineContext) -> CoroutineContext {
        if let Some(job) = other.job.take() {
            self.job = Some(job);
        }
        if other.elements().is_empty() {
            return self;
        }
        if self.elements().is_empty() {
            self.elements = other.elements;
            return self;
        }
        let mut merged: Vec<Arc<dyn ContextElement>> = self
            .elements()
            .iter()
            .filter(|mine| {
                let key = key_of(mine);
                !other.elements().iter().any(|theirs| key_of(theirs) == key)
            })
            .cloned()
            .collect();
        merged.extend(other.elements().iter().cloned());
        self.elements = Some(merged.into());
        self
    }
}

/// The key of a stored element: its concrete type (read through the vtable, not of the `dyn`)
/// and its discriminator.
fn key_of(element: &Arc<dyn ContextElement>) -> (TypeId, usize) {
    (
        (&**element as &dyn Any).type_id(),
        element.__key_discriminator(),
    )
}

impl fmt::Debug for CoroutineContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, element) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            fmt::Debug::fmt(element, f)?;
        }
        f.write_str("]")
    }
}

impl<R: IntoContext> Add<R> for CoroutineContext {
    type Output = CoroutineContext;
    fn add(self, rhs: R) -> CoroutineContext {
        self.plus(rhs.into_context())
    }
}

/// Implements [`ContextElement`] and `+` for a type of yours, so it can be combined with other
/// elements on either side.
///
/// ```
/// use scopes_runtime::{context_element, CoroutineName};
///
/// #[derive(Debug)]
/// struct TenantId(&'static str);
/// context_element!(TenantId);
///
/// let ctx = CoroutineName::new("job") + TenantId("acme");
/// assert_eq!(ctx.get::<TenantId>().unwrap().0, "acme");
/// ```
#[macro_export]
macro_rules! context_element {
    ($ty:ty) => {
        impl $crate::ContextElement for $ty {}
        $crate::__context_add!($ty);
    };
}

/// `+` for an element type. Used by `context_element!` and for the crate's own elements.
#[doc(hidden)]
#[macro_export]
macro_rules! __context_add {
    ($ty:ty) => {
        impl<R: $crate::IntoContext> ::core::ops::Add<R> for $ty {
            type Output = $crate::CoroutineContext;
            fn add(self, rhs: R) -> $crate::CoroutineContext {
                $crate::IntoContext::into_context(self) + rhs
            }
        }
    };
}

/// The name of a coroutine, for debugging: it appears in `dump()`, in `Debug` of the coroutine
/// and in the global exception handler's line.
///
/// ```
/// use scopes_runtime::{CoroutineName, CoroutineScope, Job, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(Job::new() + CoroutineName::new("sync"));
/// let c = scope.launch(std::future::pending::<()>());
/// assert!(scope.job().dump().contains("sync"), "dumps and reports name it");
/// c.cancel();
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CoroutineName(Arc<str>);

impl CoroutineName {
    /// A name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        CoroutineName(name.into())
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CoroutineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CoroutineName({})", self.0)
    }
}

impl fmt::Display for CoroutineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl ContextElement for CoroutineName {}
crate::__context_add!(CoroutineName);
