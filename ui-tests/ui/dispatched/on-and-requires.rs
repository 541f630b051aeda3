// Lesson: `on` moves the body to its dispatcher, so a `requires` check beside it says nothing:
// give one of them.
use scopes::dispatched;

#[dispatched(on = scopes::Dispatchers::io(), requires = scopes::Dispatchers::io())] //~ ERROR `on` already puts the body on its dispatcher
async fn load(path: String) -> String {
    path
}

fn main() {
    drop(load(String::new()));
}
