// Lesson: the real-time limit is how long a test may take on the wall clock before it fails
// with a dump of its coroutines; 0 ms would fail it before it starts.
#[scopes::test(time_limit_ms = 0)] //~ ERROR a real-time limit of 0 ms
async fn loads() {}

fn main() {}
