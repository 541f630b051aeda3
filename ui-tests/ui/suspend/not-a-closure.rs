// Lesson: `suspend!` takes a closure that gets the continuation and hands it to a
// callback: `suspend!(|cont| api.on_done(move |v| cont.resume(v)))`.
use scopes::suspend;

async fn wait() -> Result<u8, scopes::CoroutineError> {
    suspend!(5) //~ ERROR `suspend!` takes a closure that gets the continuation
}

fn main() {
    drop(wait());
}
