//! `CoroutineError`: how a coroutine ended when it did not end well.
//!
//! One error type serves every outcome that is not a value: a cancellation (with its cause), a
//! failure (any boxed `std::error::Error`), a caught panic, and a timeout. It is `Clone` and cheap
//! to clone (one reference count), because the same error reaches several places: the job that
//! failed, its parent, every awaiter of a `Deferred`, an exception handler.
//!
//! Identity matters: the first failure of a job wins and every later distinct failure is kept as
//! *suppressed* on it, never dropped (kotlinx's `addSuppressed`). Suppressed errors are added
//! after the error was shared, so they live behind a mutex inside the shared allocation, and two
//! clones of one error are the same error ([`CoroutineError::ptr_eq`]).

use std::any::Any;
use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::sync::lock_std;

/// A boxed error that can cross threads: what a coroutine body may return as its error.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The four ways a coroutine can end without a value.
///
/// `#[non_exhaustive]`: match with a `_` arm.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{CoroutineError, ErrorKind};
///
/// let timeout = CoroutineError::timed_out(Duration::from_secs(1));
/// match timeout.kind() {
///     ErrorKind::Cancelled => println!("stopped on purpose"),
///     ErrorKind::TimedOut => println!("took too long"),
///     _ => println!("a failure: {timeout}"),
/// }
/// assert_eq!(CoroutineError::panicked("bug").kind(), ErrorKind::Panicked);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The coroutine was cancelled. A cancellation is not a failure: it travels down the job
    /// tree, never up, and never reaches an exception handler.
    Cancelled,
    /// The body returned an error.
    Failed,
    /// The body panicked; the panic was caught at the coroutine's boundary.
    Panicked,
    /// A `with_timeout` ran out of time. Returned as a value; if it escapes a coroutine body it
    /// is a failure like any other error (unlike kotlinx, where it is a silent cancellation).
    TimedOut,
}

/// How a coroutine ended when it did not produce a value: cancelled, failed, panicked or timed
/// out.
///
/// Cheap to clone; clones are the same error ([`ptr_eq`](CoroutineError::ptr_eq)). Failures
/// that arrive at a job after its first one are attached as [`suppressed`](Self::suppressed).
///
/// ```
/// use scopes_runtime::{CoroutineError, ErrorKind};
///
/// let err = CoroutineError::failed("disk full");
/// assert_eq!(err.kind(), ErrorKind::Failed);
/// assert_eq!(err.to_string(), "disk full");
/// assert!(err.is_failure() && !err.is_cancellation());
/// ```
#[derive(Clone)]
pub struct CoroutineError {
    inner: Arc<Inner>,
}

struct Inner {
    repr: Repr,
    suppressed: Mutex<Vec<CoroutineError>>,
    /// Its error event was emitted (`trace`): a failure is one event, wherever it is handled.
    #[cfg(feature = "tracing")]
    traced: std::sync::atomic::AtomicBool,
}

enum Repr {
    Cancelled {
        message: String,
        cause: Option<CoroutineError>,
    },
    Failed(BoxError),
    Panicked(String),
    TimedOut(Duration),
}

impl CoroutineError {
    fn from_repr(repr: Repr) -> Self {
        CoroutineError {
            inner: Arc::new(Inner {
                repr,
                suppressed: Mutex::new(Vec::new()),
                #[cfg(feature = "tracing")]
                traced: std::sync::atomic::AtomicBool::new(false),
            }),
        }
    }

    /// A failure carrying `error`. If `error` already is a `CoroutineError` (boxed), that error
    /// is returned as it is, so `?` on a `CoroutineError` keeps its kind and identity.
    pub fn failed(error: impl Into<BoxError>) -> Self {
        let boxed: BoxError = error.into();
        match boxed.downcast::<CoroutineError>() {
            Ok(err) => *err,
            Err(other) => Self::from_repr(Repr::Failed(other)),
        }
    }

    /// A cancellation with a message and an optional cause (the error that made a parent cancel
    /// its children, for example).
    pub fn cancelled(message: impl Into<String>, cause: Option<CoroutineError>) -> Self {
        Self::from_repr(Repr::Cancelled {
            message: message.into(),
            cause,
        })
    }

    /// A timeout after `after`.
    pub fn timed_out(after: Duration) -> Self {
        Self::from_repr(Repr::TimedOut(after))
    }

    /// A caught panic, with the panic's message.
    pub fn panicked(message: impl Into<String>) -> Self {
        Self::from_repr(Repr::Panicked(message.into()))
    }

    /// A caught panic, from the payload `catch_unwind` returned.
    pub(crate) fn from_panic(payload: Box<dyn Any + Send>) -> Self {
        Self::panicked(panic_message(payload.as_ref()))
    }

    /// True once the error's event was emitted.
    #[cfg(feature = "tracing")]
    fn is_traced(&self) -> bool {
        self.inner.traced.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks the error's event emitted; true the first time.
    #[cfg(feature = "tracing")]
    pub(crate) fn mark_traced(&self) -> bool {
        !self
            .inner
            .traced
            .swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    /// Which of the four outcomes this is.
    pub fn kind(&self) -> ErrorKind {
        match &self.inner.repr {
            Repr::Cancelled { .. } => ErrorKind::Cancelled,
            Repr::Failed(_) => ErrorKind::Failed,
            Repr::Panicked(_) => ErrorKind::Panicked,
            Repr::TimedOut(_) => ErrorKind::TimedOut,
        }
    }

    /// True for a cancellation: it cancels no parent and reaches no exception handler.
    pub fn is_cancellation(&self) -> bool {
        self.kind() == ErrorKind::Cancelled
    }

    /// True for a failure, a panic or a timeout: everything that is not a cancellation.
    pub fn is_failure(&self) -> bool {
        !self.is_cancellation()
    }

    /// True for a caught panic.
    pub fn is_panic(&self) -> bool {
        self.kind() == ErrorKind::Panicked
    }

    /// True for a timeout.
    pub fn is_timeout(&self) -> bool {
        self.kind() == ErrorKind::TimedOut
    }

    /// The cause of a cancellation (for a child cancelled because its parent failed: the
    /// parent's failure). `None` for the other kinds.
    pub fn cause(&self) -> Option<&CoroutineError> {
        match &self.inner.repr {
            Repr::Cancelled { cause, .. } => cause.as_ref(),
            _ => None,
        }
    }

    /// The message of a caught panic.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.inner.repr {
            Repr::Panicked(message) => Some(message),
            _ => None,
        }
    }

    /// The error a failed body returned, as a reference to the concrete type `E`.
    ///
    /// ```
    /// use scopes_runtime::CoroutineError;
    ///
    /// let err = CoroutineError::failed(std::io::Error::other("gone"));
    /// assert_eq!(err.downcast_ref::<std::io::Error>().unwrap().to_string(), "gone");
    /// ```
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        match &self.inner.repr {
            Repr::Failed(error) => error.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// The failures that arrived after this one and were kept on it, in arrival order.
    pub fn suppressed(&self) -> Vec<CoroutineError> {
        lock_std(&self.inner.suppressed).clone()
    }

    /// True if both values are the same error (one is a clone of the other).
    pub fn ptr_eq(&self, other: &CoroutineError) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Keeps `other` as suppressed on this error, unless it is a cancellation, already kept,
    /// or this error itself or one that (through its suppressed ones) keeps this error: errors
    /// are shared, and two joiners that attach the same two errors to each other in opposite
    /// orders would otherwise make a cycle.
    pub(crate) fn add_suppressed(&self, other: &CoroutineError) {
        if other.is_cancellation() || other.keeps(self) {
            return;
        }
        let mut list = lock_std(&self.inner.suppressed);
        if !list.iter().any(|e| e.ptr_eq(other)) {
            list.push(other.clone());
            // This error's event is out already: the late one gets an event of its own.
            #[cfg(feature = "tracing")]
            if self.is_traced() {
                drop(list);
                crate::trace::failure_handled(None, other, crate::trace::HandledBy::SuppressedLate);
            }
        }
    }
}

impl fmt::Display for CoroutineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.repr {
            Repr::Cancelled { message, cause } => {
                f.write_str(message)?;
                if let Some(cause) = cause {
                    write!(f, " (caused by: {cause})")?;
                }
                Ok(())
            }
            Repr::Failed(error) => fmt::Display::fmt(error, f),
            Repr::Panicked(message) => write!(f, "coroutine panicked: {message}"),
            Repr::TimedOut(after) => write!(f, "timed out after {after:?}"),
        }
    }
}

impl CoroutineError {
    /// True if `target` is this error or among its suppressed ones, at any depth.
    fn keeps(&self, target: &CoroutineError) -> bool {
        self.ptr_eq(target) || self.suppressed().iter().any(|e| e.keeps(target))
    }
}

impl fmt::Debug for CoroutineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CoroutineError");
        d.field("kind", &self.kind());
        match &self.inner.repr {
            Repr::Cancelled { message, cause } => {
                d.field("message", message);
                if let Some(cause) = cause {
                    d.field("cause", cause);
                }
            }
            Repr::Failed(error) => {
                d.field("error", error);
            }
            Repr::Panicked(message) => {
                d.field("message", message);
            }
            Repr::TimedOut(after) => {
                d.field("after", after);
            }
        }
        let suppressed = self.suppressed();
        if !suppressed.is_empty() {
            d.field("suppressed", &suppressed);
        }
        d.finish()
    }
}

impl StdError for CoroutineError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.inner.repr {
            Repr::Cancelled { cause, .. } => cause.as_ref().map(|c| c as &(dyn StdError + 'static)),
            Repr::Failed(error) => error.source(),
            Repr::Panicked(_) | Repr::TimedOut(_) => None,
        }
    }
}

/// The text of a panic payload (`&str` or `String`), or a placeholder for other payloads.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// What a coroutine body may return: `()`, `Result<T, E>`, or a plain value of a common type.
///
/// `launch` takes bodies whose result is `()` or `Result<(), E>`; `async_` and the scope
/// builders take any `CoroutineResult` and give back its [`Value`](Self::Value). The error type
/// `E` of a `Result` may be anything that converts into a boxed `std::error::Error` that can
/// cross threads (so `?` works on `io::Error`, `String`, `&str`, `CoroutineError`, ...).
///
/// A plain value is any [`PlainValue`] (a number, a `String`, a collection, a tuple of 2 to 5
/// elements, ...): its value is itself, and an integer literal as a body's value takes its type
/// from how the value is used (`scope.async_(async { 2 })`, then `d.await? * 21u64`). A plain
/// value of your own type cannot be told apart from a `Result` by the compiler; mark it
/// [`PlainValue`], return it as `Ok::<_, std::convert::Infallible>(value)`, or implement this
/// trait for it:
///
/// ```
/// use scopes_runtime::{CoroutineError, CoroutineResult};
///
/// struct Report(u32);
/// impl CoroutineResult for Report {
///     type Value = Report;
///     fn into_result(self) -> Result<Report, CoroutineError> { Ok(self) }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of a coroutine body",
    label = "a coroutine body ends in `()`, a plain value, or `Result<T, E>` with an error `E` that can cross threads",
    note = "the error `E` of `Result<T, E>` is a `std::error::Error + Send + Sync + 'static` (or a `String`, a `&str`, a `scopes::BoxError`): implement `std::error::Error` for it, or convert it with `.map_err(..)`",
    note = "a `Box<dyn Error>` cannot cross threads: use `Box<dyn Error + Send + Sync>` (`scopes::BoxError`)",
    note = "return a value of your own type as `Ok::<_, std::convert::Infallible>(value)`, or mark it `PlainValue`"
)]
pub trait CoroutineResult {
    /// The value a successful body produces.
    type Value;
    /// Splits the body's result into its value or its error.
    fn into_result(self) -> Result<Self::Value, CoroutineError>;
}

/// A type a coroutine body may end in as it is, as its own value: `impl PlainValue for Report
/// {}` and `scope.async_(async { Report(3) })` gives a `Deferred<Report>`.
///
/// Every `PlainValue` is a [`CoroutineResult`] whose value is itself. Implemented for `()`, the
/// numbers, `bool`, `char`, `String`, `&'static str`, `Option`, `Box`, `Arc`, the std
/// collections, tuples of 2 to 5 elements and a few std types; not for `Result`, which is a
/// body's value or its failure.
///
/// One impl covers all of them, so the compiler knows an integer literal's value is the
/// literal itself, and infers its type from its use:
///
/// ```
/// use scopes_runtime::{CoroutineError, CoroutineScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), CoroutineError> {
/// let scope = Scope::new(());
/// let two = scope.async_(async { 2 });
/// let answer: u64 = two.await? * 21; // `2` is a `u64`
/// assert_eq!(answer, 42);
/// # Ok(()) }
/// ```
pub trait PlainValue {}

impl<T: PlainValue> CoroutineResult for T {
    type Value = T;
    fn into_result(self) -> Result<T, CoroutineError> {
        Ok(self)
    }
}

impl<T, E: Into<BoxError>> CoroutineResult for Result<T, E> {
    type Value = T;
    fn into_result(self) -> Result<T, CoroutineError> {
        self.map_err(CoroutineError::failed)
    }
}

/// What a `launch`ed body may end in: whatever is a [`CoroutineResult`] with no value (`()`,
/// `Result<(), E>`), and `!`, for a body that never returns (`async { loop { .. } }` is of type
/// `!` on edition 2024), as `tokio::spawn` takes it.
///
/// ```
/// use scopes_runtime::{CoroutineScope, Scope, yield_now};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let forever = scope.launch(async {
///     loop {
///         yield_now().await;
///     }
/// });
/// forever.cancel_and_join().await;
/// assert!(forever.is_cancelled());
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the result of a launched coroutine",
    label = "a launched body ends in `()` or `Result<(), E>`",
    note = "a launched coroutine has no value: for a body that computes one, use `async_` and `.await` its `Deferred`",
    note = "the error `E` of `Result<(), E>` is a `std::error::Error + Send + Sync + 'static` (or a `String`, a `&str`, a `scopes::BoxError`): implement `std::error::Error` for it, or convert it with `.map_err(..)`; a `Box<dyn Error>` must be `Box<dyn Error + Send + Sync>`"
)]
pub trait LaunchResult {
    /// The body's outcome: `Ok(())` or its error.
    fn into_launch_result(self) -> Result<(), CoroutineError>;
}

// Not recommended in errors: for a body with a value it would say "expected `()`, found
// `i32`", where `LaunchResult`'s own message says to use `async_`.
#[diagnostic::do_not_recommend]
impl<T: CoroutineResult<Value = ()>> LaunchResult for T {
    fn into_launch_result(self) -> Result<(), CoroutineError> {
        self.into_result()
    }
}

/// Names the never type `!` on stable Rust: `fn() -> !` is a stable type, and its output is
/// `!`. Not for use outside this crate.
pub trait NeverOutput {
    /// The return type of the function pointer.
    type Output;
}

impl<T> NeverOutput for fn() -> T {
    type Output = T;
}

/// A body that never returns ends only by cancellation or a panic.
// Not recommended in errors: "implemented for `<fn() -> ! as NeverOutput>::Output`" helps no
// one whose body ends in a value.
#[diagnostic::do_not_recommend]
impl LaunchResult for <fn() -> ! as NeverOutput>::Output {
    fn into_launch_result(self) -> Result<(), CoroutineError> {
        self
    }
}

macro_rules! plain_results {
    ($($ty:ty),* $(,)?) => {$(
        impl PlainValue for $ty {}
    )*};
}

plain_results!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    Duration,
    std::time::Instant,
    std::path::PathBuf,
    std::thread::ThreadId,
    crate::shutdown::ShutdownReport,
);

macro_rules! plain_generic_results {
    ($($ty:ident<$($p:ident),*>),* $(,)?) => {$(
        impl<$($p),*> PlainValue for $ty<$($p),*> {}
    )*};
}

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
plain_generic_results!(
    Option<T>,
    Vec<T>,
    VecDeque<T>,
    Box<T>,
    Arc<T>,
    HashMap<K, V>,
    HashSet<T>,
    BTreeMap<K, V>,
    BTreeSet<T>,
);

macro_rules! plain_tuple_results {
    ($(($($p:ident),+)),* $(,)?) => {$(
        impl<$($p),+> PlainValue for ($($p,)+) {}
    )*};
}

// No 1-tuple: with one, rustc answers a body whose error type is not an error with "use a unary
// tuple instead: `(async { .. },)`", a suggestion that does not compile and hides our message.
plain_tuple_results!((A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E));
