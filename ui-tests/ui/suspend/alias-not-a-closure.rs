// Lesson: `suspend_coroutine!` is `suspend!` under its first name, and its messages say the
// name it was called by.
use scopes::suspend_coroutine;

async fn wait() -> Result<u8, scopes::CoroutineError> {
    suspend_coroutine!(5) //~ ERROR `suspend_coroutine!` takes a closure that gets the continuation
}

fn main() {
    drop(wait());
}
