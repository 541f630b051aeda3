//! `GlobalScope`: coroutines that belong to no scope (documented on the type).

#[cfg(feature = "global-scope")]
use std::sync::OnceLock;

#[cfg(not(feature = "global-scope"))]
use crate::coroutine::{Coroutine, Deferred};
#[cfg(feature = "global-scope")]
use crate::{context::CoroutineContext, dispatcher::Dispatchers, scope::CoroutineScope};

/// The scope of coroutines that belong to no one; needs the `global-scope` feature. Prefer a
/// [`Scope`](crate::Scope) you own.
///
/// Delicate: nothing cancels its coroutines and nothing waits for them, so a failure or a leak
/// has no owner to surface in. Available only with an explicit opt-in, the `global-scope`
/// feature of `scopes`; without it, using `GlobalScope` is a compile error that says why and
/// what to use instead.
///
/// ```toml
/// scopes = { version = "0.1", features = ["global-scope"] }
/// ```
///
/// With the feature, `GlobalScope` is a [`CoroutineScope`](crate::CoroutineScope) whose
/// coroutines are roots on `Dispatchers::default()`: their failures go to their exception handler
/// (or the global one).
#[derive(Clone, Copy, Debug, Default)]
pub struct GlobalScope;

#[cfg(feature = "global-scope")]
impl CoroutineScope for GlobalScope {
    fn coroutine_context(&self) -> &CoroutineContext {
        static CONTEXT: OnceLock<CoroutineContext> = OnceLock::new();
        CONTEXT.get_or_init(|| CoroutineContext::new().with(Dispatchers::default()))
    }
}

/// Satisfied only with the `global-scope` feature: the opt-in that `GlobalScope` needs.
#[diagnostic::on_unimplemented(
    message = "`GlobalScope` is delicate and needs an explicit opt-in",
    label = "a coroutine launched here belongs to no scope: nothing cancels it and nothing waits for it",
    note = "launch in a `Scope` you own (`Scope::new(Job::supervisor())`) and cancel it when its owner goes away",
    note = "to opt in anyway, enable the `global-scope` feature of `scopes`"
)]
pub trait GlobalScopeOptIn {}

#[cfg(feature = "global-scope")]
impl<T> GlobalScopeOptIn for T {}

#[cfg(not(feature = "global-scope"))]
impl GlobalScope {
    /// Needs the `global-scope` feature; without it, a call does not compile.
    pub fn launch<F>(&self, body: F) -> Coroutine
    where
        F: GlobalScopeOptIn,
    {
        drop(body);
        unreachable!("`GlobalScopeOptIn` has no implementation without the `global-scope` feature")
    }

    /// Needs the `global-scope` feature; without it, a call does not compile.
    pub fn async_<F, T>(&self, body: F) -> Deferred<T>
    where
        F: GlobalScopeOptIn,
    {
        drop(body);
        unreachable!("`GlobalScopeOptIn` has no implementation without the `global-scope` feature")
    }
}
