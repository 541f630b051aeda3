// Lesson: `async_!` takes the same arguments as `launch!`; the body comes last, in braces.
use scopes::prelude::*;
use scopes::async_;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let _guard = rt.enter();
    let scope = Scope::new(());
    let _ = async_!(scope); //~ ERROR the body of `async_!` goes in braces
}
