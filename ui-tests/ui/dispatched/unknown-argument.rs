// Lesson: `#[dispatched]` takes `on = DISPATCHER` (switch to it) or `requires = DISPATCHER` (check
// it), nothing else.
use scopes::dispatched;

#[dispatched(dispatcher = scopes::Dispatchers::io())] //~ ERROR unknown argument `dispatcher`
async fn load(path: String) -> String {
    path
}

fn main() {
    drop(load(String::new()));
}
