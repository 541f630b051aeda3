//! The quick start: a small job tree, a failure caught by a handler, and a cancelled subtree,
//! each shown with `scope.dump()`.
//!
//! Run it with `cargo run --example quickstart`.

use std::time::Duration;

use scopes::prelude::*;
use tokio::sync::oneshot;

fn named(name: &str) -> CoroutineName {
    CoroutineName::new(name)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    scopes::set_debug_mode(true); // ids in the dump: "sync"#1
    let handler = CoroutineExceptionHandler::new(|ctx, err| {
        let who = ctx
            .get::<CoroutineName>()
            .map_or("?".into(), |n| n.to_string());
        println!("handler: coroutine {who:?} failed: {err}");
    });
    // A supervisor: one coroutine's failure does not take the others down.
    let scope = Scope::new(Job::supervisor() + named("app") + handler);

    // A small tree: "sync" syncs two pages, "upload" sends a chunk and then fails.
    let (built_tx, built_rx) = oneshot::channel();
    let sync = scope.launch_with(named("sync"), CoroutineStart::Default, async move {
        for page in ["page 1", "page 2"] {
            current_scope().launch_with(named(page), CoroutineStart::Default, async {
                delay(Duration::from_secs(3600)).await;
            });
        }
        delay(Duration::from_secs(3600)).await;
    });
    let (fail_tx, fail_rx) = oneshot::channel::<()>();
    let upload = scope.launch_with(named("upload"), CoroutineStart::Default, async move {
        current_scope().launch_with(named("chunk"), CoroutineStart::Default, async {
            delay(Duration::from_secs(3600)).await;
        });
        built_tx.send(()).unwrap();
        let _ = fail_rx.await;
        Err::<(), _>("network unreachable")
    });
    built_rx.await.unwrap();
    yield_now().await;
    println!("1. the live tree:\n{}", scope.dump());

    // The failure cancels "upload" and its child, and goes to the handler; "sync" is untouched.
    fail_tx.send(()).unwrap();
    upload.join().await;
    println!("\n2. after \"upload\" failed:\n{}", scope.dump());

    // Cancelling "sync" cancels its subtree; join waits until all of it is gone.
    sync.cancel_and_join().await;
    println!("3. after cancelling \"sync\":\n{}", scope.dump());
    println!("upload: {:?}\nsync:   {:?}", upload, sync);
}

#[test]
fn example_runs() {
    main()
}
