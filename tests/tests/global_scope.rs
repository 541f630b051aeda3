//! `GlobalScope`, opted in with the `global-scope` feature (this crate enables it; the
//! ui-tests show the error without it).

use scopes::prelude::*;
use scopes::{GlobalScope, JobState};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_coroutines_are_roots_on_the_default_dispatcher() {
    let root = GlobalScope.async_(async { current_context().job().unwrap().parent().is_none() });
    assert!(root.await.unwrap(), "a global coroutine has no parent");
    let c = GlobalScope.launch(async {});
    c.join().await;
    assert_eq!(c.state(), JobState::Completed);
    let d = GlobalScope.async_(async { scopes::current_dispatcher().unwrap().to_string() });
    assert_eq!(d.await.unwrap(), "Dispatchers.Default");
    assert!(
        GlobalScope.coroutine_context().job().is_none(),
        "no job: nothing owns its coroutines"
    );
}
