//! Issue 10, item 9: `ScopeHandle::new(context)` is public and non-owning, like kotlinx's
//! `CoroutineScope(job)`. (It was `pub(crate)` before; kept in a file of its own so the other
//! tests built meanwhile.)

use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime};

/// Issue 10, item 9: a `ScopeHandle::new` over a job held here launches children of that job;
/// dropping the handle cancels nothing.
#[test]
fn a_scope_handle_over_a_context_launches_there_and_owns_nothing() {
    on_runtime(Rt::CurrentThread, LIMIT, "ScopeHandle::new", || async {
        let job = Job::new();
        let context: CoroutineContext =
            job.clone() + Dispatchers::from_handle(tokio::runtime::Handle::current());
        let handle = ScopeHandle::new(context);
        let parked = handle.launch(delay(Duration::from_secs(3600)));
        drop(handle);
        yield_now().await;
        assert_eq!(parked.job().parent(), Some(job.clone()));
        assert_eq!(parked.state(), JobState::Active);
        assert_eq!(job.state(), JobState::Active);
        job.cancel();
        parked.join().await;
        assert_eq!(parked.state(), JobState::Cancelled);
    });
}
