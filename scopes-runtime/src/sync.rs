//! Locking. The primitives the job tree and the dispatcher tasks synchronise with are std's, or
//! loom's when the crate is built with `--cfg scopes_loom` to model-check them
//! (`job/loom_tests.rs`, `dispatcher/loom_tests.rs`). A custom cfg, because tokio reacts to
//! `cfg(loom)` itself.

#[cfg(scopes_loom)]
pub(crate) use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize},
};
#[cfg(not(scopes_loom))]
pub(crate) use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize},
};

/// Locks a mutex of the shim, ignoring poisoning: no critical section of this crate leaves its
/// data inconsistent, and no user code runs under its locks (a dispatcher task's future is
/// polled under its own mutex, but the poll's panic is caught inside the critical section).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The same for the std mutexes that loom need not see.
pub(crate) fn lock_std<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
