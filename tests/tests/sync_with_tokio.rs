//! kotlinx's `Semaphore` and `Mutex` are tokio's `tokio::sync::Semaphore` and `Mutex` here (the
//! README's table). A coroutine cancelled while it waits on one, or while it holds one, gives
//! back exactly what it holds: a waiter's cancellation costs no permit (also when a permit was
//! handed to it just before), and a holder's cancellation releases its own permits, no more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scopes::JobState;
use scopes::prelude::*;
use scopes::test::TestScope;
use tokio::sync::{Mutex, Semaphore, oneshot};

/// A coroutine that takes one permit of `semaphore` (kotlinx's `withPermit`), records that it got
/// it, and holds it until it is released or cancelled.
fn permit_waiter(
    scope: &TestScope,
    semaphore: &Arc<Semaphore>,
    got: &Arc<AtomicBool>,
    release: oneshot::Receiver<()>,
) -> Coroutine {
    let (semaphore, got) = (semaphore.clone(), got.clone());
    scope.launch(async move {
        let _permit = semaphore.acquire().await?;
        got.store(true, Ordering::SeqCst);
        let _ = release.await;
        Ok::<_, tokio::sync::AcquireError>(())
    })
}

#[scopes::test]
async fn a_waiter_cancelled_on_a_semaphore_takes_no_permit_and_the_holder_keeps_its(
    scope: TestScope,
) {
    let semaphore = Arc::new(Semaphore::new(1));
    let holder_got = Arc::new(AtomicBool::new(false));
    let (release_holder, holder_release) = oneshot::channel();
    let holder = permit_waiter(&scope, &semaphore, &holder_got, holder_release);
    scope.run_current().await;
    assert!(holder_got.load(Ordering::SeqCst));

    let waiter_got = Arc::new(AtomicBool::new(false));
    let (_never, waiter_release) = oneshot::channel();
    let waiter = permit_waiter(&scope, &semaphore, &waiter_got, waiter_release);
    scope.run_current().await;
    assert_eq!(
        waiter.state(),
        JobState::Active,
        "the waiter waits for the permit"
    );
    waiter.cancel();
    waiter.join().await;
    assert!(waiter.is_cancelled() && !waiter_got.load(Ordering::SeqCst));
    assert_eq!(
        semaphore.available_permits(),
        0,
        "the holder still holds its permit"
    );
    assert_eq!(holder.state(), JobState::Active);

    release_holder.send(()).unwrap();
    holder.join().await;
    assert!(holder.final_error().is_none());
    assert_eq!(
        semaphore.available_permits(),
        1,
        "nothing lost, nothing added"
    );
}

#[scopes::test]
async fn a_permit_handed_to_a_waiter_as_it_is_cancelled_goes_back(scope: TestScope) {
    let semaphore = Arc::new(Semaphore::new(1));
    let held = semaphore.clone().acquire_owned().await.unwrap();
    let waiter_got = Arc::new(AtomicBool::new(false));
    let (_never, waiter_release) = oneshot::channel();
    let waiter = permit_waiter(&scope, &semaphore, &waiter_got, waiter_release);
    scope.run_current().await;
    // In one step, with no poll of the waiter between: the release hands the permit to the
    // waiting acquire, then the waiter is cancelled. Prompt cancellation drops the waiter's
    // acquire unpolled, which gives the handed permit back.
    drop(held);
    waiter.cancel();
    waiter.join().await;
    assert!(
        !waiter_got.load(Ordering::SeqCst),
        "a coroutine cancelled while suspended does not resume with the permit"
    );
    assert_eq!(semaphore.available_permits(), 1);
    assert!(
        semaphore.try_acquire().is_ok(),
        "the permit can be taken again"
    );
}

#[scopes::test]
async fn a_holder_cancelled_while_holding_releases_exactly_its_permits(scope: TestScope) {
    let semaphore = Arc::new(Semaphore::new(3));
    let other = semaphore.clone().acquire_owned().await.unwrap();
    let s = semaphore.clone();
    let holder = scope.launch(async move {
        let _two = s.acquire_many(2).await?;
        delay(Duration::from_secs(3600)).await; // holds them across a suspension
        Ok::<_, tokio::sync::AcquireError>(())
    });
    scope.run_current().await;
    assert_eq!(semaphore.available_permits(), 0);
    holder.cancel();
    holder.join().await;
    assert!(holder.is_cancelled());
    assert_eq!(
        semaphore.available_permits(),
        2,
        "its two, not the other holder's"
    );
    drop(other);
    assert_eq!(semaphore.available_permits(), 3);
}

#[scopes::test]
async fn a_waiter_cancelled_on_a_mutex_leaves_the_lock_with_its_holder(scope: TestScope) {
    let mutex = Arc::new(Mutex::new(Vec::<&str>::new()));
    let guard = mutex.clone().lock_owned().await;
    let waiters: Vec<Coroutine> = ["first", "second"]
        .into_iter()
        .map(|who| {
            let m = mutex.clone();
            scope.launch(async move { m.lock().await.push(who) })
        })
        .collect();
    scope.run_current().await;
    // Both wait, "first" at the head of tokio's fair queue. Cancelling it must not strand the
    // lock nor lose the wake-up that "second" needs when the holder lets go.
    waiters[0].cancel();
    waiters[0].join().await;
    assert!(mutex.try_lock().is_err(), "the holder still holds the lock");
    assert_eq!(waiters[1].state(), JobState::Active);
    drop(guard);
    waiters[1].join().await;
    assert!(waiters[1].final_error().is_none());
    assert_eq!(*mutex.try_lock().unwrap(), ["second"]);
}

#[scopes::test]
async fn a_mutex_holder_cancelled_while_holding_unlocks(scope: TestScope) {
    let mutex = Arc::new(Mutex::new(0u32));
    let m = mutex.clone();
    let holder = scope.launch(async move {
        let mut value = m.lock().await;
        *value += 1;
        std::future::pending::<()>().await;
    });
    scope.run_current().await;
    assert!(mutex.try_lock().is_err());
    holder.cancel();
    holder.join().await;
    assert_eq!(
        *mutex.try_lock().unwrap(),
        1,
        "unlocked, with what the holder wrote"
    );
}

/// On a multi-threaded runtime, releases and cancellations race for real: whichever wins, after
/// every coroutine ended the semaphore has all its permits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_releases_and_cancellations_lose_no_permit() {
    const PERMITS: usize = 2;
    let semaphore = Arc::new(Semaphore::new(PERMITS));
    let scope = Scope::new(Job::supervisor());
    for round in 0..200 {
        let coroutines: Vec<Coroutine> = (0..6)
            .map(|_| {
                let s = semaphore.clone();
                scope.launch(async move {
                    let _permit = s.acquire().await?;
                    yield_now().await;
                    Ok::<_, tokio::sync::AcquireError>(())
                })
            })
            .collect();
        // Cancel every other one, wherever it is: waiting, holding, or done.
        for c in coroutines.iter().skip(round % 2).step_by(2) {
            c.cancel();
        }
        for c in &coroutines {
            c.join().await;
            assert!(c.final_error().is_none_or(|e| e.is_cancellation()));
        }
        assert_eq!(semaphore.available_permits(), PERMITS, "round {round}");
    }
}
