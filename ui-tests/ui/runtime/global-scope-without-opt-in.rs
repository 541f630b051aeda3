// Lesson: a coroutine launched in `GlobalScope` belongs to no scope: nothing cancels it when
// its owner goes away, nothing waits for it, and its failures have no parent to reach (kotlinx
// marks it `@DelicateCoroutinesApi`). Launch in a `Scope` you own; opt in only on purpose, with
// the `global-scope` feature.
use scopes::GlobalScope;

fn main() {
    GlobalScope.launch(async { println!("fire and forget") }); //~ ERROR `GlobalScope` is delicate and needs an explicit opt-in
}
