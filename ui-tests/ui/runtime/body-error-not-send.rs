// Lesson: a coroutine's failure reaches its parent, its awaiters and an exception handler, on any
// thread, so a boxed error must be `Send + Sync`: `Box<dyn Error + Send + Sync>`, which
// `scopes::BoxError` names. A plain `Box<dyn Error>` is not.
use std::error::Error;
use scopes::prelude::*;

async fn load() -> Result<String, Box<dyn Error>> {
    Ok("config".to_owned())
}

#[tokio::main]
async fn main() {
    let scope = Scope::new(());
    let config = scope.async_(load()); //~ ERROR `Result<String, Box<(dyn std::error::Error + 'static)>>` cannot be the result of a coroutine body
    let _ = config.await;
}
