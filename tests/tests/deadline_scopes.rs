//! Deadlines on scopes (issue 13): `Deadline::after` / `Deadline::at`, run as a
//! `coroutine_scope` or a `supervisor_scope`, end the block and every child by the deadline.
//! All in virtual time: `current_time()` is exact.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::run_test;
use scopes::{Deadline, ErrorKind, JobState};
use scopes_tests::Recorder;
use tokio::time::Instant;

const HOUR: Duration = Duration::from_secs(3600);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A slot for a job made inside a block, read after the scope returned.
type Slot = Arc<Mutex<Option<Job>>>;

fn taken(slot: &Slot) -> Job {
    slot.lock().unwrap().clone().expect("the block ran")
}

#[test]
fn a_child_that_ignores_the_deadline_is_cancelled_at_it_and_the_scope_returns_then() {
    run_test(|scope| async move {
        let child: Slot = Arc::default();
        let slot = child.clone();
        let cleaned = Arc::new(AtomicBool::new(false));
        let flag = cleaned.clone();
        let r = Deadline::after(secs(10))
            .coroutine_scope(|s| async move {
                let c = s.launch(try_finally(delay(HOUR), async move {
                    flag.store(true, SeqCst);
                }));
                *slot.lock().unwrap() = Some(c.job().clone());
                "the block returned at once"
            })
            .await;
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert_eq!(err.to_string(), "timed out after 10s");
        assert_eq!(scope.current_time(), secs(10), "returned at the deadline");
        assert_eq!(taken(&child).state(), JobState::Cancelled);
        assert!(
            cleaned.load(SeqCst),
            "the child's cleanup ran before the return"
        );
    });
}

#[test]
fn a_running_block_and_a_grandchild_are_cancelled_at_the_deadline() {
    run_test(|scope| async move {
        let grandchild: Slot = Arc::default();
        let slot = grandchild.clone();
        let r = Deadline::after(secs(3))
            .coroutine_scope(|s| async move {
                s.launch(async move {
                    let g = current_scope().launch(delay(HOUR));
                    *slot.lock().unwrap() = Some(g.job().clone());
                    delay(HOUR).await;
                });
                delay(HOUR).await;
            })
            .await;
        assert!(r.unwrap_err().is_timeout());
        assert_eq!(scope.current_time(), secs(3));
        assert_eq!(taken(&grandchild).state(), JobState::Cancelled);
    });
}

#[test]
fn an_absolute_deadline_ends_the_scope_at_its_instant() {
    run_test(|scope| async move {
        let at = Instant::now() + secs(7);
        delay(secs(2)).await;
        let deadline = Deadline::at(at);
        assert_eq!(deadline.instant(), at);
        assert_eq!(deadline.remaining(), secs(5));
        let r = deadline
            .coroutine_scope(|s| async move {
                s.launch(delay(HOUR));
            })
            .await;
        let err = r.unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(
            err.to_string(),
            "timed out after 5s",
            "the time left when made"
        );
        assert_eq!(scope.current_time(), secs(7));
        assert_eq!(deadline.remaining(), Duration::ZERO);
    });
}

#[test]
fn a_deadline_counts_from_when_it_was_made() {
    run_test(|scope| async move {
        let deadline = Deadline::after(secs(5));
        delay(secs(3)).await;
        let r = deadline.coroutine_scope(|_| delay(HOUR)).await;
        assert!(r.unwrap_err().is_timeout());
        assert_eq!(scope.current_time(), secs(5));
    });
}

#[test]
fn a_passed_deadline_runs_nothing_and_times_out_at_once() {
    run_test(|scope| async move {
        let ran = Arc::new(AtomicBool::new(false));
        let past = Deadline::after(secs(1));
        delay(secs(2)).await;
        let flag = ran.clone();
        let r = past
            .coroutine_scope(|_| async move { flag.store(true, SeqCst) })
            .await;
        assert!(r.unwrap_err().is_timeout());
        let flag = ran.clone();
        let r = Deadline::after(Duration::ZERO)
            .supervisor_scope(|_| async move { flag.store(true, SeqCst) })
            .or_none()
            .await;
        assert_eq!(r.unwrap(), None);
        assert!(!ran.load(SeqCst), "no block ran");
        assert_eq!(scope.current_time(), secs(2));
    });
}

#[test]
fn a_scope_that_ends_in_time_returns_its_value_when_its_children_are_done() {
    run_test(|scope| async move {
        let r = Deadline::after(secs(10))
            .coroutine_scope(|s| async move {
                s.launch(delay(secs(4)));
                let v = s.async_(async {
                    delay(secs(2)).await;
                    21u32
                });
                Ok::<_, CoroutineError>(v.await? * 2)
            })
            .await;
        assert_eq!(r.unwrap(), 42);
        assert_eq!(
            scope.current_time(),
            secs(4),
            "waited for the child, not the deadline"
        );
        let r = Deadline::after(secs(10))
            .coroutine_scope(|_| async { "in time" })
            .or_none()
            .await;
        assert_eq!(r.unwrap(), Some("in time"));
    });
}

#[test]
fn move_on_gives_none_at_the_deadline_and_cancels_the_children() {
    run_test(|scope| async move {
        let child: Slot = Arc::default();
        let slot = child.clone();
        let r = Deadline::after(secs(5))
            .coroutine_scope(|s| async move {
                let c = s.launch(delay(HOUR));
                *slot.lock().unwrap() = Some(c.job().clone());
                7u8
            })
            .or_none()
            .await;
        assert_eq!(r.unwrap(), None);
        assert_eq!(scope.current_time(), secs(5));
        assert_eq!(taken(&child).state(), JobState::Cancelled);
    });
}

#[test]
fn a_failure_before_the_deadline_is_returned_at_once_and_cancels_the_rest() {
    run_test(|scope| async move {
        let sibling: Slot = Arc::default();
        let slot = sibling.clone();
        let r = Deadline::after(secs(10))
            .coroutine_scope(|s| async move {
                let c = s.launch(delay(HOUR));
                *slot.lock().unwrap() = Some(c.job().clone());
                s.launch(async {
                    delay(secs(1)).await;
                    Err::<(), _>("broke")
                });
            })
            .or_none()
            .await;
        let err = r.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert_eq!(err.to_string(), "broke");
        assert_eq!(scope.current_time(), secs(1));
        assert_eq!(taken(&sibling).state(), JobState::Cancelled);
    });
}

#[test]
fn a_supervisor_keeps_siblings_alive_on_a_child_failure_but_ends_them_at_the_deadline() {
    run_test(|scope| async move {
        let recorder = Recorder::new();
        let handler = recorder.handler();
        let ticks = Arc::new(AtomicUsize::new(0));
        let counter = ticks.clone();
        let sibling: Slot = Arc::default();
        let slot = sibling.clone();
        let r = Deadline::after(Duration::from_millis(5500))
            .supervisor_scope(|s| async move {
                s.launch_with(handler, CoroutineStart::Default, async {
                    delay(secs(1)).await;
                    Err::<(), _>("one upload failed")
                });
                let c = s.launch(async move {
                    loop {
                        delay(secs(1)).await;
                        counter.fetch_add(1, SeqCst);
                    }
                });
                *slot.lock().unwrap() = Some(c.job().clone());
            })
            .await;
        assert!(r.unwrap_err().is_timeout());
        assert_eq!(scope.current_time(), Duration::from_millis(5500));
        assert_eq!(
            ticks.load(SeqCst),
            5,
            "the sibling ran on after the failure at 1 s"
        );
        assert_eq!(taken(&sibling).state(), JobState::Cancelled);
        assert_eq!(recorder.messages(), ["one upload failed"], "reported once");
    });
}

#[test]
fn an_inner_shorter_deadline_is_an_error_in_the_outer_block() {
    run_test(|scope| async move {
        // Handled: the outer block goes on.
        let start = Instant::now();
        let r = Deadline::after(secs(10))
            .coroutine_scope(|_| async move {
                let inner = Deadline::after(secs(3))
                    .coroutine_scope(|s| async move {
                        s.launch(delay(HOUR));
                    })
                    .await;
                assert!(inner.unwrap_err().is_timeout());
                assert_eq!(start.elapsed(), secs(3));
                delay(secs(1)).await;
                "went on"
            })
            .or_none()
            .await;
        assert_eq!(r.unwrap(), Some("went on"));
        assert_eq!(scope.current_time(), secs(4));
        // With `?`: the inner timeout fails the outer scope; it is not the outer's `None`.
        let r = Deadline::after(secs(10))
            .coroutine_scope(|_| async {
                Deadline::after(secs(3))
                    .coroutine_scope(|_| delay(HOUR))
                    .await?;
                Ok::<_, CoroutineError>(())
            })
            .or_none()
            .await;
        assert!(r.unwrap_err().is_timeout());
        assert_eq!(scope.current_time(), secs(7));
    });
}

#[test]
fn an_inner_longer_deadline_ends_with_the_outer_one() {
    run_test(|scope| async move {
        let grandchild: Slot = Arc::default();
        let slot = grandchild.clone();
        let inner_returned = Arc::new(AtomicBool::new(false));
        let flag = inner_returned.clone();
        let r = Deadline::after(secs(3))
            .coroutine_scope(|_| async move {
                let _ = Deadline::after(secs(10))
                    .supervisor_scope(|s| async move {
                        let g = s.launch(delay(HOUR));
                        *slot.lock().unwrap() = Some(g.job().clone());
                    })
                    .await;
                flag.store(true, SeqCst); // the outer block is cancelled at its `.await`
            })
            .await;
        let err = r.unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(
            err.to_string(),
            "timed out after 3s",
            "the outer deadline's"
        );
        assert_eq!(scope.current_time(), secs(3));
        assert_eq!(taken(&grandchild).state(), JobState::Cancelled);
        assert!(!inner_returned.load(SeqCst));
    });
}

#[test]
fn a_deadline_scope_dropped_midway_cancels_its_children() {
    run_test(|scope| async move {
        let child: Slot = Arc::default();
        let slot = child.clone();
        let cleaned = Arc::new(AtomicBool::new(false));
        let flag = cleaned.clone();
        let under_deadline = Deadline::after(HOUR).coroutine_scope(|s| async move {
            let c = s.launch(try_finally(delay(HOUR), async move {
                delay(secs(1)).await;
                flag.store(true, SeqCst);
            }));
            *slot.lock().unwrap() = Some(c.job().clone());
            delay(HOUR).await;
        });
        tokio::select! {
            _ = under_deadline => unreachable!("the deadline is an hour away"),
            _ = delay(secs(2)) => {}
        }
        let child = taken(&child);
        assert!(child.is_cancelled(), "the drop cancelled the scope's child");
        child.join().await;
        assert_eq!(child.state(), JobState::Cancelled);
        assert!(cleaned.load(SeqCst));
        assert_eq!(scope.current_time(), secs(3), "its cleanup ran to its end");
    });
}

#[test]
fn with_timeout_and_with_timeout_or_none_bound_the_children_their_body_launched() {
    run_test(|scope| async move {
        let child: Slot = Arc::default();
        let slot = child.clone();
        let r = with_timeout(secs(2), async move {
            let c = current_scope().launch(delay(HOUR));
            *slot.lock().unwrap() = Some(c.job().clone());
        })
        .await;
        assert!(r.unwrap_err().is_timeout());
        assert_eq!(scope.current_time(), secs(2));
        assert_eq!(taken(&child).state(), JobState::Cancelled);
        let slot = child.clone();
        let r = with_timeout_or_none(secs(2), async move {
            let c = current_scope().launch(delay(HOUR));
            *slot.lock().unwrap() = Some(c.job().clone());
        })
        .await;
        assert_eq!(r.unwrap(), None);
        assert_eq!(scope.current_time(), secs(4));
        assert_eq!(taken(&child).state(), JobState::Cancelled);
    });
}
