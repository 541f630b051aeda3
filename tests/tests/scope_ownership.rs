//! Issue 10, item 9: a `Scope` owns (cancels on drop) only the job it created or a job given to
//! it that nobody else holds; wrapping a job held elsewhere, or a coroutine's own context, does
//! not take ownership. (The public non-owning `ScopeHandle::new` is in `scope_handle_new.rs`.)

use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{LIMIT, Rt, on_runtime};

/// Issue 10, item 9: `Scope::new(job.clone()).launch(parked)` as a temporary: when the
/// statement ends, neither `job` (held here) nor the coroutine is cancelled.
#[test]
fn a_temporary_scope_over_a_job_held_elsewhere_does_not_cancel_it() {
    on_runtime(Rt::CurrentThread, LIMIT, "temporary scope", || async {
        let job = Job::new();
        let parked = Scope::new(job.clone()).launch(delay(Duration::from_secs(3600)));
        yield_now().await;
        assert_eq!(job.state(), JobState::Active, "the job held here runs on");
        assert_eq!(parked.state(), JobState::Active, "its coroutine runs on");
        assert_eq!(parked.job().parent(), Some(job.clone()));
        job.cancel();
        parked.join().await;
    });
}

/// Issue 10, item 9: inside a coroutine, a `Scope::new(current_context())` dropped at the end of
/// a block leaves the coroutine (its job is not owned) and what it launched running.
#[test]
fn a_scope_over_a_coroutines_context_does_not_cancel_the_coroutine() {
    on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "scope over current_context",
        || async {
            let scope = Scope::new(());
            let c = scope.async_(async {
                let child = {
                    let s = Scope::new(current_context());
                    s.launch(delay(Duration::from_secs(3600)))
                };
                yield_now().await;
                let me_active = current_scope().is_active();
                let child_active = child.is_active();
                child.cancel();
                Ok::<_, CoroutineError>((me_active, child_active))
            });
            let r = c.await;
            assert_eq!(
                r.map_err(|e| e.to_string()),
                Ok((true, true)),
                "the coroutine and its child ran on after the scope was dropped"
            );
        },
    );
}

/// Issue 10, item 9 (the old behaviour, which must stay): a `Scope::new(Job::supervisor())` made
/// here owns its job: dropping it cancels its coroutines.
#[test]
fn dropping_a_scope_that_made_its_job_cancels_its_coroutines() {
    on_runtime(Rt::CurrentThread, LIMIT, "owning scope", || async {
        let scope = Scope::new(Job::supervisor());
        let job = scope.job();
        let parked = scope.launch(delay(Duration::from_secs(3600)));
        drop(scope);
        parked.join().await;
        assert_eq!(parked.state(), JobState::Cancelled);
        assert!(job.is_cancelled());
    });
}

/// Issue 10, item 9 (the old behaviour, which must stay): a job moved into the scope (no other handle)
/// is owned: dropping the scope cancels it and its coroutines.
#[test]
fn dropping_a_scope_given_the_only_handle_of_a_job_cancels_it() {
    on_runtime(Rt::CurrentThread, LIMIT, "scope given a job", || async {
        let scope = Scope::new(Job::new());
        let job = scope.job();
        let parked = scope.launch(delay(Duration::from_secs(3600)));
        drop(scope);
        parked.join().await;
        assert_eq!(parked.state(), JobState::Cancelled);
        assert!(job.is_cancelled());
    });
}

/// A scope made over a context whose other holder lets go before the scope is dropped: by then
/// the scope is the job's only holder, so its drop cancels the job's coroutines (nobody else
/// could). It used to leave them running with no scope to end them.
#[test]
fn a_scope_left_as_the_only_holder_of_its_job_cancels_it_when_dropped() {
    on_runtime(Rt::Paused, LIMIT, "scope left alone", || async {
        let ctx = Job::new() + CoroutineName::new("svc");
        let scope = Scope::new(ctx.clone());
        assert!(!scope.owns_job(), "the context still holds the job");
        drop(ctx);
        assert!(scope.owns_job(), "the scope is the only holder now");
        let parked = scope.launch(delay(Duration::from_secs(3600)));
        drop(scope);
        parked.join().await;
        assert_eq!(parked.state(), JobState::Cancelled);
    });
}
