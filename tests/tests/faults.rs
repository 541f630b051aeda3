//! Faults with a clear expected outcome. (A panicking handler, a panicking destructor during
//! cancellation and a panic in a `NonCancellable` section are in `exception_*.rs` and
//! `cancellation.rs`.)

use std::time::Duration;

use scopes::prelude::*;
use scopes::{Dispatchers, JobState};
use scopes_tests::{LIMIT, Recorder, Rt, TestError, on_runtime};

#[test]
fn coroutines_of_a_runtime_that_shuts_down_end_cancelled_and_their_joiners_return() {
    let doomed = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let scope = Scope::new(Dispatchers::from_handle(doomed.handle().clone()));
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let parked: Vec<_> = (0..10)
        .map(|_| {
            let started = started_tx.clone();
            scope.launch(async move {
                started.send(()).unwrap();
                delay(Duration::from_secs(3600)).await;
            })
        })
        .collect();
    for _ in 0..10 {
        started_rx.recv().unwrap();
    }
    drop(doomed); // shuts the runtime down with the coroutines parked on it

    // The joiners, on another runtime, return: nothing hangs.
    let other = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    other.block_on(async {
        for c in &parked {
            c.join().await;
            assert_eq!(c.state(), JobState::Cancelled);
        }
    });
    let error = parked[0].final_error().unwrap();
    assert!(
        error.is_cancellation() && error.to_string().contains("runtime shut down"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_deferred_dropped_unawaited_while_failing_cancels_its_parent_and_is_reported_once() {
    let recorder = Recorder::new();
    let scope = Scope::new(Job::supervisor() + recorder.handler());
    let parent = scope.launch(async {
        let d = current_scope().async_(async {
            yield_now().await;
            Err::<u8, _>(TestError("unawaited"))
        });
        drop(d); // nobody will await it
        delay(Duration::from_secs(3600)).await;
    });
    parent.join().await;
    assert_eq!(
        parent.state(),
        JobState::Cancelled,
        "the failure cancelled its parent"
    );
    assert_eq!(
        recorder.messages(),
        vec!["unawaited"],
        "reported once, by the root launch"
    );
}

thread_local! {
    static THREAD_SCOPE: std::cell::RefCell<Option<Scope>> = const { std::cell::RefCell::new(None) };
}

/// A scope kept in a thread-local is dropped when its thread exits, possibly after the
/// runtime's own thread-locals are gone: its cancellation still reaches its coroutines (it used
/// to abort the process with "thread local panicked on drop").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scope_kept_in_a_thread_local_cancels_its_coroutines_when_the_thread_exits() {
    let handle = tokio::runtime::Handle::current();
    let worker = std::thread::spawn(move || {
        let _runtime = handle.enter();
        let scope = Scope::new(());
        let worker = scope.launch(delay(Duration::from_secs(3600)));
        THREAD_SCOPE.with(|s| *s.borrow_mut() = Some(scope));
        // Use the job tree on this thread after the scope is stored, so the tree's own
        // thread-locals are made after the scope's and destroyed before it.
        Job::new().cancel();
        worker
    })
    .join()
    .expect("the thread exits without a panic");
    worker.join().await;
    assert_eq!(worker.state(), JobState::Cancelled);
}

/// A waker that panics when woken: a foreign executor's, say.
struct PanickingWaker;

impl std::task::Wake for PanickingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        panic!("a waker panicked on purpose");
    }
}

/// Polls `future` once with a waker that panics when woken.
fn poll_with_a_panicking_waker<F: std::future::Future + Unpin>(future: &mut F) {
    let waker = std::task::Waker::from(std::sync::Arc::new(PanickingWaker));
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(std::pin::Pin::new(future).poll(&mut cx).is_pending());
}

/// A scope polled by an executor whose waker panics: `cancel()` wakes that waker, and the
/// panic is reported, not thrown, so `cancel()` returns and the cancellation still reaches the
/// scope's child (it used to escape `cancel()` and leave the child running).
#[test]
fn a_panicking_waker_woken_by_cancel_does_not_stop_the_cancellation() {
    on_runtime(Rt::CurrentThread, LIMIT, "panicking waker", || async {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut scoped = Box::pin(coroutine_scope(|s| async move {
            let child = s.launch(delay(Duration::from_secs(3600)));
            tx.send((s.job(), child)).unwrap();
            std::future::pending::<()>().await;
            Ok::<_, CoroutineError>(())
        }));
        poll_with_a_panicking_waker(&mut scoped);
        let (scope_job, child) = rx.await.unwrap();
        scope_job.cancel(); // wakes the panicking waker
        child.join().await;
        assert_eq!(child.state(), JobState::Cancelled);
        drop(scoped);
        assert_eq!(scope_job.state(), JobState::Cancelled);
    });
}

/// A joiner whose waker panics, woken when its coroutine ends: the panic is reported, and the
/// parent that waited only for that coroutine still ends (it used to stay `Completing`).
#[test]
fn a_joiners_panicking_waker_does_not_strand_the_parent() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "joiner's panicking waker",
        || async {
            let parent = Job::new();
            let (go, wait) = tokio::sync::oneshot::channel::<()>();
            let child = ScopeHandle::new(parent.clone()).launch(async move {
                let _ = wait.await;
            });
            parent.complete();
            let mut join = child.join();
            poll_with_a_panicking_waker(&mut join);
            go.send(()).unwrap();
            parent.join().await;
            assert_eq!(parent.state(), JobState::Completed);
            assert_eq!(child.state(), JobState::Completed);
        },
    );
}
