// A borrowed field beside the scope, and a field behind `cfg`: both kept as written.
use scopes::prelude::*;
use scopes::coroutine_scope;

#[coroutine_scope]
struct Report<'a> {
    title: &'a str,
    #[cfg(any())]
    never_compiled: u8,
    #[scope]
    scope: Scope,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let report = Report { title: "q3", scope: Report::new_scope() };
    let done = report.async_(async { 1u8 });
    assert_eq!(done.await.unwrap(), 1);
    assert_eq!(report.title, "q3");
}
