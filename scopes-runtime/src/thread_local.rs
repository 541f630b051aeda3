//! Thread-local context elements: a `std::thread_local!` value that follows a coroutine.
//!
//! [`thread_local_element(&KEY, value)`](thread_local_element) is a context element that sets
//! `KEY` to `value` for every poll of the coroutine, on whatever thread the poll runs, and puts
//! the previous value back after the poll (kotlinx's `ThreadLocal.asContextElement`). Children
//! inherit it; `with_context` can override it; several compose, one per thread-local. Nested
//! frames set and restore in LIFO order, so an override inside `with_context` is undone when
//! the poll leaves it.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::thread::LocalKey;

use crate::context::ContextElement;

/// A `thread_local!` key that a [`ThreadLocalElement`] can set: one holding a `RefCell<T>` (with
/// `T: Clone`) or a `Cell<T>` (with `T: Copy`).
pub trait LocalSlot: Sync + 'static {
    /// The value the thread-local holds.
    type Value: Clone + Send + Sync + fmt::Debug + 'static;
    /// Puts `value` in this thread's slot and returns the previous one.
    fn replace(&'static self, value: Self::Value) -> Self::Value;
}

impl<T: Clone + Send + Sync + fmt::Debug + 'static> LocalSlot for LocalKey<RefCell<T>> {
    type Value = T;
    fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

impl<T: Copy + Send + Sync + fmt::Debug + 'static> LocalSlot for LocalKey<Cell<T>> {
    type Value = T;
    fn replace(&'static self, value: T) -> T {
        self.with(|cell| cell.replace(value))
    }
}

/// A context element that sets a thread-local around every poll; see [`thread_local_element`].
pub struct ThreadLocalElement<K: LocalSlot> {
    key: &'static K,
    value: K::Value,
}

/// The element that makes `key` hold `value` while the coroutine runs.
///
/// ```
/// use std::cell::RefCell;
/// use scopes_runtime::{thread_local_element, with_context, CoroutineScope, Scope, Dispatchers};
///
/// thread_local! {
///     static REQUEST_ID: RefCell<Option<u64>> = const { RefCell::new(None) };
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(thread_local_element(&REQUEST_ID, Some(7)));
/// let seen = scope.async_(async {
///     // On another dispatcher, another thread: the value follows the coroutine.
///     let on_io = with_context(Dispatchers::io(), async { REQUEST_ID.with(|id| *id.borrow()) }).await;
///     (REQUEST_ID.with(|id| *id.borrow()), on_io.unwrap())
/// });
/// assert_eq!(seen.await.unwrap(), (Some(7), Some(7)));
/// assert_eq!(REQUEST_ID.with(|id| *id.borrow()), None, "restored after every poll");
/// # }
/// ```
pub fn thread_local_element<K: LocalSlot>(
    key: &'static K,
    value: K::Value,
) -> ThreadLocalElement<K> {
    ThreadLocalElement { key, value }
}

impl<K: LocalSlot> ThreadLocalElement<K> {
    /// The value it sets.
    pub fn value(&self) -> &K::Value {
        &self.value
    }
}

impl<K: LocalSlot> fmt::Debug for ThreadLocalElement<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ThreadLocal({:?})", self.value)
    }
}

impl<K: LocalSlot> ContextElement for ThreadLocalElement<K> {
    fn __key_discriminator(&self) -> usize {
        // One key per thread-local: its static's address.
        std::ptr::from_ref::<K>(self.key) as usize
    }

    fn __thread_local(&self) -> Option<&dyn ThreadLocalSwap> {
        Some(self)
    }
}

impl<K: LocalSlot, R: crate::IntoContext> std::ops::Add<R> for ThreadLocalElement<K> {
    type Output = crate::CoroutineContext;
    fn add(self, rhs: R) -> crate::CoroutineContext {
        crate::IntoContext::into_context(self) + rhs
    }
}

/// Sets and restores a thread-local around a poll. Implemented by [`ThreadLocalElement`].
#[doc(hidden)]
pub trait ThreadLocalSwap: Send + Sync {
    /// Sets this thread's slot and returns the value it held.
    fn install(&self) -> Box<dyn Any>;
    /// Puts back what `install` returned.
    fn restore(&self, previous: Box<dyn Any>);
}

impl<K: LocalSlot> ThreadLocalSwap for ThreadLocalElement<K> {
    fn install(&self) -> Box<dyn Any> {
        Box::new(self.key.replace(self.value.clone()))
    }

    fn restore(&self, previous: Box<dyn Any>) {
        if let Ok(previous) = previous.downcast::<K::Value>() {
            self.key.replace(*previous);
        }
    }
}
