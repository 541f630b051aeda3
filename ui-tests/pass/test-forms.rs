// Every form `#[scopes::test]` accepts: a scope parameter under any pattern and path, none,
// a `Result` with `?` and an early `return`, arguments, and attributes kept on the `#[test]`.
// (Built as a program, without `--test`, the tests themselves are left out: this case checks
// that the attribute accepts the forms; tests/tests/test_attribute.rs in scopes-tests runs them.)
#![allow(unused_imports)]
use std::time::Duration;
use scopes::prelude::*;
use scopes::test::TestScope;

#[scopes::test]
async fn with_the_scope(scope: TestScope) {
    delay(Duration::from_secs(3600)).await;
    assert_eq!(scope.current_time(), Duration::from_secs(3600));
}

#[scopes::test]
async fn without_a_parameter() {}

#[scopes::test]
async fn an_unused_scope_by_its_full_path(_scope: scopes::test::TestScope) {}

#[scopes::test]
async fn a_mutable_binding(mut scope: TestScope) {
    scope = scope.clone();
    let _ = scope;
}

#[scopes::test]
async fn fallible(scope: TestScope) -> Result<(), std::num::ParseIntError> {
    let n: u32 = "7".parse()?;
    if n == 7 {
        return Ok(());
    }
    let _ = scope;
    Ok(())
}

/// Documented, ignored, and expecting a panic: all kept.
#[scopes::test(seed = 7, time_limit_ms = 500)]
#[ignore = "shows the attributes kept on the generated `#[test]`"]
#[should_panic(expected = "boom")]
pub async fn with_arguments_and_attributes() {
    panic!("boom");
}

#[scopes::test(time_limit_ms = 1_000u64)]
async fn a_suffixed_literal() {}

mod nested {
    #[scopes::test(seed = 18446744073709551615)]
    async fn the_largest_seed() {}
}

fn main() {}
