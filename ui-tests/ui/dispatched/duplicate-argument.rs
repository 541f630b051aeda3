// Lesson: a function runs on one dispatcher: give `on` once.
use scopes::dispatched;

#[dispatched(on = scopes::Dispatchers::io(), on = scopes::Dispatchers::default())] //~ ERROR duplicate argument `on`
async fn load(path: String) -> String {
    path
}

fn main() {
    drop(load(String::new()));
}
