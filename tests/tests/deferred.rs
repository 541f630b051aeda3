//! `Deferred`: several awaiters, `get_completed`, lazy start, cancellation.

use std::time::Duration;

use scopes::prelude::*;
use scopes_tests::TestError;

#[tokio::test(start_paused = true)]
async fn several_awaiters_get_the_same_value() {
    let scope = Scope::new(());
    let d = scope.async_(async {
        delay(Duration::from_secs(1)).await;
        String::from("shared")
    });
    let (a, b, c) = (d.clone(), d.clone(), d);
    let ta = tokio::spawn(a.into_future());
    let tb = tokio::spawn(b.into_future());
    assert_eq!(c.await.unwrap(), "shared");
    assert_eq!(ta.await.unwrap().unwrap(), "shared");
    assert_eq!(tb.await.unwrap().unwrap(), "shared");
}

#[tokio::test(start_paused = true)]
async fn a_non_clone_value_is_moved_to_its_only_awaiter() {
    struct NotClone(u8);
    let scope = Scope::new(());
    let d = scope.async_(async { Ok::<_, TestError>(NotClone(9)) });
    assert_eq!(d.await.unwrap().0, 9);
}

#[tokio::test(start_paused = true)]
async fn every_awaiter_gets_the_failure() {
    let scope = Scope::new(Job::supervisor());
    let d = scope.async_(async { Err::<u8, _>(TestError("bad")) });
    let other = d.clone();
    let e1 = d.await.unwrap_err();
    let e2 = other.await.unwrap_err();
    assert!(e1.ptr_eq(&e2), "the same error, not a copy");
}

#[tokio::test(start_paused = true)]
async fn get_completed_is_none_until_final() {
    let scope = Scope::new(());
    let d = scope.async_(async {
        delay(Duration::from_secs(1)).await;
        3u8
    });
    assert!(d.get_completed().is_none());
    d.join().await;
    assert_eq!(d.get_completed().unwrap().unwrap(), 3);
    assert_eq!(
        d.await.unwrap(),
        3,
        "get_completed clones; the value is still there"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_deferred_gives_its_awaiters_a_cancellation() {
    let scope = Scope::new(());
    let d = scope.async_(async {
        delay(Duration::from_secs(60)).await;
        1u8
    });
    let waiter = d.clone();
    d.cancel();
    assert!(waiter.await.unwrap_err().is_cancellation());
    assert!(
        scope.is_active(),
        "a cancelled child does not cancel the scope"
    );
}

#[tokio::test(start_paused = true)]
async fn a_coroutine_awaiting_its_own_deferred_gets_an_error_instead_of_hanging() {
    let scope = Scope::new(());
    let slot: std::sync::Arc<std::sync::Mutex<Option<Deferred<u8>>>> = Default::default();
    let s = slot.clone();
    let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
    let d = scope.async_(async move {
        go_rx.await.unwrap();
        let me = s.lock().unwrap().take().unwrap();
        match me.await {
            Ok(_) => 0u8,
            Err(e) if e.is_cancellation() => 1,
            Err(_) => 2,
        }
    });
    *slot.lock().unwrap() = Some(d.clone());
    go_tx.send(()).unwrap();
    assert_eq!(d.await.unwrap(), 1);
}
