// Lesson: a test passes or fails; it has no value to give. A `#[scopes::test]` function ends in
// `()` or `Result<(), E>` (an `Err` fails the test): assert on a value in the body.
#[scopes::test]
async fn counts() -> usize { //~ ERROR returns `()` or `Result<(), E>`
    42
}

fn main() {}
