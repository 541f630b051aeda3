//! Debug mode: coroutine ids, for telling coroutines apart in dumps and logs.
//!
//! Off by default. On when the environment variable `SCOPES_DEBUG` is `1` (or `on`/`true`) when
//! the first coroutine starts, or after [`set_debug_mode(true)`](set_debug_mode). In debug mode
//! every new coroutine gets a [`CoroutineId`] in its context, and `Debug` of a coroutine reads
//! `"sync"#12 StandaloneCoroutine{Active}`.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use crate::context::ContextElement;

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Turns debug mode on or off for the coroutines started from now on.
///
/// ```
/// use scopes_runtime::{CoroutineId, CoroutineScope, Scope, current_context, is_debug_mode, set_debug_mode};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// set_debug_mode(true);
/// assert!(is_debug_mode());
/// let scope = Scope::new(());
/// let id = scope.async_(async { current_context().get::<CoroutineId>().copied() });
/// assert!(id.await.unwrap().is_some(), "every coroutine gets an id");
/// # set_debug_mode(false);
/// # }
/// ```
pub fn set_debug_mode(on: bool) {
    MODE.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// True if new coroutines get a [`CoroutineId`].
///
/// ```
/// // `SCOPES_DEBUG=1` in the environment, or `set_debug_mode(true)`, turns it on.
/// if scopes_runtime::is_debug_mode() {
///     eprintln!("coroutines carry ids: dumps show them");
/// }
/// ```
#[inline]
pub fn is_debug_mode() -> bool {
    match MODE.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => decide_debug_mode(),
    }
}

/// The first call: reads `SCOPES_DEBUG` once.
#[cold]
fn decide_debug_mode() -> bool {
    let on = std::env::var("SCOPES_DEBUG")
        .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "on" | "true"));
    // Another thread may have decided first; its decision stands.
    let _ = MODE.compare_exchange(
        UNKNOWN,
        if on { ON } else { OFF },
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    MODE.load(Ordering::Relaxed) == ON
}

/// The id of a coroutine in debug mode: unique in the process, in start order.
///
/// ```
/// use scopes_runtime::{CoroutineId, CoroutineScope, Scope, current_context, set_debug_mode};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// set_debug_mode(true);
/// let scope = Scope::new(());
/// let a = scope.async_(async { current_context().get::<CoroutineId>().copied() });
/// let b = scope.async_(async { current_context().get::<CoroutineId>().copied() });
/// let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
/// assert_ne!(a, b);
/// assert!(format!("{a:?}").starts_with("CoroutineId("));
/// # set_debug_mode(false);
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CoroutineId(pub u64);

impl CoroutineId {
    pub(crate) fn next() -> CoroutineId {
        CoroutineId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }
}

impl fmt::Debug for CoroutineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CoroutineId({})", self.0)
    }
}

impl ContextElement for CoroutineId {}
crate::__context_add!(CoroutineId);
