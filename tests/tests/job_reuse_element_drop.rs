//! Issue 16: a job kept for reuse holds its scope's context elements. When scopes share one
//! standalone `Job` with different elements, a kept child of a dropped scope is the last holder
//! of that scope's elements, and the launch that reuses it drops them: an element whose `Drop`
//! panics is reported to the global exception handler, and the launch goes on. In a binary of
//! its own: it sets the process-wide global handler.

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
async fn a_reused_job_drops_a_gone_scopes_elements_through_the_global_handler() {
    let reports: Arc<Mutex<Vec<CoroutineError>>> = Arc::default();
    let sink = reports.clone();
    set_global_exception_handler(move |_, error| sink.lock().unwrap().push(error.clone()));

    let drops = Arc::new(AtomicUsize::new(0));
    let job = Job::new();
    let first = Scope::new(job.clone() + PanicsOnDrop(drops.clone()));
    first.launch(async {}).join().await;
    drop(first);
    let kept = drops.load(Ordering::SeqCst);

    // Another scope on the same job: its launch may reuse the kept child.
    let second = Scope::new(job.clone());
    let ran = second.async_(async { 7 }).await.unwrap();
    second.launch(async {}).join().await;
    job.complete();
    job.join().await;

    let got: Vec<_> = reports.lock().unwrap().clone();
    reset_global_exception_handler();

    assert_eq!(ran, 7);
    assert_eq!(kept, 0, "the kept child held the first scope's element");
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "dropped once, by the reuse"
    );
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
    assert!(job.is_completed());
}
