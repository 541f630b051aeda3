//! Issue 16: a job kept for reuse holds only context elements its parent holds anyway (a
//! coroutine's own, or those of the scope that owns a standalone job), so reuse never makes an
//! element outlive its scope: each is dropped when its last scope is, by the user's own drop
//! (a panicking `Drop` panics there, as without reuse), and never later, inside another launch.
//! In a binary of its own: it sets the process-wide global handler.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use scopes::prelude::*;
use scopes::{ContextElement, reset_global_exception_handler, set_global_exception_handler};

/// A context element whose `Drop` counts, then panics if told to.
#[derive(Debug)]
struct Counted {
    drops: Arc<AtomicUsize>,
    panics: bool,
}

impl ContextElement for Counted {}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Ordering::SeqCst);
        if self.panics {
            panic!("an element's drop");
        }
    }
}

fn counted(drops: &Arc<AtomicUsize>, panics: bool) -> Counted {
    Counted {
        drops: drops.clone(),
        panics,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn reuse_never_makes_an_element_outlive_its_scope() {
    let reports: Arc<Mutex<Vec<CoroutineError>>> = Arc::default();
    let sink = reports.clone();
    set_global_exception_handler(move |_, error| sink.lock().unwrap().push(error.clone()));

    // An owning scope: its children are kept, and its drop drops the element at once.
    let drops = Arc::new(AtomicUsize::new(0));
    let owned = Scope::new(Job::new() + counted(&drops, false));
    for _ in 0..20 {
        owned.launch(async {}).join().await;
    }
    drop(owned);
    let owned_drops = drops.load(Ordering::SeqCst);

    // A scope with an element of its own, inside a coroutine: its children are not kept, so
    // the user's drop of the scope is the element's last, and its panic is the user's.
    let inner_drops = Arc::new(AtomicUsize::new(0));
    let inner_count = inner_drops.clone();
    let relaunched = Arc::new(AtomicBool::new(false));
    let ran = relaunched.clone();
    let outer = Scope::new(());
    let parent = outer.async_(async move {
        let inner = Scope::new(current_context() + counted(&inner_count, true));
        inner.launch(async {}).join().await;
        let dropped = catch_unwind(AssertUnwindSafe(|| drop(inner)));
        let at_drop = inner_count.load(Ordering::SeqCst);
        // A later launch in the coroutine drops nothing of that scope.
        current_scope()
            .launch(async move { ran.store(true, Ordering::SeqCst) })
            .join()
            .await;
        (dropped.is_err(), at_drop)
    });
    let (panicked_at_drop, at_drop) = parent.await.unwrap();

    // A scope on a job it does not own: nothing kept, the user's drop is the last.
    let shared_drops = Arc::new(AtomicUsize::new(0));
    let job = Job::new();
    let shared = Scope::new(job.clone() + counted(&shared_drops, true));
    shared.launch(async {}).join().await;
    let dropped = catch_unwind(AssertUnwindSafe(|| drop(shared)));
    let other = Scope::new(job.clone());
    other.launch(async {}).join().await;
    job.complete();
    job.join().await;

    let got: Vec<_> = reports.lock().unwrap().clone();
    reset_global_exception_handler();

    assert_eq!(
        owned_drops, 1,
        "the owning scope's drop dropped its element"
    );
    assert!(
        panicked_at_drop,
        "the inner scope's drop was the element's last"
    );
    assert_eq!(at_drop, 1);
    assert!(relaunched.load(Ordering::SeqCst));
    assert_eq!(inner_drops.load(Ordering::SeqCst), 1, "dropped once");
    assert!(
        dropped.is_err(),
        "the shared job's scope was the last holder"
    );
    assert_eq!(shared_drops.load(Ordering::SeqCst), 1);
    assert!(job.is_completed());
    assert!(got.is_empty(), "nothing was dropped late: {got:?}");
}
