// Lesson: `launch!` needs the coroutine's body, in braces; the scope and the context are
// optional: `launch!({ .. })`, `launch!(scope, { .. })`, `launch!(scope, context => { .. })`.
use scopes::launch;

fn main() {
    let _ = launch!(); //~ ERROR `launch!` needs a body in braces
}
