//! `scopes::test` acceptance: the README's examples and time-related claims, and the examples
//! it lists that involve time (`background_services`, `view_model`), under `run_test` with
//! their virtual times asserted. (The README's own code blocks have no timers; they get a
//! fake network with delays here, so that the fan-out's concurrency shows in virtual time.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::{Test, run_test};
use scopes::{coroutine_scope, dispatched, launch};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

// --- The README's first example, with a network that takes `page` seconds ----------------------

async fn fetch(page: u32) -> Result<String, std::io::Error> {
    delay(secs(page as u64)).await;
    if page == 13 {
        return Err(std::io::Error::other(format!("page {page} is unlucky")));
    }
    Ok(format!("page {page}"))
}

#[test]
fn readme_quickstart_fans_out_concurrently_in_virtual_time() {
    run_test(|scope| async move {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let failures = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = failures.clone();
        let handler = CoroutineExceptionHandler::new(move |_, err| {
            sink.lock().unwrap().push(format!("sync failed: {err}"))
        });
        let app = Scope::new(Job::supervisor() + CoroutineName::new("sync") + handler);
        let out = printed.clone();
        let clock = scope.clone();
        let sync = app.launch(async move {
            let pages: Vec<_> = (1..=3).map(|p| current_scope().async_(fetch(p))).collect();
            for page in pages {
                let page = page.await?;
                out.lock().unwrap().push((page, clock.current_time()));
            }
            Ok::<_, CoroutineError>(())
        });
        sync.join().await;
        // Fetched at once: pages 1, 2 and 3 are ready at 1, 2 and 3 s; three seconds, not six.
        assert_eq!(
            *printed.lock().unwrap(),
            [
                ("page 1".to_string(), secs(1)),
                ("page 2".to_string(), secs(2)),
                ("page 3".to_string(), secs(3)),
            ]
        );
        assert_eq!(scope.current_time(), secs(3));
        assert!(failures.lock().unwrap().is_empty());
    });
}

#[test]
fn readme_quickstart_first_failure_cancels_the_other_fetches_and_goes_to_the_handler() {
    run_test(|scope| async move {
        let failures = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = failures.clone();
        let handler = CoroutineExceptionHandler::new(move |_, err| {
            sink.lock().unwrap().push(format!("sync failed: {err}"))
        });
        let app = Scope::new(Job::supervisor() + CoroutineName::new("sync") + handler);
        let slow_cancelled_at = Arc::new(Mutex::new(None));
        let (record, clock) = (slow_cancelled_at.clone(), scope.clone());
        let sync = app.launch(async move {
            let slow = current_scope().async_(async move {
                try_finally(fetch(60), async move {
                    *record.lock().unwrap() = Some(clock.current_time());
                })
                .await
            });
            let unlucky = current_scope().async_(fetch(13));
            let _ = unlucky.await?;
            let _ = slow.await?;
            Ok::<_, CoroutineError>(())
        });
        sync.join().await;
        assert!(sync.is_cancelled());
        assert_eq!(scope.current_time(), secs(13), "ended at the failure");
        assert_eq!(*slow_cancelled_at.lock().unwrap(), Some(secs(13)));
        assert_eq!(
            *failures.lock().unwrap(),
            ["sync failed: page 13 is unlucky"]
        );
    });
}

// --- The README's macro DSL example, with uploads that take time -------------------------------

#[coroutine_scope(context = Job::supervisor() + Dispatchers::io().limited_parallelism(8))]
struct Uploader {
    #[scope]
    scope: Scope, // dropping the Uploader cancels its uploads
}

#[dispatched(on = Dispatchers::io())] // runs on io() whoever calls it
async fn upload(name: String) -> std::io::Result<usize> {
    scopes::require_dispatcher(&Dispatchers::io()).map_err(std::io::Error::other)?;
    delay(secs(name.len() as u64)).await; // a second a byte: a slow link
    Ok(name.len())
}

impl Uploader {
    fn start(&self, name: &str) -> Coroutine {
        let name = name.to_owned();
        launch!(self, {
            upload(name).await?;
        })
    }
}

#[test]
fn readme_uploader_uploads_in_parallel_in_virtual_time() {
    run_test(|scope| async move {
        let uploader = Uploader {
            scope: Uploader::new_scope(),
        };
        let cat = uploader.start("cat.png"); // 7 s
        let dog = uploader.start("dog.jpeg"); // 8 s
        cat.join().await;
        assert_eq!(scope.current_time(), secs(7));
        assert!(cat.is_completed() && !cat.is_cancelled());
        dog.join().await;
        assert_eq!(scope.current_time(), secs(8));
        assert!(!dog.is_cancelled());
    });
}

#[test]
fn readme_uploader_dropped_cancels_its_uploads_at_that_virtual_time() {
    run_test(|scope| async move {
        let uploader = Uploader {
            scope: Uploader::new_scope(),
        };
        let cat = uploader.start("cat.png");
        scope.advance_time_by(secs(3)).await;
        assert!(cat.is_active());
        drop(uploader);
        cat.join().await;
        assert!(cat.is_cancelled());
        assert_eq!(scope.current_time(), secs(3));
    });
}

// --- "A timeout is a value." -------------------------------------------------------------------

#[test]
fn readme_a_timeout_escaping_with_question_mark_fails_the_coroutine_like_any_error() {
    let failure = Test::new()
        .try_run(|scope| async move {
            scope.launch_with(
                CoroutineName::new("slow-call"),
                CoroutineStart::Default,
                async {
                    with_timeout(secs(5), delay(secs(60))).await?;
                    Ok::<(), CoroutineError>(())
                },
            );
        })
        .unwrap_err();
    assert!(failure.message().contains("\"slow-call\""), "{failure}");
    assert!(
        failure.message().contains("timed out after 5s"),
        "{failure}"
    );
}

#[test]
fn readme_a_timeout_is_a_value_at_its_virtual_time() {
    run_test(|scope| async move {
        let slow = with_timeout(secs(5), delay(secs(60))).await;
        assert!(slow.unwrap_err().is_timeout());
        assert_eq!(scope.current_time(), secs(5));
        let none = with_timeout_or_none(secs(2), delay(secs(60)))
            .await
            .unwrap();
        assert_eq!(none, None);
        assert_eq!(scope.current_time(), secs(7));
        let fast = with_timeout(secs(5), async {
            delay(secs(1)).await;
            "done"
        })
        .await
        .unwrap();
        assert_eq!(fast, "done");
        assert_eq!(scope.current_time(), secs(8));
    });
}

// --- "Dropping a builder's future cancels what it started." ---------------------------------

#[test]
fn readme_dropping_a_coroutine_scope_future_cancels_its_children_at_that_time() {
    run_test(|scope| async move {
        let ended_at = Arc::new(Mutex::new(Vec::new()));
        let (record, clock) = (ended_at.clone(), scope.clone());
        let work = coroutine_scope(move |inner| async move {
            for i in 0..3u64 {
                let (record, clock) = (record.clone(), clock.clone());
                inner.launch(async move {
                    try_finally(delay(secs(10 + i)), async move {
                        record.lock().unwrap().push(clock.current_time());
                    })
                    .await;
                });
            }
        });
        // A lost race: tokio's timeout drops the builder's future at 3 s.
        let lost = tokio::time::timeout(secs(3), work).await;
        assert!(lost.is_err());
        assert_eq!(scope.current_time(), secs(3));
        scope.run_current().await;
        assert_eq!(*ended_at.lock().unwrap(), [secs(3); 3]);
    });
}

// --- The `background_services` example: exact counts in virtual time --------------------------

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

struct DataSync {
    attempts: Arc<AtomicUsize>,
    synced: Arc<Mutex<Vec<Duration>>>,
}

impl DataSync {
    fn start(&self, scope: &ScopeHandle, clock: scopes::test::TestScope) -> Coroutine {
        let (attempts, synced) = (self.attempts.clone(), self.synced.clone());
        scope.launch_with(
            CoroutineName::new("data-sync"),
            CoroutineStart::Default,
            async move {
                while is_active() {
                    let mut backoff = Duration::from_millis(10);
                    for attempt in 1..=3 {
                        // Every other attempt fails: the server is flaky.
                        let ok = attempts.fetch_add(1, Ordering::SeqCst) % 2 == 1;
                        if ok {
                            synced.lock().unwrap().push(clock.current_time());
                            break;
                        } else if attempt == 3 {
                            return Err("server unavailable".to_string());
                        } else {
                            delay(backoff).await;
                            backoff *= 2;
                        }
                    }
                    delay(Duration::from_millis(200)).await;
                }
                Ok(())
            },
        )
    }
}

#[test]
fn example_background_services_runs_exactly_on_schedule() {
    run_test(|scope| async move {
        let app = Scope::new(Job::supervisor() + CoroutineName::new("app"));
        let refresher = CacheRefresher {
            refreshed: Arc::default(),
        };
        let sync = DataSync {
            attempts: Arc::default(),
            synced: Arc::default(),
        };
        let jobs = [
            refresher.start(&app.handle()),
            sync.start(&app.handle(), scope.clone()),
        ];
        scope.advance_time_by(secs(2)).await;
        // A refresh at 0, 100, ..., 2000 ms (the one due at 2 s included).
        assert_eq!(refresher.refreshed.load(Ordering::SeqCst), 21);
        // Fail at once, succeed 10 ms later, wait 200 ms: a sync at 10 + 210 k ms.
        let expected: Vec<_> = (0..10)
            .map(|k| Duration::from_millis(10 + 210 * k))
            .collect();
        assert_eq!(*sync.synced.lock().unwrap(), expected);
        assert_eq!(sync.attempts.load(Ordering::SeqCst), 20);
        drop(app);
        for job in &jobs {
            job.join().await;
            assert!(job.is_cancelled(), "{job:?} stopped by the app");
        }
        assert_eq!(scope.current_time(), secs(2), "stopping takes no time");
    });
}

// --- The `view_model` example --------------------------------------------------------------------

#[test]
fn example_view_model_failure_reaches_the_ui_at_10ms_and_close_cancels_the_watcher() {
    run_test(|scope| async move {
        let (errors_tx, mut errors) = tokio::sync::mpsc::unbounded_channel();
        let handler = CoroutineExceptionHandler::new(move |_, err| {
            let _ = errors_tx.send(format!("could not load: {err}"));
        });
        let view_model = Scope::new(Job::supervisor() + handler);
        let cleaned_up = Arc::new(AtomicBool::new(false));
        let avatar = view_model.launch_with(
            CoroutineName::new("avatar"),
            CoroutineStart::Default,
            async {
                delay(Duration::from_millis(10)).await;
                Err::<(), _>("avatar server returned 503")
            },
        );
        let flag = cleaned_up.clone();
        let profile = view_model.launch_with(
            CoroutineName::new("profile"),
            CoroutineStart::Default,
            async move {
                try_finally(delay(secs(3600)), async move {
                    flag.store(true, Ordering::SeqCst);
                })
                .await;
            },
        );
        let shown = errors.recv().await.unwrap();
        assert_eq!(shown, "could not load: avatar server returned 503");
        assert_eq!(scope.current_time(), Duration::from_millis(10));
        avatar.join().await;
        assert!(profile.is_active());
        scope.advance_time_by(secs(60)).await;
        drop(view_model);
        profile.join().await;
        assert!(profile.is_cancelled() && cleaned_up.load(Ordering::SeqCst));
        assert_eq!(scope.current_time(), Duration::from_millis(60_010));
    });
}
