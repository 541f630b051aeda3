// Lesson: `launch!(self, ..)` launches in `self`, which must be a coroutine scope. A struct that
// holds a `Scope` becomes one with `#[coroutine_scope]` on it (the struct then owns the scope and
// cancels it when dropped); without the attribute, launch in the field: `launch!(self.scope, ..)`.
use scopes::prelude::*;
use scopes::launch;

struct Uploader {
    scope: Scope,
}

impl Uploader {
    fn upload(&self, name: String) -> Coroutine {
        launch!(self, { println!("uploading {name}") }) //~ ERROR `Uploader` is not a coroutine scope
    }
}

fn main() {
    let uploader = Uploader { scope: Scope::new(()) };
    drop(uploader.upload("cat.png".into()));
}
