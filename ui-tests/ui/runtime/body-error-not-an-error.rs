// Lesson: a body fails with an error that can cross threads: a `std::error::Error + Send + Sync
// + 'static` (or a `String` or `&str`, which `?` boxes). A type of yours that is not an error
// implements `std::error::Error` (with `Display`), or is converted with `.map_err(..)`.
use scopes::prelude::*;

#[derive(Debug)]
struct ParseFailed;

#[tokio::main]
async fn main() {
    let scope = Scope::new(());
    let parsed = scope.async_(async { Err::<u32, ParseFailed>(ParseFailed) }); //~ ERROR `Result<u32, ParseFailed>` cannot be the result of a coroutine body
    let _ = parsed.await;
}
