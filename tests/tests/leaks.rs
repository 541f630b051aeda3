//! Nothing lost, nothing leaked: tasks gone after their scopes, and every failure of a million
//! reported exactly once. (That a list of children does not grow with finished children is a
//! unit test of the runtime: the count of slots is not public.)

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes_tests::{Recorder, TestError, eventually};

#[test]
fn no_task_is_left_after_every_scope_is_joined() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let handle = rt.handle().clone();
    rt.block_on(async {
        let recorder = Recorder::new();
        let scope = Scope::new(Job::supervisor() + recorder.handler());
        for i in 0..1_000u64 {
            match i % 5 {
                0 => drop(scope.launch(async {})),
                1 => drop(scope.launch(async { Err::<(), _>(TestError("fails")) })),
                2 => drop(scope.async_(async move { i })),
                3 => drop(scope.launch(async {
                    let _ = coroutine_scope(|s| async move {
                        s.launch(delay(Duration::from_millis(1)));
                        Ok::<_, CoroutineError>(())
                    })
                    .await;
                })),
                _ => {
                    let parked = scope.launch(delay(Duration::from_secs(3600)));
                    parked.cancel();
                }
            }
        }
        scope.complete_and_join().await;
        assert_eq!(recorder.received().len(), 200, "every failure reported");
        let gone = eventually(10_000, Duration::from_secs(10), || {
            handle.metrics().num_alive_tasks() == 0
        })
        .await;
        // A leak never reaches zero; a lagging teardown does, within the deadline.
        assert!(
            gone,
            "{} tasks alive after the scope was joined",
            handle.metrics().num_alive_tasks()
        );
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_million_coroutines_under_a_supervisor_each_failure_reported_once() {
    const N: usize = 1_000_000;
    let seen: Arc<Mutex<HashSet<String>>> = Arc::default();
    let reports = Arc::new(AtomicUsize::new(0));
    let (sink, count) = (seen.clone(), reports.clone());
    let handler = CoroutineExceptionHandler::new(move |_, err| {
        count.fetch_add(1, Ordering::Relaxed);
        sink.lock().unwrap().insert(err.to_string());
    });
    let scope = Scope::new(Job::supervisor() + handler);
    for i in 0..N {
        scope.launch(async move {
            if i % 100 == 0 {
                return Err(format!("child {i}"));
            }
            Ok(())
        });
    }
    scope.complete_and_join().await;
    assert_eq!(
        reports.load(Ordering::Relaxed),
        N / 100,
        "each failure once"
    );
    assert_eq!(
        seen.lock().unwrap().len(),
        N / 100,
        "no failure twice, none missing"
    );
}
