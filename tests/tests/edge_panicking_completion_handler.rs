//! Issue 10, item 5: `invoke_on_completion` on a job that is already final runs the handler at
//! once; a panic in it is caught and reported to the global exception handler, as for a job
//! that ends later. In a binary of its own: it sets the process-wide global handler.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

use scopes::prelude::*;
use scopes::{ErrorKind, reset_global_exception_handler, set_global_exception_handler};

/// Issue 10, item 5: a panicking completion handler registered on an already-final job does not
/// panic in the caller; the panic reaches the global exception handler (kept as a `Panicked`
/// error, with its message, on the report). The same for one registered before the job ends (the documented behaviour).
#[test]
fn a_panicking_handler_on_a_final_job_is_reported_not_thrown() {
    let reports: Arc<Mutex<Vec<CoroutineError>>> = Arc::default();
    let sink = reports.clone();
    set_global_exception_handler(move |_, error| sink.lock().unwrap().push(error.clone()));

    // Registered before the end: caught and reported (the documented behaviour).
    let later = Job::new();
    let _h = later.invoke_on_completion(|_| panic!("handler of a job that ends later"));
    let completed = catch_unwind(AssertUnwindSafe(|| later.complete()));

    // Registered on a final job: runs at once, must be caught the same way.
    let done = Job::new();
    done.complete();
    assert!(done.is_completed());
    let registered = catch_unwind(AssertUnwindSafe(|| {
        drop(done.invoke_on_completion(|_| panic!("handler of a final job")));
    }));

    let got: Vec<_> = reports.lock().unwrap().clone();
    reset_global_exception_handler();

    assert!(completed.is_ok(), "complete() must not panic");
    assert!(
        registered.is_ok(),
        "invoke_on_completion on a final job must not panic"
    );
    // Each report says what panicked and keeps the panic itself as suppressed on it.
    let panics: Vec<_> = got
        .iter()
        .inspect(|e| {
            assert!(
                e.to_string().starts_with("a completion handler panicked"),
                "{e}"
            )
        })
        .flat_map(|e| e.suppressed())
        .filter(|e| e.kind() == ErrorKind::Panicked)
        .filter_map(|e| e.panic_message().map(str::to_owned))
        .collect();
    assert_eq!(
        panics,
        vec![
            "handler of a job that ends later".to_owned(),
            "handler of a final job".to_owned()
        ],
        "both panics reach the global handler"
    );
}
