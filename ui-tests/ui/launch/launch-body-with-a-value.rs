// Lesson: a launched coroutine produces no value (its body ends in `()`; `?` is fine). To
// compute a value, use `async_!` and await its `Deferred`.
use scopes::prelude::*;
use scopes::launch;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let _guard = rt.enter();
    let scope = Scope::new(());
    let _ = launch!(scope, { 6 * 7 }); //~ ERROR mismatched types
}
