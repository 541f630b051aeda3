// Lesson: `#[coroutine_scope]` does not add hidden fields: the struct keeps its `Scope` in a
// field of its own, marked `#[scope]` (or the only field of type `Scope`), which it builds
// with `Self::new_scope()`.
use scopes::coroutine_scope;

#[coroutine_scope]
struct Uploader { //~ ERROR `Uploader` has no field to keep its scope in
    bucket: String,
}

fn main() {}
