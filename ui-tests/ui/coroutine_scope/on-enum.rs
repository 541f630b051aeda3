// Lesson: a scope is owned by one struct, which cancels it when it is dropped; an enum has no
// single place to keep it. Put the scope in a struct with named fields.
use scopes::coroutine_scope;

#[coroutine_scope]
enum Screen { //~ ERROR `#[coroutine_scope]` goes on a struct with named fields, not an enum
    Loading,
    Ready,
}

fn main() {}
