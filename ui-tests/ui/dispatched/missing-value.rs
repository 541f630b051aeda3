// Lesson: `on` names the dispatcher: `#[dispatched(on = Dispatchers::io())]`.
use scopes::dispatched;

#[dispatched(on)] //~ ERROR missing value for `on`
async fn load(path: String) -> String {
    path
}

fn main() {
    drop(load(String::new()));
}
