// Lesson: `#[dispatched]` says where an `async fn` runs, so it goes on an `async fn`, not on a
// type; to give a type a scope, use `#[coroutine_scope]`.
use scopes::dispatched;

#[dispatched(on = scopes::Dispatchers::io())]
struct Loader { //~ ERROR `#[dispatched]` goes on an `async fn`
    path: String,
}

fn main() {}
