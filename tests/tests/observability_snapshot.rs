//! Issue 14: `Job::snapshot()` as data (`serde` feature), and the dump and snapshot of a wide
//! tree linear in its size (the deep chain is in `debug_dump_deep.rs`).

#![cfg(feature = "tracing")]

use scopes::prelude::*;
use scopes::{JobState, set_debug_mode};

/// The snapshot serializes as `{ id, name, state, kind, dispatcher, children }`.
#[tokio::test(flavor = "current_thread")]
async fn a_snapshot_serializes_its_tree() {
    set_debug_mode(true);
    let scope = Scope::new(Job::supervisor());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let loader = scope
        .coroutine()
        .name("loader")
        .context(Dispatchers::io())
        .launch(async move {
            current_scope().coroutine().name("page").launch(async move {
                rx.await.unwrap();
            });
            started_tx.send(()).unwrap();
        });
    started_rx.await.unwrap();
    let snapshot = scope.job().snapshot();
    let json = serde_json::to_value(&snapshot).unwrap();
    assert_eq!(json["kind"], "SupervisorJob");
    assert_eq!(json["state"], "Active");
    assert_eq!(json["name"], serde_json::Value::Null);
    let loader_json = &json["children"][0];
    assert_eq!(loader_json["name"], "loader");
    assert_eq!(loader_json["kind"], "StandaloneCoroutine");
    assert_eq!(loader_json["dispatcher"], "Dispatchers.IO");
    assert!(loader_json["id"].is_u64());
    let page = &loader_json["children"][0];
    assert_eq!(page["name"], "page");
    assert_eq!(page["dispatcher"], "Dispatchers.IO", "inherited");
    assert_eq!(page["children"], serde_json::json!([]));
    let keys: Vec<&String> = page.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    tx.send(()).unwrap();
    loader.join().await;
    assert_eq!(scope.job().snapshot().state, JobState::Active);
}

/// 50,000 children of one job: the text is at most a fixed number of bytes per node (no
/// indentation or copying that grows with the width), and the snapshot has every node.
#[test]
fn the_dump_and_snapshot_of_a_wide_tree_are_linear() {
    let width = 50_000;
    let root = Job::new();
    let children: Vec<Job> = (0..width).map(|_| Job::child_of(&root)).collect();
    let dump = root.dump();
    assert_eq!(dump.lines().count(), width + 1);
    // "  Job{Active}\n" per child.
    assert_eq!(dump.len(), "Job{Active}\n".len() * (width + 1) + 2 * width);
    let snapshot = root.snapshot();
    assert_eq!(snapshot.children.len(), width);
    assert!(snapshot.children.iter().all(|c| c.children.is_empty()));
    root.cancel();
    drop(children);
}

/// A chain 10,000 deep: each line is its indentation (capped at 32 levels) plus its text.
#[test]
fn the_dump_of_a_deep_chain_has_capped_lines() {
    let depth = 10_000;
    let mut jobs = vec![Job::new()];
    for _ in 1..depth {
        let child = Job::child_of(jobs.last().unwrap());
        jobs.push(child);
    }
    let dump = jobs[0].dump();
    assert_eq!(dump.lines().count(), depth);
    let longest = dump.lines().map(str::len).max().unwrap();
    assert!(
        longest <= 2 * 32 + "[depth 10000] Job{Active}".len(),
        "{longest}"
    );
    jobs[0].cancel();
}
