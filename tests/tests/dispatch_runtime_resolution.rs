//! Which runtime serves `default()` and `io()` in a program that has its own: its own, with no
//! set-up call (issue 11, "the same resolution in production").

use std::time::Duration;

use scopes::prelude::*;
use scopes::{current_dispatcher, run_main};
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
fn each_runtime_has_one_io_with_its_own_count() {
    let (first, second) = (program_runtime(), program_runtime());
    let io_first = first.block_on(async { Dispatchers::io() });
    let again = first.block_on(async { Dispatchers::io() });
    let io_second = second.block_on(async { Dispatchers::io() });
    assert!(
        io_first.ptr_eq(&again),
        "one io() per runtime while it is held"
    );
    assert!(
        !io_first.ptr_eq(&io_second),
        "another runtime, another io()"
    );
    assert!(Dispatchers::default().same_as(&Dispatchers::default()));
    let default_first = first.block_on(async { Dispatchers::default() });
    let default_second = second.block_on(async { Dispatchers::default() });
    assert!(!default_first.same_as(&default_second));
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
