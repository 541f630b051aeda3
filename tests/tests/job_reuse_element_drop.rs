//! Issue 16: a job kept for reuse holds its scope's context elements. Under a coroutine's job, a
//! kept child of a scope with elements of its own (`Scope::new(current_context() + a)`) is the
//! last holder of `a` once that scope is dropped, and the launch that reuses it drops `a`: an
//! element whose `Drop` panics is reported to the global exception handler, and the launch goes
//! on. A scope on a standalone job it does not own keeps nothing: its elements go with it. In a
//! binary of its own: it sets the process-wide global handler.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use scopes::prelude::*;
use scopes::{ContextElement, reset_global_exception_handler, set_global_exception_handler};

/// A context element whose `Drop` counts, then panics.
#[derive(Debug)]
struct PanicsOnDrop(Arc<AtomicUsize>);

impl ContextElement for PanicsOnDrop {}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("an element's drop");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn element_drops_through_kept_jobs_reach_the_global_handler() {
    let reports: Arc<Mutex<Vec<CoroutineError>>> = Arc::default();
    let sink = reports.clone();
    set_global_exception_handler(move |_, error| sink.lock().unwrap().push(error.clone()));

    // Under a coroutine: the kept child is the element's last holder; the reuse drops it.
    let drops = Arc::new(AtomicUsize::new(0));
    let outer = Scope::new(());
    let counter = drops.clone();
    let parent = outer.async_(async move {
        let inner = Scope::new(current_context() + PanicsOnDrop(counter.clone()));
        inner.launch(async {}).join().await;
        drop(inner);
        let kept = counter.load(Ordering::SeqCst);
        current_scope().launch(async {}).join().await;
        (kept, counter.load(Ordering::SeqCst))
    });
    let (kept, after_reuse) = parent.await.unwrap();

    // A scope on a job it does not own keeps nothing: the user's drop is the last.
    let shared_drops = Arc::new(AtomicUsize::new(0));
    let job = Job::new();
    let shared = Scope::new(job.clone() + PanicsOnDrop(shared_drops.clone()));
    shared.launch(async {}).join().await;
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(shared)));
    let other = Scope::new(job.clone());
    other.launch(async {}).join().await;
    job.complete();
    job.join().await;

    let got: Vec<_> = reports.lock().unwrap().clone();
    reset_global_exception_handler();

    assert_eq!(kept, 0, "the kept child held the inner scope's element");
    assert_eq!(after_reuse, 1, "dropped once, by the reuse");
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0]
            .to_string()
            .contains("dropping a finished job panicked"),
        "{}",
        got[0]
    );
    let suppressed = got[0].suppressed();
    let panic = suppressed.iter().find_map(|e| e.panic_message());
    assert_eq!(panic, Some("an element's drop"));

    assert!(
        dropped.is_err(),
        "the shared job's scope was the last holder"
    );
    assert_eq!(shared_drops.load(Ordering::SeqCst), 1);
    assert!(job.is_completed());
}
