// Lesson: a coroutine may resume on another thread at every `.await`, so everything it holds
// across an `.await` must be `Send`. A `std::sync::MutexGuard` is not: drop it before the
// `.await` (end its scope), or use `tokio::sync::Mutex`, whose guard may be held across.
use std::sync::{Arc, Mutex};
use scopes::prelude::*;

#[tokio::main]
async fn main() {
    let scope = Scope::new(());
    let counter = Arc::new(Mutex::new(0));
    scope.launch(async move { //~ ERROR future cannot be sent between threads safely
        let mut guard = counter.lock().unwrap();
        yield_now().await;
        *guard += 1;
    });
}
