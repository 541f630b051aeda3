// Lesson: an `Rc` held across an `.await` makes the coroutine `!Send`, and coroutines run on a
// multi-threaded runtime. Use `Arc` (or keep the `Rc` out of the coroutine).
use std::rc::Rc;
use scopes::prelude::*;

#[tokio::main]
async fn main() {
    let scope = Scope::new(());
    scope.launch(async { //~ ERROR future cannot be sent between threads safely
        let shared = Rc::new(5);
        yield_now().await;
        println!("{shared}");
    });
}
