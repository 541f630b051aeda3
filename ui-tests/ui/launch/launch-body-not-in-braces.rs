// Lesson: the body of `launch!` is a block in braces, so it cannot be mistaken for a scope or a
// context: write `launch!(scope, { work().await })`, not `launch!(scope, work())`.
use scopes::prelude::*;
use scopes::launch;

async fn work() {}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let _guard = rt.enter();
    let scope = Scope::new(());
    let _ = launch!(scope, work()); //~ ERROR the body of `launch!` goes in braces
}
