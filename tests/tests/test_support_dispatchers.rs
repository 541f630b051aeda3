//! `scopes::test` acceptance: production code that names dispatchers (`#[dispatched(on = io())]`,
//! a `limited_parallelism(2)` view of io, main, main_immediate, default, unconfined) runs
//! unchanged in a test: the hops and contracts hold, a view's limit holds, and time is virtual.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use scopes::dispatched;
use scopes::prelude::*;
use scopes::test::{Test, run_test};
use scopes::{Dispatcher, current_dispatcher, require_dispatcher};

fn dispatcher_name() -> String {
    current_dispatcher().map_or("none".into(), |d| d.to_string())
}

// ------------------------------------------------------------------------------------------
// "Production" code.
// ------------------------------------------------------------------------------------------

/// Saves a document on io: three seconds of (fake) disk.
#[dispatched(on = Dispatchers::io())]
async fn save(doc: String) -> (usize, String, bool) {
    let on_io = require_dispatcher(&Dispatchers::io()).is_ok();
    let name = dispatcher_name();
    delay(Duration::from_secs(3)).await;
    (doc.len(), name, on_io)
}

/// Must be called on io (or a view of it).
#[dispatched(requires = Dispatchers::io())]
async fn write_block(n: usize) -> usize {
    delay(Duration::from_secs(1)).await;
    n
}

/// How many coroutines are inside a non-suspending section, and the most there ever were.
#[derive(Default)]
struct Gauge {
    inside: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    fn section(&self) {
        let now = self.inside.fetch_add(1, SeqCst) + 1;
        self.max.fetch_max(now, SeqCst);
        // Some work that does not suspend.
        let mut x = 0u64;
        for i in 0..1000 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        self.inside.fetch_sub(1, SeqCst);
    }
}

/// Ten uploads of five 1-second chunks each, on `writers` (a view of io).
async fn upload_all(writers: Dispatcher, gauge: Arc<Gauge>) -> Vec<String> {
    let problems = Arc::new(Mutex::new(Vec::new()));
    coroutine_scope(|scope| {
        let problems = problems.clone();
        async move {
            for i in 0..10 {
                let gauge = gauge.clone();
                let problems = problems.clone();
                scope.launch_with(
                    writers.clone() + CoroutineName::new(format!("upload-{i}")),
                    CoroutineStart::Default,
                    async move {
                        for chunk in 0..5 {
                            gauge.section();
                            if let Err(e) = require_dispatcher(&Dispatchers::io()) {
                                problems.lock().unwrap().push(format!("{i}/{chunk}: {e}"));
                            }
                            let name = dispatcher_name();
                            if name != "Dispatchers.IO.limitedParallelism(2)" {
                                problems
                                    .lock()
                                    .unwrap()
                                    .push(format!("{i}/{chunk}: on {name}"));
                            }
                            assert_eq!(write_block(chunk).await, chunk);
                        }
                    },
                );
            }
        }
    })
    .await
    .unwrap();
    Arc::try_unwrap(problems).unwrap().into_inner().unwrap()
}

// ------------------------------------------------------------------------------------------

#[test]
fn suspend_on_io_hops_there_and_back_in_virtual_time() {
    run_test(|scope| async move {
        assert_eq!(
            dispatcher_name(),
            "Dispatchers.Main",
            "the body runs on main()"
        );
        let (len, name, on_io) = save("hello".into()).await;
        assert_eq!((len, name.as_str(), on_io), (5, "Dispatchers.IO", true));
        assert_eq!(dispatcher_name(), "Dispatchers.Main", "back on main()");
        assert_eq!(scope.current_time(), Duration::from_secs(3));
        // Already on io: no hop, and the same three seconds.
        let inner = with_context(Dispatchers::io(), async {
            let before = dispatcher_name();
            let (_, name, on_io) = save("x".into()).await;
            (before, name, on_io)
        })
        .await
        .unwrap();
        assert_eq!(
            inner,
            ("Dispatchers.IO".into(), "Dispatchers.IO".into(), true)
        );
        assert_eq!(scope.current_time(), Duration::from_secs(6));
    });
}

#[test]
fn suspend_requires_io_fails_the_test_when_called_from_main() {
    let failure = Test::new()
        .try_run(|scope| async move {
            scope.launch_with(
                CoroutineName::new("misplaced-writer"),
                CoroutineStart::Default,
                async {
                    write_block(1).await;
                },
            );
        })
        .unwrap_err();
    let message = failure.message();
    assert!(message.contains("\"misplaced-writer\""), "{failure}");
    assert!(
        message.contains("expected Dispatchers.IO, but running on Dispatchers.Main"),
        "{failure}"
    );
}

#[test]
fn a_view_of_two_keeps_its_limit_and_its_name_and_takes_exact_virtual_time() {
    run_test(|scope| async move {
        let writers = Dispatchers::io().limited_parallelism(2);
        assert_eq!(writers.to_string(), "Dispatchers.IO.limitedParallelism(2)");
        let gauge = Arc::new(Gauge::default());
        let problems = upload_all(writers, gauge.clone()).await;
        assert_eq!(problems, Vec::<String>::new());
        assert!(gauge.max.load(SeqCst) <= 2, "the view's limit");
        assert_eq!(gauge.max.load(SeqCst), 1, "one thread runs the whole test");
        // A suspended coroutine holds no slot of the view: the ten uploads' 1 s chunks overlap,
        // so 5 chunks take 5 s, not 10 × 5 / 2 = 25 s.
        assert_eq!(scope.current_time(), Duration::from_secs(5));
    });
}

#[test]
fn a_view_of_two_under_seeds() {
    for seed in 0..8 {
        Test::new()
            .seed(seed)
            .try_run(|scope| async move {
                let gauge = Arc::new(Gauge::default());
                let problems =
                    upload_all(Dispatchers::io().limited_parallelism(2), gauge.clone()).await;
                assert_eq!(problems, Vec::<String>::new());
                assert!(gauge.max.load(SeqCst) <= 2);
                assert_eq!(scope.current_time(), Duration::from_secs(5));
            })
            .unwrap_or_else(|f| panic!("{f}"));
    }
}

/// Blocking sections (a real `std::thread::sleep`, as io code may do) on a view of two: the
/// section is one at a time in a test (one thread), and the virtual clock does not move.
#[test]
fn blocking_sections_on_a_view_do_not_move_the_virtual_clock() {
    run_test(|scope| async move {
        let view = Dispatchers::io().limited_parallelism(2);
        let gauge = Arc::new(Gauge::default());
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let gauge = gauge.clone();
                scope.launch_with(view.clone(), CoroutineStart::Default, async move {
                    gauge.section();
                    std::thread::sleep(Duration::from_millis(2));
                    gauge.section();
                })
            })
            .collect();
        for job in jobs {
            job.join().await;
        }
        assert_eq!(gauge.max.load(SeqCst), 1);
        assert_eq!(scope.current_time(), Duration::ZERO);
    });
}

#[test]
fn every_dispatcher_runs_on_the_test_thread_in_virtual_time() {
    run_test(|scope| async move {
        let test_thread = std::thread::current().id();
        let dispatchers = [
            (Dispatchers::default(), "Dispatchers.Default"),
            (Dispatchers::io(), "Dispatchers.IO"),
            (
                Dispatchers::io().limited_parallelism(3),
                "Dispatchers.IO.limitedParallelism(3)",
            ),
            (
                Dispatchers::default().limited_parallelism(1),
                "Dispatchers.Default.limitedParallelism(1)",
            ),
            (Dispatchers::main(), "Dispatchers.Main"),
            (Dispatchers::main_immediate(), "Dispatchers.Main.immediate"),
            (Dispatchers::unconfined(), "Dispatchers.Unconfined"),
        ];
        for (i, (dispatcher, name)) in dispatchers.into_iter().enumerate() {
            let required = dispatcher.clone();
            let (thread, seen, contract) = with_context(dispatcher, async move {
                delay(Duration::from_secs(1)).await;
                (
                    std::thread::current().id(),
                    dispatcher_name(),
                    require_dispatcher(&required).is_ok(),
                )
            })
            .await
            .unwrap();
            assert_eq!(thread, test_thread, "{name}");
            assert_eq!(seen, name);
            assert!(contract, "{name}");
            assert_eq!(
                scope.current_time(),
                Duration::from_secs(i as u64 + 1),
                "{name}"
            );
        }
    });
}

// --- views made outside the test ------------------------------------------------------------

/// A process-wide view, as production code keeps one: made outside any test here.
static SHARED_WRITERS: LazyLock<Dispatcher> =
    LazyLock::new(|| Dispatchers::io().limited_parallelism(2));

#[test]
fn a_view_made_outside_the_test_runs_in_the_test_in_virtual_time() {
    LazyLock::force(&SHARED_WRITERS); // on cargo's thread, outside any test
    run_test(|scope| async move {
        let test_thread = std::thread::current().id();
        let view = SHARED_WRITERS.clone();
        let gauge = Arc::new(Gauge::default());
        let jobs: Vec<_> = (0..10)
            .map(|_| {
                let gauge = gauge.clone();
                scope.launch_with(view.clone(), CoroutineStart::Default, async move {
                    for _ in 0..5 {
                        gauge.section();
                        assert_eq!(std::thread::current().id(), test_thread);
                        assert_eq!(dispatcher_name(), "Dispatchers.IO.limitedParallelism(2)");
                        delay(Duration::from_secs(1)).await;
                    }
                })
            })
            .collect();
        for job in jobs {
            job.join().await;
        }
        assert!(gauge.max.load(SeqCst) <= 2);
        assert_eq!(scope.current_time(), Duration::from_secs(5));
    });
}

/// "Names, contracts (`require_dispatcher`) and hops stay as in production": a view of io made
/// outside the test should still serve `io()` inside it.
#[test]
fn a_view_made_outside_the_test_still_serves_io() {
    LazyLock::force(&SHARED_WRITERS);
    run_test(|_| async move {
        let contract = with_context(SHARED_WRITERS.clone(), async {
            require_dispatcher(&Dispatchers::io()).map_err(|e| e.to_string())
        })
        .await;
        if let Err(e) = contract {
            panic!("{e}");
        }
    });
}

/// A process-wide view made lazily, on first use, which happens inside some test: a later test
/// that uses it should run its coroutines on its own scheduler.
static LAZY_WRITERS: LazyLock<Dispatcher> =
    LazyLock::new(|| Dispatchers::io().limited_parallelism(2));

#[test]
fn a_lazy_view_made_inside_one_test_works_in_the_next() {
    for run in 0..2 {
        Test::new()
            .time_limit(Duration::from_secs(2))
            .try_run(|scope| async move {
                let test_thread = std::thread::current().id();
                let thread = with_context(LAZY_WRITERS.clone(), async {
                    delay(Duration::from_secs(1)).await;
                    std::thread::current().id()
                })
                .await
                .unwrap();
                assert_eq!(thread, test_thread);
                assert_eq!(scope.current_time(), Duration::from_secs(1));
            })
            .unwrap_or_else(|f| panic!("run {run}: {f}"));
    }
}
