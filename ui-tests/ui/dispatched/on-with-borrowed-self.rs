// Lesson: the same for `&self`: a method whose body moves to another dispatcher takes `self`
// by value, for example `self: Arc<Self>`.
use scopes::dispatched;

struct Store;

impl Store {
    #[dispatched(on = scopes::Dispatchers::io())]
    async fn flush(&self) { //~ ERROR cannot borrow `self`
    }
}

fn main() {
    drop(Store.flush());
}
