// Lesson: `#[scopes::main]` runs an `async fn main` in a root scope on the main thread: the
// function is `async`.
#[scopes::main]
fn main() { //~ ERROR `#[scopes::main]` goes on an `async fn`
}
