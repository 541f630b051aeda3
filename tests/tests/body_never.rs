//! Issue 10, item 10: a coroutine body of type `!` (`async { loop { .. } }`) is accepted by
//! `launch` on edition 2024, as `tokio::spawn` accepts it. It did not compile before: kept in a
//! file of its own so the other tests build.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime};

/// Issue 10, item 10: `scope.launch(async { loop { yield_now().await; } })` compiles, runs, and
/// ends cancelled when cancelled.
#[test]
fn a_body_that_never_returns_can_be_launched_and_cancelled() {
    on_runtime(Rt::CurrentThread, LIMIT, "body of type !", || async {
        let turns = Arc::new(AtomicUsize::new(0));
        let t = turns.clone();
        let scope = Scope::new(());
        let forever = scope.launch(async move {
            loop {
                t.fetch_add(1, Ordering::SeqCst);
                yield_now().await;
            }
        });
        while turns.load(Ordering::SeqCst) < 3 {
            yield_now().await;
        }
        forever.cancel();
        forever.join().await;
        assert_eq!(forever.state(), JobState::Cancelled);
    });
}
