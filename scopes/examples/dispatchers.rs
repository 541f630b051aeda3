//! Dispatchers: CPU work on `default()`, blocking work on `io()` and a view of it, a contract
//! that a function checks, and a thread-local value that follows the coroutine.
//!
//! Run it with `cargo run --example dispatchers`.

use std::cell::RefCell;
use std::time::Duration;

use scopes::prelude::*;
use scopes::{
    Dispatcher, Dispatchers, current_dispatcher, require_dispatcher, thread_local_element,
};

thread_local! {
    static REQUEST: RefCell<&'static str> = const { RefCell::new("-") };
}

/// Must run on `io()` (or a view of it): it blocks.
fn write_report(name: &str) -> Result<String, CoroutineError> {
    require_dispatcher(&Dispatchers::io()).map_err(CoroutineError::failed)?;
    std::thread::sleep(Duration::from_millis(5)); // a blocking write
    Ok(format!(
        "{name} written on {} for request {}",
        current_dispatcher().unwrap(),
        REQUEST.with(|r| *r.borrow())
    ))
}

#[tokio::main]
async fn main() {
    // Make `default()` and `io()` use this runtime: no second runtime.
    Dispatchers::install_default(tokio::runtime::Handle::current()).unwrap();
    let writers: Dispatcher = Dispatchers::io().limited_parallelism(2);
    let scope = Scope::new(Job::supervisor() + thread_local_element(&REQUEST, "r-42"));

    let report = scope.async_(async move {
        // CPU work where the scope runs, then two files at most two at a time.
        let total: u64 = (1..=1_000u64).sum();
        let a = current_scope().async_with(writers.clone(), CoroutineStart::Default, async {
            write_report("a.txt")
        });
        let b = current_scope().async_with(writers.clone(), CoroutineStart::Default, async {
            write_report("b.txt")
        });
        let c = with_context(Dispatchers::io(), async { write_report("c.txt") }).await?;
        Ok::<_, CoroutineError>(vec![format!("sum {total}"), a.await?, b.await?, c])
    });
    for line in report.await.unwrap() {
        println!("{line}");
    }

    // The contract names both sides when it is broken.
    let wrong = scope.async_(async { write_report("d.txt") }).await;
    println!("on the wrong dispatcher: {}", wrong.unwrap_err());
}

#[test]
fn example_runs() {
    main()
}
