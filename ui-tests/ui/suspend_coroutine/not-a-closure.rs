// Lesson: `suspend_coroutine!` takes a closure that gets the continuation and hands it to a
// callback: `suspend_coroutine!(|cont| api.on_done(move |v| cont.resume(v)))`.
use scopes::suspend_coroutine;

async fn wait() -> Result<u8, scopes::CoroutineError> {
    suspend_coroutine!(5) //~ ERROR `suspend_coroutine!` takes a closure that gets the continuation
}

fn main() {
    drop(wait());
}
