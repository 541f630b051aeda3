//! Keeping the panic hook's message away for panics that a coroutine catches.
//!
//! A panic in a coroutine body is caught at the coroutine's boundary and becomes its failure,
//! which its exception handler (or its `Deferred`, or its scope's caller) reports. The standard
//! panic hook still runs first, at the panic, and prints its own message (with a backtrace under
//! `RUST_BACKTRACE=1`): two reports of one failure. [`quiet_coroutine_panics`] installs a hook
//! that stays silent while a coroutine body is being polled or dropped, and passes every other
//! panic to the hook that was there before.

use std::panic;

use crate::frame;

/// True while the current thread polls or drops a coroutine body (of a `launch`, an `async_`
/// or a scope builder): a panic here is caught by the coroutine and reported as its failure.
/// For a panic hook of your own.
///
/// ```
/// use scopes_runtime::{is_in_coroutine, CoroutineScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert!(!is_in_coroutine());
/// let scope = Scope::new(());
/// assert!(scope.async_(async { is_in_coroutine() }).await.unwrap());
/// # }
/// ```
pub fn is_in_coroutine() -> bool {
    frame::is_in_frame()
}

/// Replaces the panic hook with one that says nothing for panics inside coroutine bodies (see
/// [`is_in_coroutine`]) and calls the previous hook for every other panic, so panics elsewhere
/// (in `main`, in a plain thread, in a completion handler run outside a body) are printed as
/// before. The coroutine's failure is then reported once, by whoever handles it: its exception
/// handler (by default one line on stderr, and a `tracing` error event with that feature), its
/// `Deferred`'s awaiter or its scope's caller.
///
/// Call it once, at the start of `main`, after any hook of your own (which it wraps). It is
/// process-wide; libraries should not call it. A panic that code inside a body catches itself
/// (`std::panic::catch_unwind` in the body) is silenced too: that code must report it. Panics
/// that end the process are always printed: one while another unwinds (a panicking `Drop`
/// during a panic), and every panic under `panic = "abort"`.
///
/// ```
/// use scopes_runtime::{quiet_coroutine_panics, CoroutineScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// quiet_coroutine_panics();
/// let scope = Scope::new(());
/// let failed = scope.async_(async {
///     if true {
///         panic!("reported once, by the awaiter")
///     }
///     1
/// });
/// let failed = failed.await;
/// assert!(failed.unwrap_err().is_panic()); // and no "thread panicked at" line on stderr
/// # }
/// ```
pub fn quiet_coroutine_panics() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        // A second panic before the first was caught (a `Drop` that panics while another panic
        // unwinds) aborts the process, as does any panic under `panic = "abort"`: nothing will
        // report those, so they are printed as usual.
        let silence = is_in_coroutine() && !cfg!(panic = "abort") && !UNWINDING.get();
        if silence {
            UNWINDING.set(true);
        } else {
            previous(info);
        }
    }));
}

thread_local! {
    /// A panic this hook silenced is unwinding on this thread: set by the hook, cleared when
    /// `user::catch` has caught it.
    static UNWINDING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A panic was caught on this thread: the next one is a new panic, not one during unwinding.
pub(crate) fn caught() {
    UNWINDING.set(false);
}
