// Lesson: `with_context!` takes the context and then the body in braces:
// `with_context!(Dispatchers::io(), { .. })`.

async fn flush() {
    let _ = scopes::with_context!(scopes::Dispatchers::io()); //~ ERROR `with_context!` needs a body after the context
}

fn main() {
    drop(flush());
}
