// Lesson: `#[suspend]` marks a function that suspends, which in Rust is an `async fn`.
use scopes::suspend;

#[suspend(on = scopes::Dispatchers::io())]
fn load(path: String) -> String { //~ ERROR `#[suspend]` goes on an `async fn`: write `async fn`
    path
}

fn main() {
    let _ = load(String::new());
}
