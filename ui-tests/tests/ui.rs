//! The compile-fail cases (`ui/`): each file is a misuse that must not compile, with the message
//! it gets. The pass cases (`pass/`): tricky inputs that must keep compiling and running. Bless
//! changed snapshots with `TRYBUILD=overwrite cargo test -p scopes-ui-tests`, then read every
//! diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/**/*.rs");
    cases.pass("pass/*.rs");
}
