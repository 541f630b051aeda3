use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::{Test, run_test};

#[test]
fn io_delay_is_virtual() {
    run_test(|scope| async move {
        let v = with_context(Dispatchers::io(), async {
            delay(Duration::from_secs(10)).await;
            7
        })
        .await
        .unwrap();
        assert_eq!(v, 7);
        assert_eq!(scope.current_time(), Duration::from_secs(10));
    });
}

#[test]
fn advance_time_by_steps() {
    run_test(|scope| async move {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        scope.launch(async move {
            for _ in 0..5 {
                delay(Duration::from_secs(2)).await;
                m.fetch_add(1, SeqCst);
            }
        });
        for i in 1..=5 {
            scope.advance_time_by(Duration::from_secs(2)).await;
            assert_eq!(n.load(SeqCst), i, "at {:?}", scope.current_time());
        }
    });
}

#[test]
fn child_failure_fails_test() {
    let f = Test::new()
        .try_run(|scope| async move {
            scope.launch_with(
                CoroutineName::new("worker"),
                CoroutineStart::Default,
                async {
                    delay(Duration::from_secs(1)).await;
                    Err::<(), _>("boom")
                },
            );
        })
        .unwrap_err();
    println!("{f}");
    assert!(f.message().contains("boom"));
}

#[test]
fn leak_is_reported() {
    let f = Test::new()
        .try_run(|scope| async move {
            scope.launch_with(
                CoroutineName::new("forever"),
                CoroutineStart::Default,
                async {
                    std::future::pending::<()>().await;
                },
            );
        })
        .unwrap_err();
    println!("{f}");
    assert!(f.message().contains("forever"));
}

#[test]
fn deadlock_hits_limit() {
    let f = Test::new()
        .time_limit(Duration::from_millis(300))
        .try_run(|scope| async move {
            scope.launch_with(
                CoroutineName::new("stuck"),
                CoroutineStart::Default,
                async {
                    let (_tx, rx) = std::sync::mpsc::channel::<()>();
                    let _ = rx.recv();
                },
            );
            delay(Duration::from_secs(1)).await;
        })
        .unwrap_err();
    println!("{f}");
    assert!(f.timed_out());
}

#[test]
fn advance_until_idle_works() {
    run_test(|scope| async move {
        let n = Arc::new(AtomicUsize::new(0));
        let m = n.clone();
        scope.launch(async move {
            delay(Duration::from_secs(3)).await;
            m.fetch_add(1, SeqCst);
            delay(Duration::from_secs(3)).await;
            m.fetch_add(1, SeqCst);
        });
        scope.advance_until_idle().await;
        assert_eq!(n.load(SeqCst), 2);
        assert_eq!(scope.current_time(), Duration::from_secs(6));
    });
}

#[test]
fn main_is_per_test() {
    run_test(|scope| async move {
        let t = std::thread::current().id();
        let on = with_context(Dispatchers::main(), async move {
            std::thread::current().id() == t
        })
        .await
        .unwrap();
        assert!(on);
        delay(Duration::from_secs(2)).await;
        assert_eq!(scope.current_time(), Duration::from_secs(2));
    });
}
