//! Random trees of coroutines against a reference model written from DESIGN.md's rules.
//!
//! Each node is a `launch` or an `async_`. Its children run either directly under it (a regular
//! parent: a child's failure fails it) or inside a `supervisor_scope` in its body (a child's
//! failure is reported on its own). Each node does one action at its own moment of a paused
//! clock: complete, fail, panic, cancel itself, cancel its parent, time out, or run a
//! `NonCancellable` cleanup and then complete. Distinct moments make the run deterministic, so
//! the model can replay the actions in time order and predict every node's final state and every
//! report the exception handler receives (an `async_`'s unobserved failure is reported when its
//! `Deferred`s are dropped, after the join). The run also checks that every parent completed
//! after all of its children.
//!
//! 256 cases by default; set `PROPTEST_CASES` for a longer run.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::Recorder;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Complete,
    Fail,
    Panic,
    CancelSelf,
    CancelParent,
    TimeOut,
    NonCancellableCleanup,
}

/// How long a `with_timeout` waits, and a `NonCancellable` cleanup runs; node moments are 10 ms
/// apart, so these end at moments of their own.
const TIMEOUT_MS: u64 = 5;
const CLEANUP_MS: u64 = 3;

#[derive(Clone, Debug)]
struct Node {
    action: Action,
    supervises: bool,
    is_async: bool,
    children: Vec<Node>,
}

/// A node flattened: its parent, kind, action and moment.
#[derive(Clone, Debug)]
struct Flat {
    parent: Option<usize>,
    supervises: bool,
    is_async: bool,
    action: Action,
    at: u64,
    children: Vec<usize>,
}

fn flatten(roots: &[Node], moments: &[u64]) -> Vec<Flat> {
    fn walk(node: &Node, parent: Option<usize>, out: &mut Vec<Flat>) -> usize {
        let id = out.len();
        out.push(Flat {
            parent,
            supervises: node.supervises,
            is_async: node.is_async,
            action: node.action,
            at: 0,
            children: Vec::new(),
        });
        for child in &node.children {
            let c = walk(child, Some(id), out);
            out[id].children.push(c);
        }
        id
    }
    let mut out = Vec::new();
    for root in roots {
        walk(root, None, &mut out);
    }
    for (i, node) in out.iter_mut().enumerate() {
        node.at = moments[i % moments.len()] * 10_000 + i as u64 * 10; // distinct moments
    }
    out
}

/// What the model predicts.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// Per node: true if it ended `Completed`.
    completed: Vec<bool>,
    /// The handler's reports: message -> how many times.
    reports: BTreeMap<String, usize>,
}

fn message(id: usize, action: Action) -> String {
    match action {
        Action::Fail => format!("node {id} failed"),
        Action::Panic => format!("coroutine panicked: node {id} panicked"),
        Action::TimeOut => format!("timed out after {TIMEOUT_MS}ms"),
        _ => unreachable!("only failures have messages"),
    }
}

/// The reference model: replays the actions in time order with DESIGN.md's rules.
fn model(nodes: &[Flat]) -> Outcome {
    let n = nodes.len();
    let mut stopped = vec![false; n]; // cancelled or failed: the body no longer acts
    let mut body_done = vec![false; n]; // the body returned normally
    let mut failure: Vec<Option<String>> = vec![None; n];
    let mut cancelled = vec![false; n];
    let mut reports: BTreeMap<String, usize> = BTreeMap::new();

    /// Final: the body returned (or was stopped) and every child is final, whatever its outcome.
    fn finished(nodes: &[Flat], id: usize, stopped: &[bool], body_done: &[bool]) -> bool {
        (stopped[id] || body_done[id])
            && nodes[id]
                .children
                .iter()
                .all(|&c| finished(nodes, c, stopped, body_done))
    }
    /// Cancels every descendant that has no outcome yet; a final one keeps its own (a node
    /// whose body returned but whose children still run is not final: it is cancelled).
    fn cancel_subtree(
        nodes: &[Flat],
        id: usize,
        stopped: &mut [bool],
        cancelled: &mut [bool],
        body_done: &[bool],
    ) {
        for &c in &nodes[id].children {
            if stopped[c] || finished(nodes, c, stopped, body_done) {
                continue;
            }
            stopped[c] = true;
            cancelled[c] = true;
            cancel_subtree(nodes, c, stopped, cancelled, body_done);
        }
    }

    // Each node acts at its moment; a time-out fails and a cleanup completes a little later.
    let mut order: Vec<(u64, usize)> = (0..n)
        .map(|i| {
            let delay = match nodes[i].action {
                Action::TimeOut => TIMEOUT_MS,
                Action::NonCancellableCleanup => CLEANUP_MS,
                _ => 0,
            };
            (nodes[i].at + delay, i)
        })
        .collect();
    order.sort();
    for (_, id) in order {
        if stopped[id] {
            continue;
        }
        match nodes[id].action {
            Action::Complete | Action::NonCancellableCleanup => body_done[id] = true,
            Action::CancelParent if nodes[id].parent.is_none() => body_done[id] = true,
            Action::CancelParent => {
                let p = nodes[id].parent.expect("checked above");
                if !stopped[p] {
                    stopped[p] = true;
                    cancelled[p] = true;
                }
                cancel_subtree(nodes, p, &mut stopped, &mut cancelled, &body_done);
            }
            Action::CancelSelf => {
                stopped[id] = true;
                cancelled[id] = true;
                cancel_subtree(nodes, id, &mut stopped, &mut cancelled, &body_done);
            }
            Action::Fail | Action::Panic | Action::TimeOut => {
                // The failure travels up through regular parents; the first node whose parent
                // does not take it (a supervisor scope, or the root supervisor) reports it.
                let error = message(id, nodes[id].action);
                let mut at = id;
                loop {
                    let first = failure[at].is_none();
                    if first {
                        failure[at] = Some(error.clone());
                    }
                    stopped[at] = true;
                    cancel_subtree(nodes, at, &mut stopped, &mut cancelled, &body_done);
                    if !first {
                        break; // kept as suppressed on the first failure, which went up already
                    }
                    match nodes[at].parent {
                        Some(p) if !nodes[p].supervises => at = p,
                        _ => {
                            *reports.entry(error.clone()).or_default() += 1;
                            break;
                        }
                    }
                }
            }
        }
    }
    let completed = (0..n)
        .map(|i| failure[i].is_none() && !cancelled[i] && body_done[i])
        .collect();
    Outcome { completed, reports }
}

type BoxFuture = Pin<Box<dyn Future<Output = Result<(), CoroutineError>> + Send>>;

/// Shared by the running nodes.
struct Run {
    nodes: Vec<Flat>,
    jobs: Mutex<Vec<Option<Job>>>,
    /// The `async_` nodes' handles, kept (never awaited) until after the join.
    deferred: Mutex<Vec<Deferred<()>>>,
    finished_at: Mutex<Vec<usize>>,
    clock: AtomicUsize,
}

/// Starts node `id` in `scope` and keeps its job; records the moment it completes (registered by
/// whoever launched it, so also for a node cancelled before it ever ran).
fn start(run: &Arc<Run>, scope: &impl CoroutineScope, id: usize, parent: Option<Job>) {
    let future = body(run.clone(), id, parent);
    let job = if run.nodes[id].is_async {
        let deferred = scope.async_(future);
        let job = deferred.job().clone();
        run.deferred.lock().unwrap().push(deferred);
        job
    } else {
        scope.launch(future).job().clone()
    };
    let done = run.clone();
    let _ = job.invoke_on_completion(move |_| {
        let tick = done.clock.fetch_add(1, Ordering::SeqCst);
        done.finished_at.lock().unwrap()[id] = tick;
    });
    run.jobs.lock().unwrap()[id] = Some(job);
}

fn body(run: Arc<Run>, id: usize, parent: Option<Job>) -> BoxFuture {
    Box::pin(async move {
        let me = current_scope().job();
        let node = run.nodes[id].clone();
        let at = Duration::from_millis(node.at);
        let act = {
            let me = me.clone();
            move || async move {
                match node.action {
                    Action::Complete => Ok(()),
                    Action::Fail => Err(CoroutineError::failed(format!("node {id} failed"))),
                    Action::Panic => panic!("node {id} panicked"),
                    Action::CancelSelf => {
                        me.cancel();
                        ensure_active()
                    }
                    Action::CancelParent => {
                        if let Some(parent) = parent {
                            parent.cancel();
                            yield_now().await; // cancelled with its parent: dropped here
                        }
                        Ok(())
                    }
                    Action::TimeOut => {
                        let long = Duration::from_millis(TIMEOUT_MS * 1_000);
                        with_timeout(Duration::from_millis(TIMEOUT_MS), delay(long)).await?;
                        Ok(())
                    }
                    Action::NonCancellableCleanup => {
                        with_context(NonCancellable, delay(Duration::from_millis(CLEANUP_MS)))
                            .await?;
                        Ok(())
                    }
                }
            }
        };
        if node.supervises {
            let run2 = run.clone();
            let me2 = me.clone();
            supervisor_scope(|scope| async move {
                for &c in &run2.nodes[id].children {
                    start(&run2, &scope, c, Some(me2.clone()));
                }
                delay(at).await;
                act().await
            })
            .await
        } else {
            for &c in &node.children {
                start(&run, &current_scope(), c, Some(me.clone()));
            }
            delay(at).await;
            act().await
        }
    })
}

fn real(nodes: &[Flat]) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let recorder = Recorder::new();
        let scope = Scope::new(Job::supervisor() + recorder.handler());
        let run = Arc::new(Run {
            nodes: nodes.to_vec(),
            jobs: Mutex::new(vec![None; nodes.len()]),
            deferred: Mutex::new(Vec::new()),
            finished_at: Mutex::new(vec![usize::MAX; nodes.len()]),
            clock: AtomicUsize::new(0),
        });
        for (id, node) in nodes.iter().enumerate() {
            if node.parent.is_none() {
                start(&run, &scope, id, None);
            }
        }
        scope.complete_and_join().await;
        // Unobserved `async_` failures that no parent took are reported now.
        drop(std::mem::take(&mut *run.deferred.lock().unwrap()));
        let jobs = run.jobs.lock().unwrap().clone();
        // A node under a parent cancelled before its body ran was never launched: it does not
        // count as completed (the model agrees: it is cancelled there).
        let completed = jobs
            .iter()
            .map(|job| {
                job.as_ref().is_some_and(|job| {
                    assert!(
                        job.is_completed(),
                        "{job:?} is final after the scope joined"
                    );
                    job.state() == JobState::Completed
                })
            })
            .collect();
        // Every parent completed after all of its (launched) children.
        let finished = run.finished_at.lock().unwrap().clone();
        for (id, node) in nodes.iter().enumerate() {
            for &c in node.children.iter().filter(|&&c| jobs[c].is_some()) {
                assert!(
                    finished[c] < finished[id],
                    "node {c} finished after its parent {id}"
                );
            }
        }
        let mut reports = BTreeMap::new();
        for r in recorder.received() {
            *reports.entry(r.error.to_string()).or_default() += 1;
        }
        Outcome { completed, reports }
    })
}

fn tree(depth: u32) -> impl Strategy<Value = Node> {
    let action = prop_oneof![
        6 => Just(Action::Complete),
        2 => Just(Action::Fail),
        1 => Just(Action::Panic),
        1 => Just(Action::CancelSelf),
        1 => Just(Action::CancelParent),
        1 => Just(Action::TimeOut),
        1 => Just(Action::NonCancellableCleanup),
    ];
    let leaf = (action.clone(), any::<bool>(), any::<bool>()).prop_map(
        |(action, supervises, is_async)| Node {
            action,
            supervises,
            is_async,
            children: Vec::new(),
        },
    );
    leaf.prop_recursive(depth, 96, 8, move |inner| {
        (
            action.clone(),
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec(inner, 0..9),
        )
            .prop_map(|(action, supervises, is_async, children)| Node {
                action,
                supervises,
                is_async,
                children,
            })
    })
}

/// The process's panic hook.
type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send>;

/// Silences panic messages (the nodes' panics are expected) until dropped, also on unwind.
struct QuietPanics(Option<PanicHook>);

impl QuietPanics {
    fn new() -> Self {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        QuietPanics(Some(hook))
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(hook) = self.0.take() {
            std::panic::set_hook(hook);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_trees_end_as_the_model_predicts(
        roots in prop::collection::vec(tree(4), 1..4),
        moments in prop::collection::vec(0u64..50, 1..64),
    ) {
        let nodes = flatten(&roots, &moments);
        let expected = model(&nodes);
        let actual = {
            let _quiet = QuietPanics::new();
            std::panic::catch_unwind(|| real(&nodes))
        };
        let actual = match actual {
            Ok(actual) => actual,
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                return Err(TestCaseError::fail(format!("{message}; tree: {nodes:#?}")));
            }
        };
        prop_assert_eq!(actual, expected, "tree: {:#?}", nodes);
    }
}
