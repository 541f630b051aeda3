// Lesson: the real-time limit is a whole number of milliseconds, as an integer literal:
// `time_limit_ms = 5000`, not a string or a `Duration`.
#[scopes::test(time_limit_ms = "5s")] //~ ERROR `time_limit_ms` takes a whole number of milliseconds, as an integer literal
async fn loads() {}

fn main() {}
