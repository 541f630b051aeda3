// Lesson: `context` needs its value: `#[coroutine_scope(context = Job::supervisor())]`.
use scopes::{coroutine_scope, Scope};

#[coroutine_scope(context)] //~ ERROR missing value for `context`
struct Service {
    #[scope]
    scope: Scope,
}

fn main() {}
