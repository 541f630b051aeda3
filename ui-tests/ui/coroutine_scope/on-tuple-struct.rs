// Lesson: the scope field needs a name, so the struct says which field keeps its scope. Use
// named fields: `struct Name { #[scope] scope: Scope }`.
use scopes::{coroutine_scope, Scope};

#[coroutine_scope]
struct Worker(Scope, u32); //~ ERROR `#[coroutine_scope]` needs named fields

fn main() {}
