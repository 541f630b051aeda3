// Lesson: `#[suspend]` goes on an `async fn`, not on a type; to give a type a scope, use
// `#[coroutine_scope]`.
use scopes::suspend;

#[suspend]
struct Loader { //~ ERROR `#[suspend]` goes on an `async fn`
    path: String,
}

fn main() {}
