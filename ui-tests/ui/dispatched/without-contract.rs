// Lesson: `#[dispatched]` states an `async fn`'s dispatcher contract, so it says which: `on =
// DISPATCHER` (the body runs there, whoever calls it) or `requires = DISPATCHER` (the caller
// must already run there; checked on entry).
use scopes::dispatched;

#[dispatched] //~ ERROR `#[dispatched]` needs its contract
async fn load(path: String) -> String {
    path
}

fn main() {
    drop(load(String::new()));
}
