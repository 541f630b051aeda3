// Lesson: `with_context` may run its body on another dispatcher's thread, so the body must own
// what it uses (`Send + 'static`), like a spawned task. Move the data in (`async move`), or run
// in place without a hop: `coroutine_scope(|_| ..)` for a block, `non_cancellable(..)` for
// cleanup; both may borrow.
use scopes::prelude::*;

async fn save(report: &str) {
    println!("{report}");
}

async fn finish(report: String) {
    let _ = with_context(Dispatchers::io(), save(&report)).await; //~ ERROR `report` does not live long enough
}

fn main() {
    drop(finish(String::new()));
}
