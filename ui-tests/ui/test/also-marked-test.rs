// Lesson: `#[scopes::test]` makes the function a `#[test]` itself; a second test attribute
// (`#[test]`, `#[tokio::test]`) would run it twice, or outside the test scheduler.
#[scopes::test]
#[test] //~ ERROR already makes the function a `#[test]`
async fn loads() {}

fn main() {}
