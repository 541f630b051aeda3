// `#[dispatched]` on generic functions, on methods taking `self: Arc<Self>`, with `requires`
// on a borrowing function; `suspend!` in both forms, and under its first name,
// `suspend_coroutine!`.
use std::sync::Arc;
use scopes::prelude::*;
use scopes::{dispatched, suspend, suspend_coroutine};

#[dispatched(on = Dispatchers::io())]
async fn describe<T: std::fmt::Debug + Send + 'static>(value: T) -> String {
    format!("{value:?}")
}

#[dispatched(requires = Dispatchers::io())]
async fn count(text: &str) -> usize {
    text.len()
}

struct Store {
    name: String,
}

impl Store {
    #[dispatched(on = Dispatchers::io())]
    async fn flush(self: Arc<Self>) -> usize {
        self.name.len()
    }
}

async fn plain() -> u8 {
    let a: Result<u8, _> = suspend!(|cont| cont.resume(1));
    let b: Result<u8, _> = suspend!(cancellable |cont| cont.resume(2));
    let c: Result<u8, _> = suspend_coroutine!(|cont| cont.resume(3));
    let d: Result<u8, _> = suspend_coroutine!(cancellable |cont| cont.resume(4));
    a.unwrap() + b.unwrap() + c.unwrap() + d.unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(describe(vec![1]).await, "[1]");
    let n = with_context(Dispatchers::io(), async { count("four").await }).await.unwrap();
    assert_eq!(n, 4);
    assert_eq!(Arc::new(Store { name: "s".into() }).flush().await, 1);
    assert_eq!(plain().await, 10);
}
