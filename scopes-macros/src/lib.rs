//! Procedural macros of `scopes`. Use them through the `scopes` crate; this crate is an
//! implementation detail and its paths may change.
//!
//! The macro DSL (`#[coroutine_scope]`, `launch!`, `with_context!`, `suspend!`, `#[suspend]`,
//! `#[derive(ContextElement)]`) lands here, one module per macro.
