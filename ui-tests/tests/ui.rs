//! The compile-fail cases: each file in `ui/` is a misuse that must not compile, with the
//! message rustc and our `#[diagnostic::on_unimplemented]` texts give for it. Bless changed
//! snapshots with `TRYBUILD=overwrite cargo test -p scopes-ui-tests`, then read every diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("ui/**/*.rs");
}
