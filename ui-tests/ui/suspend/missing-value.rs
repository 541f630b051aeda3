// Lesson: `on` names the dispatcher: `#[suspend(on = Dispatchers::io())]`.
use scopes::suspend;

#[suspend(on)] //~ ERROR missing value for `on`
async fn load(path: String) -> String {
    path
}

fn main() {
    drop(load(String::new()));
}
