//! Issue 10, item 7: `dump()` is linear in the number of nodes, even for a very deep tree.
//! The structured form, `Job::snapshot()`, is built and dropped without recursion.

use std::process::Command;
use std::time::{Duration, Instant};

use scopes::prelude::*;
use scopes_tests::{LIMIT, within};

/// Bytes of dump output allowed per node.
const PER_NODE: usize = 200;

/// Builds a chain `depth` deep iteratively, dumps it from the root, then cancels the root (so
/// the chain unwinds before the handles are dropped). Returns the dump's length and duration.
fn dump_of_chain(depth: usize) -> (usize, Duration) {
    let mut jobs = Vec::with_capacity(depth);
    jobs.push(Job::new());
    for _ in 1..depth {
        let child = Job::child_of(jobs.last().unwrap());
        jobs.push(child);
    }
    let start = Instant::now();
    let out = jobs[0].dump();
    let took = start.elapsed();
    assert!(
        out.starts_with("Job{Active}"),
        "{}",
        &out[..out.len().min(200)]
    );
    let len = out.len();
    drop(out);
    jobs[0].cancel();
    drop(jobs);
    (len, took)
}

/// Issue 10, item 7: the dump of a 20,000-deep chain stays below 200 bytes per node (it was
/// is about 400 MB: the indentation is repeated per line).
#[test]
fn the_dump_of_a_20_000_deep_chain_is_linear() {
    let depth = 20_000;
    let (len, took) = within(LIMIT, "dump 20,000 deep", move || dump_of_chain(depth));
    assert!(
        len < PER_NODE * depth,
        "{len} bytes for {depth} nodes (took {took:?})"
    );
}

/// The snapshot of a 100,000-deep chain: one node per job, walked and dropped without
/// recursion (a derived `Drop` of the nested children would overflow the stack).
#[test]
fn the_snapshot_of_a_100_000_deep_chain_is_whole_and_drops_flat() {
    let depth = within(LIMIT, "snapshot 100,000 deep", || {
        let mut jobs = vec![Job::new()];
        for _ in 1..100_000 {
            let child = Job::child_of(jobs.last().unwrap());
            jobs.push(child);
        }
        let snapshot = jobs[0].snapshot();
        let mut depth = 1;
        let mut node = &snapshot;
        while let Some(child) = node.children.first() {
            assert_eq!(node.children.len(), 1);
            assert_eq!(child.kind, "Job");
            depth += 1;
            node = child;
        }
        drop(snapshot);
        jobs[0].cancel();
        depth
    });
    assert_eq!(depth, 100_000);
}

const CHILD_ENV: &str = "SCOPES_TEST_DEEP_DUMP_CHILD";

/// Issue 10, item 7: the dump of a 100,000-deep chain stays below 200 bytes × 100,000 nodes
/// and returns within the bound. Run in a child process (this binary, `--exact` the test
/// below) under `ulimit -v 4 GiB`, since the old dump allocated about 10 GB: there it
/// fails its allocation (the child aborts) instead of exhausting the machine.
#[test]
fn the_dump_of_a_100_000_deep_chain_is_linear() {
    let exe = std::env::current_exe().unwrap();
    let child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 4194304 && exec \"$0\" \"$@\"")
        .arg(exe)
        .args([
            "--exact",
            "deep_dump_child_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .spawn()
        .expect("spawn the child test process");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(LIMIT) {
        Ok(output) => output.expect("wait for the child"),
        Err(_) => {
            // Ends only the process this test started, by its id.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("the dump of a 100,000-deep chain did not return within {LIMIT:?}");
        }
    };
    assert!(
        output.status.success(),
        "the child test failed (allocation failure or assertion): {:?}",
        output.status
    );
}

/// The child half of the test above: does nothing unless started by it.
#[test]
fn deep_dump_child_process() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let depth = 100_000;
    let (len, took) = dump_of_chain(depth);
    eprintln!("dump of {depth} nodes: {len} bytes in {took:?}");
    assert!(len < PER_NODE * depth, "{len} bytes for {depth} nodes");
}
