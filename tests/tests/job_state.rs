//! The job state machine: states and flags, `complete`, `cancel`, children, completion
//! handlers, `join`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::{CoroutineScope, CoroutineStart, Job, JobState, Scope, delay};
use scopes_tests::Steps;

fn flags(job: &Job) -> (bool, bool, bool) {
    (job.is_active(), job.is_completed(), job.is_cancelled())
}

#[test]
fn standalone_job_flags_follow_kotlins_table() {
    let job = Job::new();
    assert_eq!(job.state(), JobState::Active);
    assert_eq!(flags(&job), (true, false, false));
    assert!(job.complete());
    assert_eq!(job.state(), JobState::Completed);
    assert_eq!(flags(&job), (false, true, false));
    assert!(!job.complete(), "complete() is true only the first time");
    assert!(job.final_error().is_none());

    let cancelled = Job::new();
    cancelled.cancel();
    assert_eq!(cancelled.state(), JobState::Cancelled);
    assert_eq!(flags(&cancelled), (false, true, true));
    assert!(cancelled.final_error().unwrap().is_cancellation());
    assert!(!cancelled.complete());
}

#[test]
fn completed_job_waits_for_its_children_in_completing() {
    let parent = Job::new();
    let child = Job::child_of(&parent);
    assert!(parent.complete());
    assert_eq!(parent.state(), JobState::Completing);
    assert!(parent.is_active(), "Completing looks active from outside");
    assert_eq!(parent.children(), vec![child.clone()]);
    assert!(child.complete());
    assert_eq!(child.state(), JobState::Completed);
    assert_eq!(parent.state(), JobState::Completed);
    assert!(parent.children().is_empty());
}

#[test]
fn cancelling_a_parent_cancels_every_descendant_but_not_its_own_parent() {
    let root = Job::new();
    let middle = Job::child_of(&root);
    let leaf1 = Job::child_of(&middle);
    let leaf2 = Job::child_of(&middle);
    middle.cancel();
    assert!(leaf1.is_cancelled() && leaf2.is_cancelled() && middle.is_cancelled());
    assert_eq!(
        root.state(),
        JobState::Active,
        "a cancellation does not travel up"
    );
    assert_eq!(root.children().len(), 0, "final children left their parent");
}

#[test]
fn cancel_with_a_reason_keeps_it_as_the_cause() {
    let job = Job::new();
    job.cancel_with("shutting down");
    let error = job.final_error().unwrap();
    assert!(error.is_cancellation());
    assert_eq!(error.cause().unwrap().to_string(), "shutting down");
    assert_eq!(
        error.to_string(),
        "Job was cancelled (caused by: shutting down)"
    );
}

#[test]
fn cancel_children_leaves_the_parent_active() {
    let parent = Job::new();
    let a = Job::child_of(&parent);
    let b = Job::child_of(&parent);
    parent.cancel_children();
    assert!(a.is_cancelled() && b.is_cancelled());
    assert_eq!(parent.state(), JobState::Active);
}

#[test]
fn a_child_of_a_final_parent_is_cancelled_at_once_and_not_tracked() {
    let parent = Job::new();
    parent.complete();
    let late = Job::child_of(&parent);
    assert_eq!(late.state(), JobState::Cancelled);
    assert!(late.parent().is_none());
    assert_eq!(parent.state(), JobState::Completed);
}

#[test]
fn completion_handlers_run_once_in_order_with_the_final_error() {
    let steps = Steps::new();
    let job = Job::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    for i in 1..=3 {
        let seen = seen.clone();
        let _keep = job.invoke_on_completion(move |err| {
            seen.lock().unwrap().push((i, err.map(|e| e.to_string())))
        });
    }
    let s = steps.clone();
    let disposed = job.invoke_on_completion(move |_| s.unreachable("a disposed handler"));
    disposed.dispose();
    steps.expect(1);
    job.cancel();
    steps.expect(2);
    let seen = seen.lock().unwrap().clone();
    let cancelled = Some("Job was cancelled".to_string());
    assert_eq!(
        seen,
        vec![
            (1, cancelled.clone()),
            (2, cancelled.clone()),
            (3, cancelled)
        ]
    );
    // Registered on a final job: runs at once, on this thread.
    let s = steps.clone();
    let _ = job.invoke_on_completion(move |err| {
        assert!(err.is_some());
        s.expect(3);
    });
    steps.finish(4);
}

#[test]
fn a_panicking_completion_handler_does_not_stop_the_others() {
    let job = Job::new();
    let ran = Arc::new(Mutex::new(0));
    let _a = job.invoke_on_completion(|_| panic!("handler bug"));
    let r = ran.clone();
    let _b = job.invoke_on_completion(move |_| *r.lock().unwrap() += 1);
    job.complete();
    assert_eq!(*ran.lock().unwrap(), 1);
    assert_eq!(job.state(), JobState::Completed);
}

#[test]
fn debug_of_jobs_names_kind_and_state() {
    let job = Job::new();
    assert_eq!(format!("{job:?}"), "Job{Active}");
    let sup = Job::supervisor();
    assert_eq!(format!("{sup:?}"), "SupervisorJob{Active}");
    assert!(sup.is_supervisor() && !job.is_supervisor());
    job.cancel();
    assert_eq!(
        format!("{job:?}"),
        "Job{Cancelled, cancelled: Job was cancelled}"
    );
}

#[tokio::test(start_paused = true)]
async fn join_waits_for_the_whole_subtree() {
    let steps = Steps::new();
    let scope = Scope::new(());
    let s = steps.clone();
    let parent = scope.launch(async move {
        s.expect(1);
        let s2 = s.clone();
        scopes::current_scope().launch(async move {
            delay(Duration::from_secs(5)).await;
            s2.expect(3);
        });
        s.expect(2);
    });
    parent.join().await;
    steps.finish(4);
    assert_eq!(parent.state(), JobState::Completed);
}

#[tokio::test(start_paused = true)]
async fn a_coroutine_whose_body_ended_is_completing_while_children_run() {
    let scope = Scope::new(());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let parent = scope.launch(async move {
        scopes::current_scope().launch(async move {
            let _ = rx.await;
        });
    });
    // Let the body end.
    while parent.job().children().is_empty() {
        tokio::task::yield_now().await;
    }
    for _ in 0..3 {
        tokio::task::yield_now().await;
    }
    assert_eq!(parent.state(), JobState::Completing);
    assert!(parent.is_active());
    tx.send(()).unwrap();
    parent.join().await;
    assert_eq!(parent.state(), JobState::Completed);
}

#[tokio::test]
async fn a_lazy_coroutine_is_new_until_started() {
    let scope = Scope::new(());
    let c = scope.launch_with((), CoroutineStart::Lazy, async {});
    assert_eq!(c.state(), JobState::New);
    assert_eq!(
        (c.is_active(), c.is_completed(), c.is_cancelled()),
        (false, false, false)
    );
    assert!(c.start());
    assert!(
        !c.start(),
        "start() is true only for the call that started it"
    );
    c.join().await;
    assert_eq!(c.state(), JobState::Completed);
}

#[test]
fn supervisor_child_of_is_a_supervisor_in_the_tree() {
    let root = Job::new();
    let sup = Job::supervisor_child_of(&root);
    assert!(sup.is_supervisor());
    assert_eq!(sup.parent(), Some(root.clone()));
    root.cancel();
    assert!(sup.is_cancelled());
}

/// Counts its wake-ups.
#[derive(Default)]
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

impl CountingWaker {
    fn poll<F: std::future::Future>(
        self: &Arc<Self>,
        future: std::pin::Pin<&mut F>,
    ) -> std::task::Poll<F::Output> {
        let waker = std::task::Waker::from(self.clone());
        future.poll(&mut std::task::Context::from_waker(&waker))
    }

    fn wakes(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[test]
fn every_joiner_wakes_once_with_its_latest_waker_also_after_another_gave_up() {
    let job = Job::new();
    let (a, b, b_later, c) = (
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
    );
    let mut first = Box::pin(job.join());
    let mut second = Box::pin(job.join());
    assert!(a.poll(first.as_mut()).is_pending());
    assert!(b.poll(second.as_mut()).is_pending());
    // The first joiner gives up; a third one takes its place.
    drop(first);
    let mut third = Box::pin(job.join());
    assert!(c.poll(third.as_mut()).is_pending());
    // Polled again, with the same waker and then another: the joiner keeps one registration.
    assert!(b.poll(second.as_mut()).is_pending());
    assert!(b_later.poll(second.as_mut()).is_pending());
    assert!(job.complete());
    assert_eq!(
        (a.wakes(), b.wakes(), b_later.wakes(), c.wakes()),
        (0, 0, 1, 1)
    );
    assert!(b_later.poll(second.as_mut()).is_ready());
    assert!(c.poll(third.as_mut()).is_ready());
}

/// As kotlinx disposes a finished job's parent handle before it notifies anyone: a completion
/// handler, and so a joiner, finds the parent without the child.
#[test]
fn a_final_job_has_left_its_parent_when_its_handlers_run() {
    let parent = Job::new();
    let child = Job::child_of(&parent);
    let seen = Arc::new(Mutex::new(None));
    let (sink, parent_seen) = (seen.clone(), parent.clone());
    let _handle = child.invoke_on_completion(move |_| {
        *sink.lock().unwrap() = Some(parent_seen.children().len());
    });
    assert!(child.complete());
    assert_eq!(*seen.lock().unwrap(), Some(0));
    assert!(parent.is_active(), "the parent itself goes on");
}
