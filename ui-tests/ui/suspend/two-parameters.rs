// Lesson: the closure gets one thing, the continuation; a callback that reports an error
// resumes it with `cont.resume_with(Err(..))`.
use scopes::suspend;

async fn wait() -> Result<u8, scopes::CoroutineError> {
    suspend!(|ok, err| { let _ = (ok, err); }) //~ ERROR the closure takes one parameter, the continuation, not 2
}

fn main() {
    drop(wait());
}
