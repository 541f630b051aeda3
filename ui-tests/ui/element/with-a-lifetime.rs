// Lesson: a context element travels with coroutines that outlive any borrow, so it owns its
// data: `struct Tenant(String)`, or an `Arc<str>`, not `&str`.
use scopes::ContextElement;

#[derive(Debug, ContextElement)]
struct Tenant<'a>(&'a str); //~ ERROR a context element lives as long as its coroutines, so it cannot borrow

fn main() {}
