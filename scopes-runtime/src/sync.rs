//! Locking. The primitives the job tree synchronises with are std's, or loom's when the crate is built with
//! `--cfg scopes_loom` to model-check the job tree (`job/loom_tests.rs`). A custom cfg, because
//! tokio reacts to `cfg(loom)` itself.

#[cfg(scopes_loom)]
pub(crate) use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU8, AtomicU32},
};
#[cfg(not(scopes_loom))]
pub(crate) use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicU8, AtomicU32},
};

/// Locks a job-tree mutex, ignoring poisoning: no critical section of this crate leaves its data
/// inconsistent, and no user code runs under its locks.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The same for the std mutexes outside the job tree (which loom need not see).
pub(crate) fn lock_std<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
