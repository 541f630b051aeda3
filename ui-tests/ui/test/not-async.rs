// Lesson: a `#[scopes::test]` body runs as a coroutine on the test's scheduler, with virtual
// time: the function is an `async fn`, which can `.await` (`delay`, `advance_time_by`, ..).
#[scopes::test]
fn loads() { //~ ERROR `#[scopes::test]` goes on an `async fn`
}

fn main() {}
