//! A `#[tokio::main]`-style program installs its runtime as `default()`: no second runtime, and
//! `io()` uses that runtime's blocking pool. In its own binary: the default is process-wide.

use scopes::prelude::*;
use scopes::{Dispatchers, current_dispatcher};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installed_runtime_is_the_default_and_feeds_io() {
    let runtime = tokio::runtime::Handle::current();
    Dispatchers::install_default(runtime.clone()).unwrap();
    assert_eq!(Dispatchers::default().handle().id(), runtime.id());
    assert!(Dispatchers::from_handle(runtime.clone()).same_as(&Dispatchers::default()));

    // A scope made here names the default, and a hop to it is no hop.
    let scope = Scope::new(());
    assert_eq!(
        format!("{:?}", scope.coroutine_context()),
        "[Job{Active}, Dispatchers.Default]"
    );
    let same_thread = scope.async_(scopes_tests::with_context_stays_on_thread(
        Dispatchers::default(),
    ));
    assert!(same_thread.await.unwrap());

    // io() runs on this runtime's blocking pool (tokio names its threads `tokio-rt-worker`).
    let (name, on) = with_context(Dispatchers::io(), async {
        (
            std::thread::current().name().unwrap_or_default().to_owned(),
            current_dispatcher().unwrap().to_string(),
        )
    })
    .await
    .unwrap();
    assert_eq!(name, "tokio-rt-worker");
    assert_eq!(on, "Dispatchers.IO");
    assert!(Dispatchers::install_default(runtime).is_err(), "only once");
}
