// Lesson: only context elements combine with `+`: a `Job`, a dispatcher, a `CoroutineName`, a
// `CoroutineExceptionHandler`, `NonCancellable`, or a type of yours made an element with
// `context_element!` (or `#[derive(ContextElement)]`). A plain value is not an element.
use scopes::prelude::*;

fn main() {
    let context = CoroutineName::new("sync") + 42; //~ ERROR `{integer}` cannot be added to a coroutine context
    drop(context);
}
