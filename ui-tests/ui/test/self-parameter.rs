// Lesson: the test harness calls a test with no value to call it on: a `#[scopes::test]`
// function is a free function, not a method, and takes no `self`.
struct Cache;

impl Cache {
    #[scopes::test]
    async fn loads(&self) {} //~ ERROR is a free function, not a method: remove `self`
}

fn main() {}
