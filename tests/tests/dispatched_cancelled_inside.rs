//! Issue 10, item 4: `#[dispatched(on = ..)]` must not park its caller forever when the moved body
//! is cancelled from inside.

use scopes::dispatched;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime};

#[dispatched(on = Dispatchers::io())]
async fn cancels_itself() -> u32 {
    current_scope().cancel();
    yield_now().await;
    7
}

/// Issue 10, item 4: a launched coroutine calls a `#[dispatched(on = Dispatchers::io())]`
/// function whose body cancels its own scope and yields: the caller is not parked forever; its
/// coroutine ends cancelled and `join()` returns within the bound, and the code after the call
/// does not run.
#[test]
fn a_suspend_on_body_cancelled_from_inside_does_not_park_its_caller() {
    on_runtime(
        Rt::MultiThread(2),
        LIMIT,
        "dispatched(on) cancelled inside",
        || async {
            let scope = Scope::new(Job::supervisor());
            let (after_tx, mut after_rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
            let caller = scope.launch(async move {
                let n = cancels_itself().await;
                let _ = after_tx.send(n);
            });
            caller.join().await;
            assert!(caller.is_completed(), "{:?}", caller.state());
            assert!(
                caller.is_cancelled(),
                "ends cancelled: {:?}",
                caller.state()
            );
            assert!(
                after_rx.try_recv().is_err(),
                "no value came back from a cancelled body"
            );
        },
    );
}

/// Issue 10, item 4: the same on a current-thread runtime.
#[test]
fn a_suspend_on_body_cancelled_from_inside_does_not_park_its_caller_current_thread() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "dispatched(on) cancelled inside, ct",
        || async {
            let scope = Scope::new(Job::supervisor());
            let caller = scope.launch(async move {
                let _ = cancels_itself().await;
            });
            caller.join().await;
            assert!(caller.is_completed() && caller.is_cancelled(), "{caller:?}");
        },
    );
}
