// Lesson: `#[coroutine_scope]` takes one argument, `context = EXPR`, the context of the scopes
// that `Self::new_scope()` makes.
use scopes::{coroutine_scope, Scope};

#[coroutine_scope(job = scopes::Job::supervisor())] //~ ERROR unknown argument `job`
struct Service {
    #[scope]
    scope: Scope,
}

fn main() {}
