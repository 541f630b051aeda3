// Lesson: a struct owns one scope. A second `#[scope]` field is a mistake: keep other scopes as
// plain fields (or `ScopeHandle`s) without the attribute.
use scopes::{coroutine_scope, Scope};

#[coroutine_scope]
struct Service {
    #[scope]
    scope: Scope,
    #[scope] //~ ERROR a second `#[scope]` field: a struct keeps one scope
    other: Scope,
}

fn main() {}
