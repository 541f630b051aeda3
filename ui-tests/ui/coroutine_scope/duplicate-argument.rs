// Lesson: combine context elements with `+` in one `context = ..`; the argument is given once.
use scopes::{coroutine_scope, Scope};

#[coroutine_scope(context = scopes::Job::supervisor(), context = scopes::CoroutineName::new("svc"))] //~ ERROR duplicate argument `context`
struct Service {
    #[scope]
    scope: Scope,
}

fn main() {}
