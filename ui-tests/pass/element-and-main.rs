// A generic derived element, combined on both sides of `+`; `#[scopes::main]` with the root scope.
use std::fmt::Debug;
use scopes::prelude::*;
use scopes::ContextElement;

#[derive(Debug, ContextElement)]
struct Tag<T: Debug + Send + Sync + 'static>(T);

#[scopes::main]
async fn main(scope: ScopeHandle) {
    let ctx = Tag(1u8) + CoroutineName::new("a");
    let ctx2 = CoroutineName::new("b") + Tag("x");
    assert_eq!(ctx.get::<Tag<u8>>().unwrap().0, 1);
    assert_eq!(ctx2.get::<Tag<&str>>().unwrap().0, "x");
    let child = scope.async_(async { std::thread::current().id() });
    assert_eq!(child.await.unwrap(), std::thread::current().id(), "the root scope runs on the main thread");
}
