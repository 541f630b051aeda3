// A bare integer literal as a body's value takes its type from how the value is used: the body's
// value is the literal itself (`PlainValue`), so `2` below is a `u64` and `i32` by default.
use scopes::prelude::*;
use scopes::async_;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), CoroutineError> {
    let scope = Scope::new(());
    let two = scope.async_(async { 2 });
    let answer: u64 = two.await? * 21;
    assert_eq!(answer, 42);

    let two = async_!(scope, { 2 });
    let answer = two.await? * 21; // an `i32`
    assert_eq!(answer, 42i32);

    let pair = scope.async_(async { (2, "two") });
    assert_eq!(pair.await?.0 + 1u8, 3);
    Ok(())
}
