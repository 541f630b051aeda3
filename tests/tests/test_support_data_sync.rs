//! `scopes::test` acceptance: a data-sync manager (production code: retries with exponential
//! backoff on `Dispatchers::io()`, each attempt inside `with_timeout(10 s)`) tested over a
//! virtual hour. Every assertion is on virtual time; the hour takes milliseconds.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::{Test, TestScope, run_test};

// ------------------------------------------------------------------------------------------
// "Production" code: knows nothing of tests.
// ------------------------------------------------------------------------------------------

/// A server the manager pushes local changes to.
pub trait SyncServer: Send + Sync + 'static {
    fn push_changes(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
}

#[derive(Clone, Copy, Debug)]
pub struct SyncConfig {
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    pub call_timeout: Duration,
    /// Between two successful syncs.
    pub period: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            call_timeout: Duration::from_secs(10),
            period: Duration::from_secs(600),
        }
    }
}

pub struct DataSyncManager<S> {
    server: Arc<S>,
    config: SyncConfig,
}

impl<S: SyncServer> DataSyncManager<S> {
    pub fn new(server: Arc<S>, config: SyncConfig) -> Self {
        DataSyncManager { server, config }
    }

    /// Launches the sync loop in `scope`, on `Dispatchers::io()`: it syncs every period, and
    /// retries a failed or timed-out sync after 1 s, 2 s, 4 s, ... (at most `max_backoff`).
    pub fn start(&self, scope: &impl CoroutineScope) -> Coroutine {
        let server = self.server.clone();
        let config = self.config;
        scope.launch_with(
            Dispatchers::io() + CoroutineName::new("data-sync"),
            CoroutineStart::Default,
            async move {
                loop {
                    let mut backoff = config.first_backoff;
                    loop {
                        match with_timeout(config.call_timeout, server.push_changes()).await {
                            Ok(()) => break,
                            Err(_) => {
                                ensure_active()?;
                                delay(backoff).await;
                                backoff = (backoff * 2).min(config.max_backoff);
                            }
                        }
                    }
                    delay(config.period).await;
                }
                #[allow(unreachable_code)]
                Ok::<(), CoroutineError>(())
            },
        )
    }
}

// ------------------------------------------------------------------------------------------
// The fake server: scripted replies, and a log of virtual times.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reply {
    /// Fails after 200 ms.
    Fail,
    /// Never answers (the manager's timeout must end it).
    Hang,
    /// Succeeds after 300 ms.
    Ok,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Attempt {
    n: usize,
    at: Duration,
    reply: Reply,
    on: String,
    /// When the call's future went away without an answer (cancelled by the timeout).
    dropped_at: Option<Duration>,
}

struct FakeServer {
    clock: TestScope,
    script: fn(usize) -> Reply,
    log: Arc<Mutex<Vec<Attempt>>>,
}

/// Records when a hanging call is dropped.
struct DropProbe {
    clock: TestScope,
    log: Arc<Mutex<Vec<Attempt>>>,
    n: usize,
    answered: bool,
}

impl Drop for DropProbe {
    fn drop(&mut self) {
        if !self.answered {
            self.log.lock().unwrap()[self.n].dropped_at = Some(self.clock.current_time());
        }
    }
}

impl SyncServer for FakeServer {
    fn push_changes(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> {
        let clock = self.clock.clone();
        let log = self.log.clone();
        let script = self.script;
        Box::pin(async move {
            let n = {
                let mut log = log.lock().unwrap();
                let n = log.len();
                log.push(Attempt {
                    n,
                    at: clock.current_time(),
                    reply: script(n),
                    on: scopes::current_dispatcher()
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                    dropped_at: None,
                });
                n
            };
            assert!(scopes::require_dispatcher(&Dispatchers::io()).is_ok());
            let mut probe = DropProbe {
                clock,
                log,
                n,
                answered: false,
            };
            let reply = match script(n) {
                Reply::Fail => {
                    delay(Duration::from_millis(200)).await;
                    Err(format!("attempt {n}: 503"))
                }
                Reply::Hang => {
                    std::future::pending::<()>().await;
                    unreachable!()
                }
                Reply::Ok => {
                    delay(Duration::from_millis(300)).await;
                    Ok(())
                }
            };
            probe.answered = true;
            reply
        })
    }
}

/// Down for 8 attempts, then one call that hangs, then up; from attempt 10 on, every other
/// attempt fails.
fn flaky_script(n: usize) -> Reply {
    match n {
        0..=7 => Reply::Fail,
        8 => Reply::Hang,
        9 => Reply::Ok,
        n if n % 2 == 0 => Reply::Fail,
        _ => Reply::Ok,
    }
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// The attempts expected in the first hour, by hand (virtual milliseconds).
const EXPECTED_STARTS_MS: [u64; 20] = [
    0,       // fails at 0.2 s, then 1 s
    1_200,   // fails at 1.4, then 2 s
    3_400,   // fails at 3.6, then 4 s
    7_600,   // then 8 s
    15_800,  // then 16 s
    32_000,  // then 32 s
    64_200,  // then 64 s capped to 60 s
    124_400, // then 60 s
    184_600, // hangs: the 10 s timeout at 194.6, then 60 s
    254_600, // succeeds at 254.9, then the 600 s period
    854_900, // fails at 855.1; the backoff starts over at 1 s
    856_100, // succeeds at 856.4
    1_456_400, 1_457_600, 2_057_900, 2_059_100, 2_659_400, 2_660_600, 3_260_900, 3_262_100,
];

/// The same schedule, computed from the rules instead of by hand.
fn model_schedule(
    script: fn(usize) -> Reply,
    config: SyncConfig,
    until: Duration,
) -> Vec<Duration> {
    let mut starts = Vec::new();
    let mut now = Duration::ZERO;
    let mut backoff = config.first_backoff;
    let mut n = 0;
    while now <= until {
        starts.push(now);
        match script(n) {
            Reply::Ok => {
                now += ms(300) + config.period;
                backoff = config.first_backoff;
            }
            failed => {
                now += if failed == Reply::Hang {
                    config.call_timeout
                } else {
                    ms(200)
                };
                now += backoff;
                backoff = (backoff * 2).min(config.max_backoff);
            }
        }
        n += 1;
    }
    starts
}

#[test]
fn the_model_agrees_with_the_hand_written_schedule() {
    let model = model_schedule(
        flaky_script,
        SyncConfig::default(),
        Duration::from_secs(3600),
    );
    let by_hand: Vec<_> = EXPECTED_STARTS_MS.iter().map(|&m| ms(m)).collect();
    assert_eq!(model, by_hand);
}

#[test]
fn retries_follow_the_exact_backoff_schedule_over_a_virtual_hour() {
    run_test(|scope| async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let server = Arc::new(FakeServer {
            clock: scope.clone(),
            script: flaky_script,
            log: log.clone(),
        });
        let manager = DataSyncManager::new(server, SyncConfig::default());
        let sync = manager.start(&scope.background_scope());

        // Step through the first minutes and look at the log as it grows.
        scope.run_current().await;
        assert_eq!(
            log.lock().unwrap().len(),
            1,
            "the first attempt starts at once"
        );
        scope.advance_time_by(ms(1_199)).await;
        assert_eq!(log.lock().unwrap().len(), 1, "not before 1.2 s");
        scope.advance_time_by(ms(1)).await;
        assert_eq!(
            log.lock().unwrap().len(),
            2,
            "the second attempt at exactly 1.2 s"
        );
        scope.advance_time_by(ms(194_600 - 1_200)).await;
        {
            let log = log.lock().unwrap();
            assert_eq!(log.len(), 9);
            assert_eq!(log[8].reply, Reply::Hang);
            assert_eq!(
                log[8].dropped_at,
                Some(ms(194_600)),
                "the hanging call is cancelled by the 10 s timeout, not later"
            );
        }

        // The rest of the hour.
        scope
            .advance_time_by(Duration::from_secs(3600) - scope.current_time())
            .await;
        assert_eq!(scope.current_time(), Duration::from_secs(3600));
        let log = log.lock().unwrap().clone();
        let starts: Vec<_> = log.iter().map(|a| a.at).collect();
        let expected: Vec<_> = EXPECTED_STARTS_MS.iter().map(|&m| ms(m)).collect();
        assert_eq!(starts, expected);
        for attempt in &log {
            assert_eq!(attempt.on, "Dispatchers.IO", "{attempt:?}");
            let dropped = attempt.dropped_at.is_some();
            assert_eq!(dropped, attempt.reply == Reply::Hang, "{attempt:?}");
        }
        assert!(sync.is_active(), "the loop runs until its scope ends");
    });
}

#[test]
fn a_server_that_always_hangs_is_retried_every_minute_once_the_backoff_is_capped() {
    run_test(|scope| async move {
        let log = Arc::new(Mutex::new(Vec::new()));
        let server = Arc::new(FakeServer {
            clock: scope.clone(),
            script: |_| Reply::Hang,
            log: log.clone(),
        });
        // The app owns a scope of its own; the manager gets it, the test drops it.
        let app = Scope::new(Job::supervisor() + CoroutineName::new("app"));
        let sync = DataSyncManager::new(server, SyncConfig::default()).start(&app);
        // 3560 s: attempt 48 (started at 263 s + 47 × 70 s = 3553 s) is in flight.
        scope.advance_time_by(Duration::from_secs(3560)).await;
        let log_now = log.lock().unwrap().clone();
        let expected = model_schedule(
            |_| Reply::Hang,
            SyncConfig::default(),
            Duration::from_secs(3560),
        );
        let starts: Vec<_> = log_now.iter().map(|a| a.at).collect();
        assert_eq!(starts, expected);
        assert_eq!(starts.len(), 56);
        assert_eq!(starts.last(), Some(&Duration::from_secs(3553)));
        // 0, 11, 23, 37, 55, 81, 123, 193, then every 70 s: 10 s timeout + 60 s backoff.
        assert_eq!(
            &starts[..9],
            &[0, 11, 23, 37, 55, 81, 123, 193, 263].map(Duration::from_secs)
        );
        for pair in starts[7..].windows(2) {
            assert_eq!(pair[1] - pair[0], Duration::from_secs(70));
        }
        for attempt in &log_now[..log_now.len() - 1] {
            assert_eq!(
                attempt.dropped_at,
                Some(attempt.at + Duration::from_secs(10))
            );
        }
        let in_flight = log_now.last().unwrap().clone();
        assert_eq!(in_flight.dropped_at, None, "{in_flight:?}");
        // Shutting the app down cancels the loop and its call in flight, at once.
        let before = scope.current_time();
        drop(app);
        sync.join().await;
        assert!(sync.is_cancelled());
        assert_eq!(scope.current_time(), before);
        let cancelled = log.lock().unwrap().last().unwrap().dropped_at;
        assert_eq!(
            cancelled,
            Some(before),
            "the call in flight went with the loop"
        );
    });
}

#[test]
fn the_hour_takes_the_same_schedule_under_any_seed() {
    for seed in [1, 2, 3, 17, 42] {
        Test::new()
            .seed(seed)
            .try_run(|scope| async move {
                let log = Arc::new(Mutex::new(Vec::new()));
                let server = Arc::new(FakeServer {
                    clock: scope.clone(),
                    script: flaky_script,
                    log: log.clone(),
                });
                let sync = DataSyncManager::new(server, SyncConfig::default())
                    .start(&scope.background_scope());
                scope.advance_time_by(Duration::from_secs(3600)).await;
                let starts: Vec<_> = log.lock().unwrap().iter().map(|a| a.at).collect();
                let expected: Vec<_> = EXPECTED_STARTS_MS.iter().map(|&m| ms(m)).collect();
                assert_eq!(starts, expected);
                assert!(sync.is_active());
            })
            .unwrap_or_else(|failure| panic!("{failure}"));
    }
}
