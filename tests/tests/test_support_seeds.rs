//! `scopes::test` acceptance: seeded orders. A check-then-act race that the default FIFO order
//! hides is found by some seed; the failure names its seed, and replaying that seed fails the
//! same way. The same seed gives the same interleaving every time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use scopes::test::Test;

// ------------------------------------------------------------------------------------------
// "Production" code with a bug: the balance is checked, then the coroutine suspends, then it
// withdraws on the strength of a check that may be stale.
// ------------------------------------------------------------------------------------------

struct Account {
    balance: Mutex<u64>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Account {
    fn note(&self, what: String) {
        self.log.lock().unwrap().push(what);
    }

    async fn withdraw(self: Arc<Self>, who: &'static str, amount: u64) -> Result<bool, String> {
        let enough = *self.balance.lock().unwrap() >= amount;
        self.note(format!("{who}: check {enough}"));
        if !enough {
            return Ok(false);
        }
        yield_now().await; // e.g. an audit call: a suspension between check and act
        let mut balance = self.balance.lock().unwrap();
        self.note(format!("{who}: withdraw"));
        *balance = balance
            .checked_sub(amount)
            .ok_or_else(|| format!("overdrawn: {who} withdrew {amount} from {balance}"))?;
        Ok(true)
    }
}

/// Runs the race under `test`: two withdrawals of the whole balance, where "b" does some
/// setup (two suspensions) first, so that in FIFO order "a" has withdrawn before "b" checks.
/// Returns the result and the interleaving it went through.
fn race(test: Test) -> (Result<(), scopes::test::TestFailure>, Vec<String>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let result = test.try_run(move |scope| {
        let sink = sink.clone();
        async move {
            sink.lock().unwrap().clear();
            let account = Arc::new(Account {
                balance: Mutex::new(100),
                log: sink.clone(),
            });
            let a = account.clone();
            let ca = scope.launch_with(
                CoroutineName::new("withdraw-a"),
                CoroutineStart::Default,
                async move { a.withdraw("a", 100).await.map(drop) },
            );
            let b = account.clone();
            let cb = scope.launch_with(
                CoroutineName::new("withdraw-b"),
                CoroutineStart::Default,
                async move {
                    yield_now().await;
                    yield_now().await;
                    b.withdraw("b", 100).await.map(drop)
                },
            );
            ca.join().await;
            cb.join().await;
        }
    });
    let log = log.lock().unwrap().clone();
    (result, log)
}

#[test]
fn the_default_order_hides_the_race() {
    let (result, log) = race(Test::new().fifo());
    result.unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(log, ["a: check true", "a: withdraw", "b: check false"]);
}

#[test]
fn some_seed_finds_the_race_names_itself_and_replays_it() {
    let mut failing = Vec::new();
    let mut passing = Vec::new();
    for seed in 0..64 {
        match race(Test::new().seed(seed)).0 {
            Ok(()) => passing.push(seed),
            Err(failure) => failing.push((seed, failure)),
        }
    }
    assert!(!failing.is_empty(), "no seed of 0..64 found the race");
    assert!(
        !passing.is_empty(),
        "every seed failed: the race is not subtle"
    );
    for (seed, failure) in &failing {
        assert_eq!(failure.seed(), Some(*seed));
        assert!(!failure.timed_out());
        let text = failure.to_string();
        assert!(
            text.contains(&format!(
                "with seed {seed} (replay it with SCOPES_TEST_SEED={seed})"
            )),
            "{text}"
        );
        assert!(
            failure.message().contains("\"withdraw-"),
            "the failing coroutine is named: {text}"
        );
        assert!(failure.message().contains("overdrawn"), "{text}");
    }
    // Replaying a failing seed fails the same way, with the same interleaving.
    let (seed, first) = &failing[0];
    let (first_again, log) = race(Test::new().seed(*seed));
    let again = first_again.unwrap_err();
    assert_eq!(again.message(), first.message());
    assert_eq!(again.seed(), Some(*seed));
    let (_, log_again) = race(Test::new().seed(*seed));
    assert_eq!(log, log_again);
    // The race: both checks passed before either withdrew.
    let mut checks = log[..2].to_vec();
    checks.sort();
    assert_eq!(checks, ["a: check true", "b: check true"], "{log:?}");
    assert!(log[2..].iter().all(|e| e.ends_with("withdraw")), "{log:?}");
    eprintln!(
        "{} of 64 seeds found the race (first: {seed}, {log:?})",
        failing.len()
    );
    // And the passing ones pass again.
    for seed in passing.iter().take(4) {
        race(Test::new().seed(*seed)).0.unwrap();
    }
}

/// Four coroutines that record each of their steps; steps are separated by yields and by
/// delays that end at the same virtual instant.
fn interleaving(test: Test) -> Vec<String> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    test.try_run(move |scope| {
        let sink = sink.clone();
        async move {
            sink.lock().unwrap().clear();
            for name in ["w", "x", "y", "z"] {
                let sink = sink.clone();
                let clock = scope.clone();
                scope.launch(async move {
                    for step in 0..3 {
                        sink.lock()
                            .unwrap()
                            .push(format!("{name}{step}@{}", clock.current_time().as_secs()));
                        yield_now().await;
                    }
                    delay(Duration::from_secs(1)).await;
                    sink.lock()
                        .unwrap()
                        .push(format!("{name}3@{}", clock.current_time().as_secs()));
                });
            }
        }
    })
    .unwrap_or_else(|f| panic!("{f}"));
    log.lock().unwrap().clone()
}

#[test]
fn the_default_order_is_fifo_round_robin() {
    let log = interleaving(Test::new().fifo());
    let mut expected = Vec::new();
    for step in 0..3 {
        for name in ["w", "x", "y", "z"] {
            expected.push(format!("{name}{step}@0"));
        }
    }
    for name in ["w", "x", "y", "z"] {
        expected.push(format!("{name}3@1"));
    }
    assert_eq!(log, expected);
    assert_eq!(interleaving(Test::new()), log, "and the same every time");
}

#[test]
fn the_same_seed_gives_the_same_interleaving_and_seeds_differ() {
    let mut distinct = std::collections::BTreeSet::new();
    for seed in 0..16 {
        let first = interleaving(Test::new().seed(seed));
        let second = interleaving(Test::new().seed(seed));
        assert_eq!(first, second, "seed {seed}");
        // Each coroutine's own steps stay in program order, at their virtual times.
        for name in ["w", "x", "y", "z"] {
            let own: Vec<_> = first.iter().filter(|e| e.starts_with(name)).collect();
            let expected = [
                format!("{name}0@0"),
                format!("{name}1@0"),
                format!("{name}2@0"),
                format!("{name}3@1"),
            ];
            assert_eq!(own, expected.iter().collect::<Vec<_>>(), "seed {seed}");
        }
        distinct.insert(first);
    }
    assert!(
        distinct.len() > 4,
        "16 seeds gave only {} interleavings",
        distinct.len()
    );
}

#[test]
fn the_seed_is_visible_inside_the_test() {
    Test::new()
        .seed(11)
        .run(|scope| async move { assert_eq!(scope.seed(), Some(11)) });
    Test::new()
        .seed(0)
        .run(|scope| async move { assert_eq!(scope.seed(), Some(0)) });
}
