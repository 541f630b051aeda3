// Lesson: the test harness calls a test once, with no type to choose: a `#[scopes::test]`
// function cannot be generic; write one test per type.
#[scopes::test]
async fn round_trips<T: Default>() { //~ ERROR cannot be generic
    let _ = T::default();
}

fn main() {}
