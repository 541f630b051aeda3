// Lesson: `#[dispatched(on = ..)]` may run the body on another thread, so it cannot borrow from
// the caller: take owned arguments (`PathBuf`, `String`, `Arc<T>`). To borrow, stay where you are
// and check the dispatcher with `requires` instead.
use std::path::Path;
use scopes::dispatched;

#[dispatched(on = scopes::Dispatchers::io())]
async fn size(path: &Path) -> u64 { //~ ERROR arguments must be owned
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn main() {
    drop(size(Path::new("x")));
}
