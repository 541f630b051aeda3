// Lesson: the handle `launch` returns is a `Coroutine`, not a `Job`, and it is not a context
// element. In Kotlin, `CoroutineScope(launch { })` compiles (a launched coroutine is a Job) and
// ties the new scope to a coroutine that will complete on its own. To give a scope its own job,
// use `Job::new()`, or `Job::supervisor()` so that one failure does not take the scope down.
use scopes::prelude::*;

#[tokio::main]
async fn main() {
    let app = Scope::new(Job::supervisor());
    let worker = app.launch(async {});
    let scope = Scope::new(worker); //~ ERROR `Coroutine` cannot be added to a coroutine context
    drop(scope);
}
