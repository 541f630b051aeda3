//! Exception handlers: where a failure goes when no parent takes it. The routing (who reports
//! which failure, handlers that panic) is in the guide's chapter *The job tree*
//! (`scopes::guide::job_tree`, "Who reports a failure"); `job`'s invariant 4 is its rule.

use std::fmt;
use std::sync::{Arc, RwLock};

use crate::context::{ContextElement, CoroutineContext};
use crate::error::CoroutineError;

type HandlerFn = dyn Fn(&CoroutineContext, &CoroutineError) + Send + Sync;

/// The context element that receives failures nobody above the coroutine handled, like
/// kotlinx's `CoroutineExceptionHandler`: a last resort (log, report, restart), not a `catch`.
///
/// It is used by root `launch`es and by the direct children of a supervisor; a handler given to
/// a coroutine whose parent takes its failures is never called. `async_` keeps its failure for
/// its awaiters instead.
///
/// ```
/// use std::sync::mpsc;
/// use scopes_runtime::{CoroutineExceptionHandler, CoroutineScope, Job, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (tx, rx) = mpsc::channel();
/// let handler = CoroutineExceptionHandler::new(move |_ctx, err| tx.send(err.to_string()).unwrap());
/// let scope = Scope::new(Job::supervisor() + handler);
/// scope.launch(async { Err::<(), _>("boom") }).join().await;
/// assert_eq!(rx.recv().unwrap(), "boom");
/// # }
/// ```
#[derive(Clone)]
pub struct CoroutineExceptionHandler {
    f: Arc<HandlerFn>,
}

impl CoroutineExceptionHandler {
    /// A handler that calls `f` with the failed coroutine's context and its error.
    pub fn new(f: impl Fn(&CoroutineContext, &CoroutineError) + Send + Sync + 'static) -> Self {
        CoroutineExceptionHandler { f: Arc::new(f) }
    }

    /// Calls the handler.
    pub fn handle(&self, context: &CoroutineContext, error: &CoroutineError) {
        (self.f)(context, error)
    }
}

impl fmt::Debug for CoroutineExceptionHandler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CoroutineExceptionHandler")
    }
}

impl ContextElement for CoroutineExceptionHandler {}
crate::__context_add!(CoroutineExceptionHandler);

static GLOBAL: RwLock<Option<Arc<HandlerFn>>> = RwLock::new(None);

/// Replaces the global exception handler: what receives a failure when the failed coroutine's
/// context has no [`CoroutineExceptionHandler`], and what receives the panic of a handler.
///
/// It is process-wide; libraries should not set it. The default writes one line to stderr.
///
/// ```
/// use std::sync::mpsc;
/// use scopes_runtime::{CoroutineScope, Scope, reset_global_exception_handler, set_global_exception_handler};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let (tx, rx) = mpsc::channel();
/// let tx = std::sync::Mutex::new(tx);
/// set_global_exception_handler(move |_, err| tx.lock().unwrap().send(err.to_string()).unwrap());
/// // A root launch with no handler of its own: its failure reaches the global handler.
/// let scope = Scope::new(());
/// let c = scope.launch(async { Err::<(), _>(std::io::Error::other("unhandled")) });
/// c.join().await;
/// assert_eq!(rx.recv().unwrap(), "unhandled");
/// reset_global_exception_handler(); // back to the line on stderr
/// # }
/// ```
pub fn set_global_exception_handler(
    f: impl Fn(&CoroutineContext, &CoroutineError) + Send + Sync + 'static,
) {
    *GLOBAL.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(f));
}

/// Restores the default global exception handler (one line on stderr).
///
/// ```
/// scopes_runtime::set_global_exception_handler(|_, err| eprintln!("report: {err}"));
/// // ... at the end of a test that installed its own:
/// scopes_runtime::reset_global_exception_handler();
/// ```
pub fn reset_global_exception_handler() {
    *GLOBAL.write().unwrap_or_else(|p| p.into_inner()) = None;
}

/// kotlinx's `handleCoroutineException`: the context's handler, else the global one.
pub(crate) fn handle_coroutine_exception(context: &CoroutineContext, error: &CoroutineError) {
    let handler = context.get::<CoroutineExceptionHandler>();
    #[cfg(feature = "tracing")]
    crate::trace::failure_handled(
        context.job(),
        error,
        match handler {
            Some(_) => crate::trace::HandledBy::Handler,
            None => crate::trace::HandledBy::GlobalHandler,
        },
    );
    let Some(handler) = handler else {
        report_global(context, error);
        return;
    };
    if let Err(panic) = crate::user::call(|| handler.handle(context, error)) {
        report_handler_failure(
            context,
            "the exception handler panicked",
            &panic,
            Some(error),
        );
    }
}

/// Reports that a handler (an exception or completion handler) panicked with `panic` while
/// handling `original` (kept as suppressed on the report).
pub(crate) fn report_handler_failure(
    context: &CoroutineContext,
    what: &str,
    panic: &CoroutineError,
    original: Option<&CoroutineError>,
) {
    let report = CoroutineError::failed(format!("{what}: {panic}"));
    report.add_suppressed(panic);
    if let Some(original) = original {
        report.add_suppressed(original);
    }
    #[cfg(feature = "tracing")]
    crate::trace::failure_handled(
        context.job(),
        &report,
        crate::trace::HandledBy::GlobalHandler,
    );
    report_global(context, &report);
}

/// Gives `error` to the global handler; falls back to the default line if that panics.
pub(crate) fn report_global(context: &CoroutineContext, error: &CoroutineError) {
    // Inside a test, the test collects it (and fails).
    #[cfg(feature = "test-util")]
    if let Some(test) = crate::test::scheduler::current() {
        test.record_failure(context, error);
        return;
    }
    let global = GLOBAL.read().unwrap_or_else(|p| p.into_inner()).clone();
    match global {
        Some(f) => {
            if crate::user::call(|| f(context, error)).is_err() {
                default_report(context, error);
                eprintln!(
                    "scopes: the global exception handler panicked while handling the failure above"
                );
            }
        }
        None => default_report(context, error),
    }
}

/// The last resort when reporting itself panicked (a failure whose `Display` panics): a line
/// that formats nothing of the user's.
pub(crate) fn report_unprintable(panic: &CoroutineError) {
    let message = panic.panic_message().unwrap_or("a panic");
    eprintln!(
        "scopes: an unhandled failure could not be reported: its report panicked ({message})"
    );
}

fn default_report(context: &CoroutineContext, error: &CoroutineError) {
    // The error's `Display` (and a name's) is user code.
    if let Err(panic) = crate::user::call(|| print_report(context, error)) {
        report_unprintable(&panic);
    }
}

fn print_report(context: &CoroutineContext, error: &CoroutineError) {
    let who = match context.job() {
        Some(job) => format!("{job:?}"),
        None => "a coroutine".to_owned(),
    };
    let suppressed = error.suppressed().len();
    let more = match suppressed {
        0 => String::new(),
        n => format!(" (+{n} suppressed)"),
    };
    // With the `tracing` feature the error event was emitted where the failure was handled.
    eprintln!("scopes: unhandled failure in {who}: {error}{more}");
}
