//! `scopes::test` acceptance: a view model that loads on `Dispatchers::main()` in five 2-second
//! steps, its progress checked step by step in virtual time; several such tests at once in one
//! binary (each test has its own main dispatcher).

use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::{Test, TestScope, run_test};
use tokio::sync::watch;

// ------------------------------------------------------------------------------------------
// "Production" code.
// ------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Idle,
    Loading { percent: u32 },
    Loaded(String),
}

/// Publishes every state it goes through, both as a history and on a watch channel.
pub struct ProfileViewModel {
    scope: Scope,
    history: Arc<Mutex<Vec<State>>>,
    state: watch::Sender<State>,
}

impl ProfileViewModel {
    pub fn new() -> Self {
        ProfileViewModel {
            scope: Scope::new(Job::supervisor() + Dispatchers::main()),
            history: Arc::new(Mutex::new(vec![State::Idle])),
            state: watch::Sender::new(State::Idle),
        }
    }

    pub fn states(&self) -> watch::Receiver<State> {
        self.state.subscribe()
    }

    pub fn history(&self) -> Vec<State> {
        self.history.lock().unwrap().clone()
    }

    /// Five steps of two seconds, on the main dispatcher, each publishing its progress.
    pub fn load(&self) -> Coroutine {
        let history = self.history.clone();
        let state = self.state.clone();
        self.scope.launch_with(
            CoroutineName::new("load-profile"),
            CoroutineStart::Default,
            async move {
                let publish = |s: State| {
                    // UI state is only touched on the main thread.
                    scopes::require_dispatcher(&Dispatchers::main()).expect("published on main");
                    history.lock().unwrap().push(s.clone());
                    state.send_replace(s);
                };
                for step in 0..5 {
                    publish(State::Loading { percent: step * 20 });
                    delay(Duration::from_secs(2)).await;
                }
                publish(State::Loaded("Ada".into()));
            },
        )
    }
}

impl Default for ProfileViewModel {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for ProfileViewModel {
    fn drop(&mut self) {
        self.scope.cancel();
    }
}

// ------------------------------------------------------------------------------------------

fn loading(percent: u32) -> State {
    State::Loading { percent }
}

/// The history after each 2-second step.
fn expected_after(steps: usize) -> Vec<State> {
    let mut states = vec![State::Idle];
    for step in 0..=steps.min(4) {
        states.push(loading(step as u32 * 20));
    }
    if steps >= 5 {
        states.push(State::Loaded("Ada".into()));
    }
    states
}

/// The view model's body, checked step by step: shared by the tests below.
async fn check_load_step_by_step(scope: TestScope) {
    let test_thread = std::thread::current().id();
    let vm = ProfileViewModel::new();
    let mut states = vm.states();
    assert_eq!(vm.history(), vec![State::Idle]);
    let load = vm.load();
    assert_eq!(vm.history(), vec![State::Idle], "launched, not run yet");
    scope.run_current().await;
    assert_eq!(vm.history(), expected_after(0));
    assert_eq!(*states.borrow_and_update(), loading(0));
    assert_eq!(scope.current_time(), Duration::ZERO);

    for step in 1..=5 {
        // Not a millisecond early...
        scope.advance_time_by(Duration::from_millis(1999)).await;
        assert_eq!(vm.history(), expected_after(step - 1), "step {step} early");
        assert!(!states.has_changed().unwrap());
        // ... and exactly on time.
        scope.advance_time_by(Duration::from_millis(1)).await;
        assert_eq!(scope.current_time(), Duration::from_secs(2 * step as u64));
        assert_eq!(vm.history(), expected_after(step), "after step {step}");
        assert!(states.has_changed().unwrap());
        assert_eq!(
            *states.borrow_and_update(),
            *expected_after(step).last().unwrap()
        );
    }
    assert!(load.is_completed());
    assert_eq!(std::thread::current().id(), test_thread);
}

#[test]
fn progress_is_published_step_by_step() {
    run_test(check_load_step_by_step);
}

#[test]
fn progress_is_published_step_by_step_in_a_parallel_test() {
    // The same again: cargo runs the two at once, each with its own main().
    run_test(check_load_step_by_step);
}

#[test]
fn a_ui_collector_in_the_background_sees_every_state_at_its_virtual_time() {
    run_test(|scope| async move {
        let vm = ProfileViewModel::new();
        let mut states = vm.states();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let clock = scope.clone();
        let sink = seen.clone();
        // A collector that never ends on its own: it belongs in the background scope.
        scope.background_scope().launch(async move {
            while states.changed().await.is_ok() {
                let s = states.borrow_and_update().clone();
                sink.lock()
                    .unwrap()
                    .push((clock.current_time().as_secs(), s));
            }
        });
        vm.load().join().await;
        assert_eq!(scope.current_time(), Duration::from_secs(10));
        scope.run_current().await;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                (0, loading(0)),
                (2, loading(20)),
                (4, loading(40)),
                (6, loading(60)),
                (8, loading(80)),
                (10, State::Loaded("Ada".into())),
            ]
        );
    });
}

#[test]
fn closing_the_screen_mid_load_cancels_at_that_virtual_time() {
    run_test(|scope| async move {
        let vm = ProfileViewModel::new();
        let load = vm.load();
        scope.advance_time_by(Duration::from_secs(5)).await;
        assert_eq!(vm.history(), expected_after(2));
        let history = vm.history.clone();
        drop(vm);
        load.join().await;
        assert!(load.is_cancelled());
        assert_eq!(scope.current_time(), Duration::from_secs(5));
        scope.advance_until_idle().await;
        assert_eq!(
            scope.current_time(),
            Duration::from_secs(5),
            "no timer left"
        );
        assert_eq!(*history.lock().unwrap(), expected_after(2));
    });
}

/// Two `run_test`s at once on two threads of this test: each has its own main dispatcher (a
/// process-global main used to panic with "a main thread is installed already").
#[test]
fn two_tests_at_once_on_two_threads_each_have_their_own_main() {
    let barrier = Arc::new(Barrier::new(2));
    let mains = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let barrier = barrier.clone();
            let mains = mains.clone();
            std::thread::Builder::new()
                .name(format!("view-model-{i}"))
                .spawn(move || {
                    Test::new()
                        .time_limit(Duration::from_secs(30))
                        .try_run(move |scope| {
                            let barrier = barrier.clone();
                            let mains = mains.clone();
                            async move {
                                // Both tests are inside their bodies at the same time.
                                barrier.wait();
                                let me = std::thread::current().id();
                                let main_thread = with_context(Dispatchers::main(), async move {
                                    std::thread::current().id()
                                })
                                .await
                                .unwrap();
                                assert_eq!(main_thread, me, "main() is this test's thread");
                                // The last run's (SCOPES_TEST_SEEDS may run the body again).
                                mains.lock().unwrap().insert(i, main_thread);
                                check_load_step_by_step(scope).await;
                            }
                        })
                })
                .unwrap()
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap_or_else(|f| panic!("{f}"));
    }
    let mains = mains.lock().unwrap();
    assert_eq!(mains.len(), 2);
    assert_ne!(mains[&0], mains[&1], "two main dispatchers, two threads");
}
