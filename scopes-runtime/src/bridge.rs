//! The continuation bridge: turning a callback API into a suspension (documented on
//! [`suspend_coroutine`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::error::CoroutineError;
use crate::frame;
use crate::sync::lock_std;

type CancelHandler = Box<dyn FnOnce(&CoroutineError) + Send>;

struct State<T> {
    outcome: Option<Result<T, CoroutineError>>,
    resumed: bool,
    cancelled: bool,
    waker: Option<Waker>,
    on_cancel: Option<CancelHandler>,
    /// Live continuation handles; when the last goes without a resume, the suspension fails.
    handles: usize,
}

struct Shared<T> {
    state: Mutex<State<T>>,
}

impl<T> Shared<T> {
    fn new() -> Arc<Self> {
        Arc::new(Shared {
            state: Mutex::new(State {
                outcome: None,
                resumed: false,
                cancelled: false,
                waker: None,
                on_cancel: None,
                handles: 1,
            }),
        })
    }

    fn resume_with(&self, outcome: Result<T, CoroutineError>) {
        let mut st = lock_std(&self.state);
        assert!(!st.resumed, "continuation already resumed");
        st.resumed = true;
        if st.cancelled {
            // The suspension is gone; a late resume is ignored.
            return;
        }
        st.outcome = Some(outcome);
        let waker = st.waker.take();
        // Resumed, the suspension will not be cancelled: its cancellation handler (user code,
        // which may hold a continuation) goes now, outside the lock.
        let on_cancel = st.on_cancel.take();
        drop(st);
        crate::user::call_handler(
            crate::scope::current_context,
            "a cancellation handler panicked when dropped",
            None,
            move || drop(on_cancel),
        );
        if let Some(waker) = waker {
            crate::user::wake(|| waker.wake());
        }
    }
}

/// Resumes a [`suspend_coroutine`]. Clones resume the same suspension (give one to the success
/// callback and one to the error callback); only the first resume counts, a second panics.
pub struct Continuation<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Continuation<T> {
    /// Ends the suspension with `value`.
    ///
    /// # Panics
    ///
    /// If the suspension was resumed already ("continuation already resumed").
    pub fn resume(&self, value: T) {
        self.shared.resume_with(Ok(value));
    }

    /// Ends the suspension with `result`: a value or an error.
    ///
    /// # Panics
    ///
    /// If the suspension was resumed already.
    pub fn resume_with(&self, result: Result<T, CoroutineError>) {
        self.shared.resume_with(result);
    }
}

impl<T> Clone for Continuation<T> {
    fn clone(&self) -> Self {
        lock_std(&self.shared.state).handles += 1;
        Continuation {
            shared: self.shared.clone(),
        }
    }
}

impl<T> Drop for Continuation<T> {
    fn drop(&mut self) {
        let mut st = lock_std(&self.shared.state);
        st.handles -= 1;
        let abandoned = st.handles == 0 && !st.resumed;
        drop(st);
        if abandoned {
            self.shared.resume_with(Err(CoroutineError::failed(
                "the continuation was dropped without being resumed",
            )));
        }
    }
}

impl<T> fmt::Debug for Continuation<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock_std(&self.shared.state);
        f.debug_struct("Continuation")
            .field("resumed", &st.resumed)
            .field("cancelled", &st.cancelled)
            .finish()
    }
}

/// Resumes a [`suspend_cancellable_coroutine`], and hears of its cancellation.
pub struct CancellableContinuation<T> {
    inner: Continuation<T>,
}

impl<T> CancellableContinuation<T> {
    /// Ends the suspension with `value`; ignored if the coroutine was cancelled meanwhile.
    ///
    /// # Panics
    ///
    /// If the suspension was resumed already.
    pub fn resume(&self, value: T) {
        self.inner.resume(value);
    }

    /// Ends the suspension with `result`; ignored if the coroutine was cancelled meanwhile.
    ///
    /// # Panics
    ///
    /// If the suspension was resumed already.
    pub fn resume_with(&self, result: Result<T, CoroutineError>) {
        self.inner.resume_with(result);
    }

    /// Calls `handler` with the cancellation if the coroutine is cancelled while suspended here
    /// (at once if it is already). At most one handler.
    ///
    /// # Panics
    ///
    /// If a handler was registered already.
    pub fn invoke_on_cancellation(&self, handler: impl FnOnce(&CoroutineError) + Send + 'static) {
        let mut st = lock_std(&self.inner.shared.state);
        assert!(
            st.on_cancel.is_none(),
            "invoke_on_cancellation: a cancellation handler is registered already"
        );
        if st.cancelled && !st.resumed {
            drop(st);
            handler(&CoroutineError::cancelled(
                "the suspension was cancelled",
                None,
            ));
            return;
        }
        st.on_cancel = Some(Box::new(handler));
    }

    /// True once the coroutine was cancelled while suspended here.
    pub fn is_cancelled(&self) -> bool {
        lock_std(&self.inner.shared.state).cancelled
    }
}

impl<T> Clone for CancellableContinuation<T> {
    fn clone(&self) -> Self {
        CancellableContinuation {
            inner: self.inner.clone(),
        }
    }
}

impl<T> fmt::Debug for CancellableContinuation<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// Suspends until the continuation given to `block` is resumed: the bridge from a callback API
/// to a suspension.
///
/// `suspend_coroutine` calls a block with a [`Continuation`]; the suspension ends when the
/// continuation is resumed, from the block itself or from any thread later. A resume that
/// happens before the block returns takes the fast path: the value is returned at once, with no
/// dispatch and no stack growth, so a loop of a million immediate resumes runs in constant
/// stack.
///
/// Every `.await` is a cancellation point, so a cancelled coroutine's suspension is dropped
/// like any other future; [`suspend_cancellable_coroutine`] also tells the callback side, through
/// [`CancellableContinuation::invoke_on_cancellation`], so it can stop the operation. A resume
/// that arrives after the cancellation is ignored. A second resume is a bug and panics with
/// "continuation already resumed". A continuation dropped without being resumed ends the
/// suspension with an error, so nothing waits forever; one that is kept only by its own
/// cancellation handler is not dropped, and the suspension waits for its cancellation.
///
/// ```
/// use scopes_runtime::{suspend_coroutine, CoroutineError};
///
/// /// A callback API, as many C libraries and SDKs have.
/// struct Download;
/// impl Download {
///     fn when_complete(self, callback: impl FnOnce(Result<Vec<u8>, String>) + Send + 'static) {
///         std::thread::spawn(move || callback(Ok(b"payload".to_vec())));
///     }
/// }
///
/// /// The same operation as an `async fn`.
/// async fn download(d: Download) -> Result<Vec<u8>, CoroutineError> {
///     suspend_coroutine(|cont| {
///         d.when_complete(move |result| cont.resume_with(result.map_err(CoroutineError::failed)))
///     })
///     .await
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert_eq!(download(Download).await.unwrap(), b"payload");
/// # }
/// ```
pub fn suspend_coroutine<T, F>(block: F) -> Suspend<T, F>
where
    F: FnOnce(Continuation<T>),
{
    Suspend {
        block: Some(block),
        shared: None,
    }
}

/// Like [`suspend_coroutine`], and the callback side can learn of a cancellation with
/// [`CancellableContinuation::invoke_on_cancellation`] (to stop a timer, close a request).
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicBool, Ordering}};
/// use scopes_runtime::{suspend_cancellable_coroutine, CoroutineScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let stopped = Arc::new(AtomicBool::new(false));
/// let flag = stopped.clone();
/// // An operation that keeps the continuation and never completes.
/// let pending = Arc::new(std::sync::Mutex::new(Vec::new()));
/// let operation = pending.clone();
/// let scope = Scope::new(());
/// let waiter = scope.launch(async move {
///    let _never: Result<(), _> = suspend_cancellable_coroutine(|cont| {
///        cont.invoke_on_cancellation(move |_| flag.store(true, Ordering::SeqCst));
///        operation.lock().unwrap().push(cont);
///    })
///    .await;
/// });
/// tokio::task::yield_now().await;
/// waiter.cancel_and_join().await;
/// assert!(stopped.load(Ordering::SeqCst));
/// # }
/// ```
pub fn suspend_cancellable_coroutine<T, F>(block: F) -> Suspend<T, impl FnOnce(Continuation<T>)>
where
    F: FnOnce(CancellableContinuation<T>),
{
    suspend_coroutine(move |cont| block(CancellableContinuation { inner: cont }))
}

/// The future of [`suspend_coroutine`] and [`suspend_cancellable_coroutine`].
#[must_use = "futures do nothing unless awaited"]
pub struct Suspend<T, F> {
    block: Option<F>,
    shared: Option<Arc<Shared<T>>>,
}

// No field is ever pinned: the block is moved out before it runs.
impl<T, F> Unpin for Suspend<T, F> {}

impl<T, F: FnOnce(Continuation<T>)> Future for Suspend<T, F> {
    type Output = Result<T, CoroutineError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(block) = this.block.take() {
            let shared = Shared::new();
            this.shared = Some(shared.clone());
            block(Continuation { shared });
        }
        let shared = this
            .shared
            .as_ref()
            .expect("the block ran on the first poll");
        let mut st = lock_std(&shared.state);
        if let Some(outcome) = st.outcome.take() {
            // The fast path too: resumed before the block returned.
            return Poll::Ready(outcome);
        }
        if st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            return Poll::Pending;
        }
        // A waker's clone and drop may be a foreign executor's code: not under the lock.
        drop(st);
        let waker = cx.waker().clone();
        let mut st = lock_std(&shared.state);
        if let Some(outcome) = st.outcome.take() {
            return Poll::Ready(outcome);
        }
        let old = st.waker.replace(waker);
        drop(st);
        drop(old);
        Poll::Pending
    }
}

impl<T, F> Drop for Suspend<T, F> {
    fn drop(&mut self) {
        let Some(shared) = self.shared.take() else {
            return;
        };
        let mut st = lock_std(&shared.state);
        if st.resumed || st.cancelled {
            return;
        }
        // Dropped while suspended: the coroutine was cancelled (or its future dropped).
        st.cancelled = true;
        let waker = st.waker.take();
        let handler = st.on_cancel.take();
        drop(st);
        drop(waker);
        if let Some(handler) = handler {
            let cause = frame::with_current(|f| f.map(|f| f.job().cancellation_error()))
                .unwrap_or_else(|| CoroutineError::cancelled("the suspension was dropped", None));
            handler(&cause);
        }
    }
}

impl<T, F> fmt::Debug for Suspend<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suspend")
            .field("started", &self.block.is_none())
            .finish()
    }
}
