// Lesson: `with_context!` awaits its body, so it belongs in async code (a coroutine body, an
// `async fn`). From synchronous code, launch a coroutine instead.
use scopes::prelude::*;

fn read_config() -> Result<String, CoroutineError> {
    scopes::with_context!(Dispatchers::io(), { std::fs::read_to_string("app.toml")? }) //~ ERROR `await` is only allowed inside `async` functions and blocks
}

fn main() {
    let _ = read_config();
}
