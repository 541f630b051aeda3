// Lesson: `#[dispatched(on = ..)]` may move the body to another dispatcher, which means
// suspending the caller until it is done: in Rust, an `async fn`.
use scopes::dispatched;

#[dispatched(on = scopes::Dispatchers::io())]
fn load(path: String) -> String { //~ ERROR `#[dispatched]` goes on an `async fn`: write `async fn`
    path
}

fn main() {
    let _ = load(String::new());
}
