//! Which runtime serves `default()` and `io()` in a program that has its own: its own, with no
//! set-up call (issue 11, "the same resolution in production").

use std::sync::LazyLock;
use std::time::Duration;

use scopes::prelude::*;
use scopes::{CoroutineScope, Dispatcher, current_dispatcher, run_main};
use scopes_tests::LIMIT;
use tokio::runtime::{Builder, Handle, Runtime};

fn program_runtime() -> Runtime {
    Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("program")
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn default_and_io_run_on_the_program_runtime_without_install_default() {
    let runtime = program_runtime();
    let program = runtime.handle().id();
    runtime.block_on(async move {
        let on_default = with_context(Dispatchers::default(), async {
            (
                Handle::current().id(),
                std::thread::current().name().map(str::to_owned),
            )
        });
        let (served_by, thread) = on_default.await.unwrap();
        assert_eq!(served_by, program);
        assert_eq!(
            thread.as_deref(),
            Some("program"),
            "a worker of the program's runtime"
        );

        let on_io = with_context(Dispatchers::io(), async {
            (
                Handle::current().id(),
                current_dispatcher().unwrap().to_string(),
            )
        });
        let (served_by, name) = on_io.await.unwrap();
        assert_eq!(served_by, program);
        assert_eq!(name, "Dispatchers.IO");
        assert_eq!(Dispatchers::default().to_string(), "Dispatchers.Default");
    });
}

#[test]
fn a_view_counts_its_coroutines_per_runtime_and_runs_them_on_the_launching_one() {
    // One view value, used by two runtimes at once: each has its own slot.
    let view = Dispatchers::io().limited_parallelism(1);
    let (first, second) = (program_runtime(), program_runtime());
    let (hold_tx, hold_rx) = std::sync::mpsc::channel::<()>();
    let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
    let (_scope, holder) = first.block_on({
        let view = view.clone();
        async move {
            let scope = Scope::new(());
            let holder = scope.launch(async move {
                with_context(view, async move {
                    held_tx.send(()).unwrap();
                    hold_rx.recv().unwrap(); // a blocking call keeps the first runtime's slot
                })
                .await
                .unwrap();
            });
            (scope, holder)
        }
    });
    held_rx.recv_timeout(LIMIT).unwrap();
    let served_by = second.block_on(async {
        let on_view = with_context(view, async { Handle::current().id().to_string() });
        tokio::time::timeout(LIMIT, on_view).await
    });
    assert_eq!(
        served_by
            .expect("the second runtime's slot is its own")
            .unwrap(),
        second.handle().id().to_string()
    );
    hold_tx.send(()).unwrap();
    first.block_on(holder.join());
}

#[test]
fn dispatchers_kept_in_statics_follow_the_runtime_that_uses_them() {
    static DEFAULT: LazyLock<Dispatcher> = LazyLock::new(Dispatchers::default);
    static IO: LazyLock<Dispatcher> = LazyLock::new(Dispatchers::io);
    static POOL: LazyLock<Dispatcher> = LazyLock::new(|| Dispatchers::io().limited_parallelism(4));
    for round in 0..3 {
        // A runtime per round, as each `#[tokio::test]` has: the first is gone by the second.
        let runtime = program_runtime();
        let id = runtime.handle().id().to_string();
        let served = runtime.block_on(async {
            let mut served = Vec::new();
            for dispatcher in [&*DEFAULT, &*IO, &*POOL] {
                let on = with_context(dispatcher.clone(), async {
                    Handle::current().id().to_string()
                });
                served.push(tokio::time::timeout(LIMIT, on).await.unwrap().unwrap());
            }
            let global = scopes::GlobalScope.async_(async { Handle::current().id().to_string() });
            served.push(tokio::time::timeout(LIMIT, global).await.unwrap().unwrap());
            served
        });
        assert_eq!(served, vec![id; 4], "round {round}");
    }
}

#[test]
fn the_program_runtime_shutdown_reaches_io_work() {
    let runtime = program_runtime();
    let (job, started) = runtime.block_on(async {
        let scope = Scope::new(Dispatchers::io());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let worker = scope.launch(async move {
            let _ = tx.send(());
            delay(Duration::from_secs(3600)).await;
        });
        let job = worker.job().clone();
        std::mem::forget(scope); // nothing cancels it but the runtime's end
        (job, rx.await.is_ok())
    });
    assert!(started);
    runtime.shutdown_timeout(LIMIT);
    // The runtime's end dropped the coroutine's timer and task: the job ended there and then.
    assert!(
        job.is_cancelled(),
        "the io() coroutine ends with the runtime that served it: {}",
        job.dump()
    );
}

#[test]
fn a_main_thread_runtime_does_not_serve_default() {
    let main_thread = std::thread::current().id();
    let hopped_off_main = run_main(async move {
        let on_default = with_context(Dispatchers::default(), async move {
            std::thread::current().id() != main_thread
        });
        on_default.await.unwrap()
    });
    assert!(hopped_off_main, "default() is never the main thread");
}

#[tokio::test(flavor = "current_thread")]
async fn on_a_current_thread_runtime_default_runs_elsewhere_and_in_parallel() {
    // Two coroutines on default() that each wait for the other: they need two threads, and
    // the current-thread runtime has one (which is also busy awaiting them).
    let (a_tx, a_rx) = std::sync::mpsc::channel::<()>();
    let (b_tx, b_rx) = std::sync::mpsc::channel::<()>();
    let test_thread = std::thread::current().id();
    let scope = Scope::new(Dispatchers::default());
    let a = scope.async_(async move {
        a_tx.send(()).unwrap();
        (
            b_rx.recv_timeout(LIMIT).is_ok(),
            std::thread::current().id() != test_thread,
        )
    });
    let b = scope.async_(async move {
        b_tx.send(()).unwrap();
        (
            a_rx.recv_timeout(LIMIT).is_ok(),
            std::thread::current().id() != test_thread,
        )
    });
    assert_eq!(a.await.unwrap(), (true, true));
    assert_eq!(b.await.unwrap(), (true, true));
}
