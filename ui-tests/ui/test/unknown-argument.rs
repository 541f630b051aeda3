// Lesson: `#[scopes::test]` takes `seed = INTEGER` (another legal order of the ready coroutines)
// and `time_limit_ms = INTEGER` (the real-time limit); there is no runtime to configure, every
// dispatcher is the test's.
#[scopes::test(flavor = 1)] //~ ERROR unknown argument `flavor`
async fn loads() {}

fn main() {}
