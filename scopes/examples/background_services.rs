//! "My services need a background scope: who owns it, and how do they stop?" A cache refresher
//! and a data-sync manager take a `ScopeHandle` from outside (the app owns the scope), loop
//! while active, retry failures with backoff, and stop when the app cancels the scope.
//!
//! Run it with `cargo run --example background_services`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use scopes::prelude::*;

/// Refreshes a cache every period while its scope is active.
struct CacheRefresher {
    refreshed: Arc<AtomicUsize>,
}

impl CacheRefresher {
    fn start(&self, scope: &ScopeHandle) -> Coroutine {
        let refreshed = self.refreshed.clone();
        scope.launch_with(
            CoroutineName::new("cache-refresh"),
            CoroutineStart::Default,
            async move {
                while is_active() {
                    refreshed.fetch_add(1, Ordering::SeqCst);
                    delay(Duration::from_millis(100)).await;
                }
            },
        )
    }
}

/// Syncs with a flaky server: retries each sync up to 3 times, with backoff.
struct DataSync {
    attempts: Arc<AtomicUsize>,
    synced: Arc<AtomicUsize>,
}

impl DataSync {
    async fn sync_once(attempts: &AtomicUsize) -> Result<(), String> {
        // Every other attempt fails: the server is flaky.
        if attempts.fetch_add(1, Ordering::SeqCst).is_multiple_of(2) {
            Err("server unavailable".into())
        } else {
            Ok(())
        }
    }

    fn start(&self, scope: &ScopeHandle) -> Coroutine {
        let (attempts, synced) = (self.attempts.clone(), self.synced.clone());
        scope.launch_with(
            CoroutineName::new("data-sync"),
            CoroutineStart::Default,
            async move {
                while is_active() {
                    let mut backoff = Duration::from_millis(10);
                    for attempt in 1..=3 {
                        match DataSync::sync_once(&attempts).await {
                            Ok(()) => {
                                synced.fetch_add(1, Ordering::SeqCst);
                                break;
                            }
                            Err(e) if attempt == 3 => return Err(e),
                            Err(_) => {
                                delay(backoff).await;
                                backoff *= 2;
                            }
                        }
                    }
                    delay(Duration::from_millis(200)).await;
                }
                Ok::<_, String>(())
            },
        )
    }
}

#[tokio::main(flavor = "current_thread", start_paused = true)]
async fn main() {
    // The app owns the scope; services get a handle.
    let app = Scope::new(Job::supervisor() + CoroutineName::new("app"));
    let refresher = CacheRefresher {
        refreshed: Arc::default(),
    };
    let sync = DataSync {
        attempts: Arc::default(),
        synced: Arc::default(),
    };
    let jobs = [refresher.start(&app.handle()), sync.start(&app.handle())];

    delay(Duration::from_secs(2)).await; // the paused clock runs two seconds of service
    print!("{}", app.dump());
    drop(app); // shutting down: cancels both loops
    for job in &jobs {
        job.join().await;
        assert!(job.is_cancelled(), "{job:?} stopped by the app");
    }

    let (refreshed, synced) = (
        refresher.refreshed.load(Ordering::SeqCst),
        sync.synced.load(Ordering::SeqCst),
    );
    println!("refreshed {refreshed} times, synced {synced} times in 2 s");
    assert!(refreshed >= 19, "a refresh every 100 ms");
    assert!(synced >= 8, "each sync succeeds on its retry");
}

#[test]
fn example_runs() {
    main()
}
