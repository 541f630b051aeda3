// Lesson: `#[scopes::main]` takes no arguments: the main thread is the calling thread, and
// `Dispatchers::default()` and `io()` are sized for the machine.
#[scopes::main(worker_threads = 4)] //~ ERROR `#[scopes::main]` takes no arguments
async fn main() {}
