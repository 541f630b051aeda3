//! Issue 10, item 8: ordering promises. (a) a failed launch's handler has run when a joiner
//! wakes; (b) `yield_now()` is fair; (c) `cancel()` from inside a completion handler behaves as
//! from outside; (d) coroutines parked on `unconfined()` end quietly cancelled when their
//! runtime shuts down. (The `io()` half of (d) is in `edge_shutdown_io.rs`: it installs the
//! default runtime.)

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{
    LIMIT, Rt, TestError, on_runtime, on_runtime_main, park_64_and_shut_down, within,
};

/// A scope whose handler sets `flag` (after a few thread yields, to widen the window between
/// the job's end and the handler; few, since on a loaded machine each yield may give a whole
/// time slice away).
fn flagging_scope(flag: Arc<AtomicBool>) -> Scope {
    let handler = CoroutineExceptionHandler::new(move |_, _| {
        for _ in 0..3 {
            std::thread::yield_now();
        }
        flag.store(true, Ordering::SeqCst);
    });
    Scope::new(Job::supervisor() + Dispatchers::default() + handler)
}

/// Issue 10, item 8a: on a multi-thread runtime, 300 times: a launch that fails under a
/// supervisor whose handler sets a flag; a `join()` racing the failure returns only after the
/// handler ran (the flag is set right after `join().await`).
#[test]
fn a_join_of_a_failed_launch_returns_after_its_handler_ran() {
    let late = on_runtime_main(Rt::MultiThread(2), LIMIT, "join after handler", || async {
        let mut late = 0;
        for _ in 0..300 {
            let flag = Arc::new(AtomicBool::new(false));
            let scope = flagging_scope(flag.clone());
            let c = scope.launch(async { Err::<(), _>(TestError("fails")) });
            c.join().await;
            if !flag.load(Ordering::SeqCst) {
                late += 1;
            }
        }
        late
    });
    assert_eq!(
        late, 0,
        "joins that returned before the handler ran, of 300"
    );
}

/// Issue 10, item 8a: 300 times: once `is_completed()` is true, the handler of the failed
/// launch has run.
#[test]
fn a_failed_launch_is_completed_only_after_its_handler_ran() {
    let late = within(LIMIT, "completed after handler", || {
        let mut late = 0;
        for _ in 0..300 {
            let flag = Arc::new(AtomicBool::new(false));
            let scope = flagging_scope(flag.clone());
            let c = scope.launch(async { Err::<(), _>(TestError("fails")) });
            while !c.is_completed() {
                std::thread::yield_now();
            }
            if !flag.load(Ordering::SeqCst) {
                late += 1;
            }
        }
        late
    });
    assert_eq!(late, 0, "completed before the handler ran, of 300");
}

/// Two coroutines, launched in this order by a parent on `dispatcher` (so both are queued
/// before either runs), each logging and yielding three times.
async fn interleaving(dispatcher: scopes::Dispatcher) -> Vec<String> {
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let scope = Scope::new(dispatcher);
    let l = log.clone();
    let parent = scope.launch(async move {
        for name in ["a", "b"] {
            let log = l.clone();
            current_scope().launch(async move {
                for i in 0..3 {
                    log.lock().unwrap().push(format!("{name}{i}"));
                    yield_now().await;
                }
            });
        }
    });
    parent.join().await;
    log.lock().unwrap().clone()
}

const FAIR: [&str; 6] = ["a0", "b0", "a1", "b1", "a2", "b2"];

/// Issue 10, item 8b: on a current-thread runtime two coroutines that log and `yield_now()`
/// three times interleave fairly: `a0 b0 a1 b1 a2 b2`.
#[test]
fn yield_now_is_fair_on_a_current_thread_runtime() {
    let log = on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "fair yield (current thread)",
        || interleaving(Dispatchers::from_handle(tokio::runtime::Handle::current())),
    );
    assert_eq!(log, FAIR);
}

/// Issue 10, item 8b: the same on `Dispatchers::default().limited_parallelism(1)`.
#[test]
fn yield_now_is_fair_on_a_view_of_parallelism_one() {
    let log = on_runtime(Rt::CurrentThread, LIMIT, "fair yield (view of 1)", || {
        interleaving(Dispatchers::default().limited_parallelism(1))
    });
    assert_eq!(log, FAIR);
}

/// How the completion handler of item 8c is made to run.
#[derive(Clone, Copy, Debug)]
enum Trigger {
    /// `trigger.complete()` called from outside: the handler runs at the top level.
    Complete,
    /// `trigger` is a child of a job that is cancelled: the handler runs inside the cascade.
    ParentCancelled,
}

/// Builds `other` (a chain of standalone children and coroutines parked on `delay`), cancels
/// it from inside a completion handler run as `how` says, and returns the descendants' states
/// right after `other.cancel()` returned there; then checks that `other` ends.
async fn states_after_cancel_inside_a_handler(how: Trigger) -> Vec<(&'static str, JobState)> {
    let other = Job::new();
    let c1 = Job::child_of(&other);
    let c2 = Job::child_of(&c1);
    let launcher = Scope::new(());
    let parked_a = launcher.launch_with(
        other.clone(),
        CoroutineStart::Default,
        delay(Duration::from_secs(3600)),
    );
    let parked_b = launcher.launch_with(
        c1.clone(),
        CoroutineStart::Default,
        delay(Duration::from_secs(3600)),
    );
    yield_now().await;
    let descendants = vec![
        ("c1", c1.clone()),
        ("c2", c2.clone()),
        ("parked_a", parked_a.job().clone()),
        ("parked_b", parked_b.job().clone()),
    ];
    assert!(descendants.iter().all(|(_, j)| j.is_active()));

    let seen: Arc<Mutex<Vec<(&'static str, JobState)>>> = Arc::default();
    let (s, o, d) = (seen.clone(), other.clone(), descendants.clone());
    let root = Job::new();
    let trigger = Job::child_of(&root);
    let _h = trigger.invoke_on_completion(move |_| {
        o.cancel();
        let states = d.iter().map(|(name, j)| (*name, j.state())).collect();
        *s.lock().unwrap() = states;
    });
    match how {
        Trigger::Complete => {
            trigger.complete();
        }
        Trigger::ParentCancelled => root.cancel(),
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4, "the handler ran");
    other.join().await;
    assert!(descendants.iter().all(|(_, j)| j.is_completed()));
    drop(trigger);
    seen
}

fn not_cancelled(states: &[(&'static str, JobState)]) -> Vec<(&'static str, JobState)> {
    states
        .iter()
        .filter(|(_, state)| !matches!(state, JobState::Cancelling | JobState::Cancelled))
        .cloned()
        .collect()
}

/// Issue 10, item 8c: a completion handler run inside a cascade (its job is the child of a job
/// being cancelled) cancels `other` (standalone children in a chain, launched coroutines parked
/// on `delay`): right after `other.cancel()` returns there, every descendant is cancelled
/// (`Cancelling` or `Cancelled`), as after a call from outside; then `other` ends.
#[test]
fn cancel_from_inside_a_cascading_completion_handler_cancels_the_descendants_at_once() {
    let seen = on_runtime(
        Rt::CurrentThread,
        LIMIT,
        "cancel inside cascade handler",
        || states_after_cancel_inside_a_handler(Trigger::ParentCancelled),
    );
    assert_eq!(not_cancelled(&seen), vec![], "all states: {seen:?}");
}

/// Issue 10, item 8c (control, passed before the fix too): the same with the handler run by a top-level
/// `complete()`.
#[test]
fn cancel_from_inside_a_top_level_completion_handler_cancels_the_descendants_at_once() {
    let seen = on_runtime(Rt::CurrentThread, LIMIT, "cancel inside handler", || {
        states_after_cancel_inside_a_handler(Trigger::Complete)
    });
    assert_eq!(not_cancelled(&seen), vec![], "all states: {seen:?}");
}

/// Issue 10, item 8d: 64 coroutines parked on `delay` on `Dispatchers::unconfined()`, launched
/// inside a current-thread runtime that is then dropped: a `Recorder` under `Job::supervisor()`
/// receives nothing (no "context is being shutdown" panic), and every coroutine ends
/// `Cancelled`.
#[test]
fn unconfined_coroutines_parked_when_their_runtime_shuts_down_end_quietly_cancelled() {
    let ended = park_64_and_shut_down("unconfined shutdown", |_| Dispatchers::unconfined());
    assert_eq!(ended.reports, Vec::<String>::new(), "no report at all");
    assert!(
        ended.states.iter().all(|s| *s == JobState::Cancelled),
        "{:?}",
        ended.states
    );
}

/// Issue 10, item 8d (control: the issue says views already end quietly): 64 coroutines on a
/// `limited_parallelism(64)` view of a current-thread runtime, parked on their timers when the
/// runtime is dropped, end `Cancelled` with no report.
#[test]
fn coroutines_on_a_view_parked_when_their_runtime_shuts_down_end_quietly_cancelled() {
    let ended = park_64_and_shut_down("view shutdown", |runtime| {
        Dispatchers::from_handle(runtime.clone()).limited_parallelism(64)
    });
    assert_eq!(ended.reports, Vec::<String>::new(), "no report at all");
    assert!(
        ended.states.iter().all(|s| *s == JobState::Cancelled),
        "{:?}",
        ended.states
    );
}

/// A child's completion handler, run when the child was all its completing parent waited for,
/// sees the parent final: the parent's end comes before the child's handlers (kotlinx
/// registered the parent's child-completion handler first). It saw the parent `Completing`, and
/// a handler that blocked on the parent's `join` hung.
#[test]
fn a_childs_handler_sees_its_parent_final_when_the_parent_waited_only_for_it() {
    let seen = within(LIMIT, "parent final in child's handler", || {
        let parent = Job::new();
        let child = Job::child_of(&parent);
        parent.complete();
        let p = parent.clone();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        let _h = child.invoke_on_completion(move |_| *s.lock().unwrap() = Some(p.state()));
        child.complete();
        seen.lock().map(|seen| *seen).unwrap()
    });
    assert_eq!(seen, Some(JobState::Completed));
}

/// Handlers that register handlers on final jobs, 100,000 deep, on a thread with a 2 MiB
/// stack: each runs after the one that registered it, not inside it, so the stack stays flat.
#[test]
fn handlers_registering_handlers_on_final_jobs_do_not_nest() {
    fn chain(done: Job, left: usize, count: Arc<AtomicBool>) {
        if left == 0 {
            count.store(true, Ordering::SeqCst);
            return;
        }
        let next = done.clone();
        let _h = done.invoke_on_completion(move |_| chain(next, left - 1, count));
    }
    let reached = within(LIMIT, "handlers on final jobs", || {
        let done = Job::new();
        done.complete();
        let reached = Arc::new(AtomicBool::new(false));
        chain(done, 100_000, reached.clone());
        reached.load(Ordering::SeqCst)
    });
    assert!(reached, "the last handler ran");
}
