// Lesson: the `Coroutine` that `launch` returns is a handle, not a future: a launched coroutine
// has no value to await. Wait for it (and its children) with `coroutine.join().await`, then ask
// `final_error()` how it ended; for a value, launch with `async_` and `.await` its `Deferred`.
// (rustc words this as "not a future"; the impl it shows carries the fix.)
use scopes::prelude::*;

#[tokio::main]
async fn main() {
    let scope = Scope::new(());
    let worker = scope.launch(async { println!("working") });
    worker.await; //~ ERROR `scopes::Coroutine` is not a future
}
