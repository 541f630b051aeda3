//! `Dispatchers::main()`: one designated thread. In its own binary, with one test, because the
//! main thread is process-wide.

use std::time::Duration;

use scopes::prelude::*;
use scopes::{Dispatchers, MainThread, current_dispatcher, run_main};
use scopes_tests::Steps;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_dispatcher_lifecycle() {
    // 1. Not installed: a clear error that says how to install one.
    let err = Dispatchers::try_main().unwrap_err().to_string();
    assert!(
        err.contains("Dispatchers::main() is not installed"),
        "{err}"
    );
    assert!(
        err.contains("scopes::run_main(future)") && err.contains("MainThread::start()"),
        "{err}"
    );
    let panic = std::panic::catch_unwind(Dispatchers::main).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("is not installed"), "{message}");

    // 2. Installed: every coroutine on main() runs on its one thread, across suspensions.
    let main = MainThread::start();
    assert_eq!(Dispatchers::main().to_string(), "Dispatchers.Main");
    assert_eq!(Dispatchers::main().parallelism(), Some(1));
    let scope = Scope::new(Dispatchers::main());
    let mut threads = Vec::new();
    for _ in 0..20 {
        threads.push(scope.async_(async {
            let before = std::thread::current().id();
            delay(Duration::from_millis(1)).await;
            yield_now().await;
            (before, std::thread::current().id())
        }));
    }
    for d in threads {
        let (before, after) = d.await.unwrap();
        assert_eq!((before, after), (main.thread_id(), main.thread_id()));
    }
    let hopped = with_context(Dispatchers::main(), async { std::thread::current().id() })
        .await
        .unwrap();
    assert_eq!(hopped, main.thread_id());

    // 3. main_immediate() on the main thread: no dispatch.
    let steps = Steps::new();
    let s = steps.clone();
    let order = scope.async_(async move {
        let immediate = Dispatchers::main_immediate();
        assert_eq!(immediate.to_string(), "Dispatchers.Main.immediate");
        assert!(immediate.serves(&Dispatchers::main()));
        s.expect(1);
        let s2 = s.clone();
        // Started from the main thread: runs in place, before `launch` returns.
        let child =
            current_scope().launch_with(immediate.clone(), CoroutineStart::Default, async move {
                s2.expect(2);
            });
        s.expect(3);
        child.join().await;
        let inside = with_context(immediate, async {
            current_dispatcher().unwrap().to_string()
        })
        .await
        .unwrap();
        Ok::<_, CoroutineError>(inside)
    });
    assert_eq!(order.await.unwrap(), "Dispatchers.Main.immediate");
    steps.finish(4);
    // From another thread, main_immediate() dispatches like main().
    let from_elsewhere = with_context(Dispatchers::main_immediate(), async {
        std::thread::current().id()
    })
    .await;
    assert_eq!(from_elsewhere.unwrap(), main.thread_id());

    // 4. Dropping the MainThread uninstalls it and cancels what still runs there.
    let parked = scope.launch(async { delay(Duration::from_secs(3600)).await });
    yield_now().await;
    drop(main);
    parked.join().await;
    assert!(parked.is_cancelled());
    assert!(Dispatchers::try_main().is_err());

    // 5. run_main: the calling thread is main for the future's run.
    let (same, after) = std::thread::spawn(|| {
        let me = std::thread::current().id();
        let same = run_main(async move {
            let scope = Scope::new(Dispatchers::main());
            scope
                .async_(async move { std::thread::current().id() == me })
                .await
                .unwrap()
        });
        (same, Dispatchers::try_main().is_err())
    })
    .join()
    .unwrap();
    assert!(same, "run_main's thread ran the coroutine");
    assert!(after, "uninstalled when run_main returned");
}
