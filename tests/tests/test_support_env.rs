//! The environment variables of `scopes::test`: each case runs this binary again, with the
//! variables set, on an ignored test of its own (the process's environment is not ours to
//! change under other tests).

use std::process::Command;

use scopes::test::run_test;

fn run_child(test: &str, env: &[(&str, &str)]) -> (bool, String) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

/// The seeds the child printed (libtest may print the test's name before one).
fn seeds_in(out: &str) -> Vec<&str> {
    out.lines()
        .filter_map(|l| l.find("run seed: ").map(|i| l[i + 10..].trim()))
        .collect()
}

#[test]
#[ignore = "run by the tests below, with the environment set"]
fn child_prints_its_seed() {
    run_test(|scope| async move {
        println!("run seed: {:?}", scope.seed());
        assert_ne!(scope.seed(), Some(102), "seed 102 is the one that breaks");
    });
}

#[test]
#[ignore = "run by the tests below, with the environment set"]
fn child_never_ends() {
    run_test(|_| async {
        let (_tx, rx) = std::sync::mpsc::channel::<()>();
        let _ = rx.recv();
    });
}

#[test]
fn scopes_test_seeds_runs_the_test_once_per_seed_and_names_the_failing_one() {
    let (passed, out) = run_child(
        "child_prints_its_seed",
        &[("SCOPES_TEST_SEED", "100"), ("SCOPES_TEST_SEEDS", "5")],
    );
    assert!(!passed, "{out}");
    let seeds = seeds_in(&out);
    assert_eq!(seeds, ["Some(100)", "Some(101)", "Some(102)"], "{out}");
    assert!(
        out.contains("failed with seed 102 (replay it with SCOPES_TEST_SEED=102)"),
        "{out}"
    );
    assert!(out.contains("seed 102 is the one that breaks"), "{out}");
}

#[test]
fn scopes_test_seed_alone_replays_one_seed() {
    let (passed, out) = run_child("child_prints_its_seed", &[("SCOPES_TEST_SEED", "7")]);
    assert!(passed, "{out}");
    let seeds = seeds_in(&out);
    assert_eq!(seeds, ["Some(7)"]);
}

#[test]
fn without_the_environment_the_order_is_fifo() {
    let (passed, out) = run_child("child_prints_its_seed", &[]);
    assert!(passed, "{out}");
    assert!(seeds_in(&out) == ["None"], "{out}");
}

#[test]
fn scopes_test_time_limit_sets_the_real_time_limit() {
    let (passed, out) = run_child("child_never_ends", &[("SCOPES_TEST_TIME_LIMIT", "300ms")]);
    assert!(!passed, "{out}");
    assert!(out.contains("real-time limit of 300ms"), "{out}");
    assert!(out.contains("\"test body\""), "the live tree: {out}");
}

#[test]
fn a_malformed_time_limit_is_reported_and_the_default_used() {
    let (passed, out) = run_child(
        "child_prints_its_seed",
        &[("SCOPES_TEST_TIME_LIMIT", "soon")],
    );
    assert!(passed, "{out}");
    assert!(
        out.contains("SCOPES_TEST_TIME_LIMIT must be seconds or a duration"),
        "{out}"
    );
}
