// Lesson: a launched coroutine outlives the function that launched it (its scope owns it, not
// the stack frame), so it cannot borrow the function's locals. Move them in (`async move`),
// clone them first, or share them with an `Arc`.
use scopes::prelude::*;

#[tokio::main]
async fn main() {
    let scope = Scope::new(());
    let names = vec!["a", "b"];
    scope.launch(async { //~ ERROR async block may outlive the current function, but it borrows `names`
        println!("{}", names.len());
    });
}
