// Lesson: a launched coroutine has no value: its body ends in `()` or `Result<(), E>`. A body
// that computes a value is started with `async_`, whose `Deferred` gives the value when awaited.
use scopes::prelude::*;

#[tokio::main]
async fn main() {
    let scope = Scope::new(());
    scope.launch(async { 6 * 7 }); //~ ERROR `{integer}` cannot be the result of a launched coroutine
}
