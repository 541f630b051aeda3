// Lesson: a test gets at most one parameter, its `TestScope`; what else it needs it makes in
// its body.
#[scopes::test]
async fn loads(scope: scopes::test::TestScope, retries: u32) { //~ ERROR takes at most one parameter
    let _ = (scope, retries);
}

fn main() {}
