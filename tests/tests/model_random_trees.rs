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
//! # The edge actions (issue 10)
//!
//! Three more actions try the edges of DESIGN.md's "Edges that must hold". Each has a model rule
//! that reduces it to an action above, and checks of its own whose breaches are collected as
//! *violations* (the model predicts none).
//!
//! - **`DropScopeBuilder { kind, late }`**: at its moment `at` the node runs a builder with
//!   children inside and drops it from an outer `tokio::time::timeout` of `X` ms (1 ms, early,
//!   or 7 ms, late). The kinds:
//!   - `coroutine_scope`: the block launches a child parked for an hour, then waits 4 ms and
//!     returns. Early: dropped while the block runs in place; late: while the builder waits for
//!     the child.
//!   - `with_timeout(1 h, ..)`: the same body, under a time limit that never fires.
//!   - `with_context(Dispatchers::io(), ..)`: a hop to another runtime (real time, so nothing in
//!     it ends by time): the body launches a child that awaits `pending()`; early, the body
//!     itself awaits `pending()`; late, it returns and the builder waits for the child. The node
//!     polls the builder once and waits (yielding, the paused clock does not move) until the
//!     hopped body ran, so the drop always finds the hop under way.
//!
//!   Checks: the timeout returns `Err(Elapsed)` (the builder did not end on its own), and soon
//!   after the drop (yielding only, so no model moment passes) the builder's scoped job and
//!   every job started inside it are final. **Model**: `Complete` at `at + X`.
//! - **`PanickingDrop`**: when it starts, the node launches (in the scope of its children: under
//!   the node, or under its `supervisor_scope`) a `Lazy` child, not a model node, whose future's
//!   `Drop` panics once armed. At its moment the node arms it, calls `cancel()` on it (which
//!   drops the never-started future) and completes. The drop is armed only there, so a child
//!   cancelled earlier with the rest of the subtree ends quietly, and the model stays simple.
//!   Checks: `cancel()` does not panic; the lazy child ends with `ErrorKind::Panicked`, its
//!   message containing the panic's text. **Model**: the failure
//!   `coroutine panicked: drop of node N's lazy child panicked` is the lazy child's, so it
//!   travels up like any child's failure: under a regular node, it is `Panic` at `at` with that
//!   message (the node fails with it and passes it up); under a supervising node, the handler
//!   receives it once (the lazy child is a direct child of the supervisor scope) and the node
//!   `Complete`s at `at`.
//! - **`HandlerCancels { parent }`**: when it starts, the node launches (beside its children) a
//!   helper, not a model node, that completes at the node's moment `at`; a completion handler
//!   on the helper cancels, when the helper completed (not when it was cancelled with the
//!   node's subtree), the node's parent node (`parent`, when there is one) or the node itself. The node's own body waits until `at + 9 ms` and would then complete. Checks: when
//!   `cancel()` returns inside the handler, no descendant of the cancelled job is still active
//!   (a call from a handler behaves as one from outside). **Model**: `CancelParent` or
//!   `CancelSelf` at `at`.
//!
//! After the root scope is joined (within a virtual deadline: a leftover parked for an hour,
//! or a hop that never ends, shows as a join still pending), the run also checks: every job it
//! knows of (the nodes, the builders' jobs, the armed lazy children) is final and a `join` on it
//! is ready at once, and no tokio task of the test's runtime is alive (a task is torn down just
//! after its job is final, so this waits a little, yielding).
//!
//! `SCOPES_MODEL_NEW_ACTIONS` chooses the edge actions: unset, `1` or `all` for all of them, `0`
//! or `none` for none (the original model), or a comma-separated list of `drop_scope`,
//! `drop_context`, `drop_timeout`, `panicking_drop`, `handler_cancels`.
//!
//! 256 cases by default; set `PROPTEST_CASES` for a longer run.

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use proptest::prelude::*;
use proptest::strategy::Union;
use scopes::JobState;
use scopes::prelude::*;
use scopes_tests::{Recorder, eventually, poll_once};

/// A scope builder that a `DropScopeBuilder` node drops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Builder {
    CoroutineScope,
    WithContextIo,
    WithTimeout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Complete,
    Fail,
    Panic,
    CancelSelf,
    CancelParent,
    TimeOut,
    NonCancellableCleanup,
    /// Drops a builder with children inside from an outer `tokio::time::timeout`, early (while
    /// the block runs) or late (while the builder waits for its children).
    DropScopeBuilder {
        kind: Builder,
        late: bool,
    },
    /// Cancels a lazy child whose future's `Drop` panics, then completes.
    PanickingDrop,
    /// A helper child completes at the node's moment; its completion handler cancels the node's
    /// parent (if `parent` and there is one) or the node.
    HandlerCancels {
        parent: bool,
    },
}

/// How long a `with_timeout` waits, and a `NonCancellable` cleanup runs; node moments are 10 ms
/// apart, so these end at moments of their own.
const TIMEOUT_MS: u64 = 5;
const CLEANUP_MS: u64 = 3;
/// When a dropped builder is dropped after the node's moment: early (the block still runs) or
/// late (the block returned at `BLOCK_MS`; the builder waits for its children).
const DROP_EARLY_MS: u64 = 1;
const DROP_LATE_MS: u64 = 7;
const BLOCK_MS: u64 = 4;
/// When a `HandlerCancels` node's body would complete if the handler's cancel did nothing.
const HANDLER_SLACK_MS: u64 = 9;
/// Long enough never to end during a run: a builder's children park for this long.
const PARKED: Duration = Duration::from_secs(3600);
/// Every node has acted well before this (moments are below 500 s); a root join still pending
/// then waits for something that should have been cancelled.
const WATCHDOG: Duration = Duration::from_secs(1000);

/// Which edge actions the generator may choose (`SCOPES_MODEL_NEW_ACTIONS`).
#[derive(Clone, Copy, Debug)]
struct NewActions {
    drop_scope: bool,
    drop_context: bool,
    drop_timeout: bool,
    panicking_drop: bool,
    handler_cancels: bool,
}

fn new_actions() -> NewActions {
    static CHOSEN: OnceLock<NewActions> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let all = |on| NewActions {
            drop_scope: on,
            drop_context: on,
            drop_timeout: on,
            panicking_drop: on,
            handler_cancels: on,
        };
        let value = std::env::var("SCOPES_MODEL_NEW_ACTIONS").unwrap_or_else(|_| "all".into());
        match value.trim() {
            "" | "1" | "all" => all(true),
            "0" | "none" => all(false),
            list => {
                let mut chosen = all(false);
                for name in list.split(',').map(str::trim) {
                    match name {
                        "drop_scope" => chosen.drop_scope = true,
                        "drop_context" => chosen.drop_context = true,
                        "drop_timeout" => chosen.drop_timeout = true,
                        "panicking_drop" => chosen.panicking_drop = true,
                        "handler_cancels" => chosen.handler_cancels = true,
                        other => panic!(
                            "SCOPES_MODEL_NEW_ACTIONS: unknown action {other:?}; use all, none, or \
                             a list of drop_scope, drop_context, drop_timeout, panicking_drop, \
                             handler_cancels"
                        ),
                    }
                }
                chosen
            }
        }
    })
}

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
    /// Broken edge rules the run saw (a builder's leftovers, a `cancel()` that panicked, a join
    /// still pending, a task alive...). The model predicts none.
    violations: Vec<String>,
}

/// The panic text of a `PanickingDrop` node's lazy child.
fn drop_panic_text(id: usize) -> String {
    format!("drop of node {id}'s lazy child panicked")
}

fn message(id: usize, action: Action) -> String {
    match action {
        Action::Fail => format!("node {id} failed"),
        Action::Panic => format!("coroutine panicked: node {id} panicked"),
        Action::TimeOut => format!("timed out after {TIMEOUT_MS}ms"),
        Action::PanickingDrop => format!("coroutine panicked: {}", drop_panic_text(id)),
        _ => unreachable!("only failures have messages"),
    }
}

/// What a node does at its moment, in the model's terms: the edge actions reduce to these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// The body returns normally.
    Complete,
    /// The node fails with this action's message, which travels up.
    Fail(Action),
    /// The handler receives this action's message directly, and the body returns normally.
    ReportAndComplete(Action),
    CancelSelf,
    CancelParent,
}

fn effect(node: &Flat) -> Effect {
    match node.action {
        Action::Complete | Action::NonCancellableCleanup | Action::DropScopeBuilder { .. } => {
            Effect::Complete
        }
        Action::Fail | Action::Panic | Action::TimeOut => Effect::Fail(node.action),
        // The lazy child's failure: it fails a regular node, and is reported on its own under a
        // supervising one (the lazy child is a direct child of the supervisor scope).
        Action::PanickingDrop if node.supervises => Effect::ReportAndComplete(node.action),
        Action::PanickingDrop => Effect::Fail(node.action),
        Action::CancelSelf => Effect::CancelSelf,
        Action::CancelParent => Effect::CancelParent,
        Action::HandlerCancels { parent: true } if node.parent.is_some() => Effect::CancelParent,
        Action::HandlerCancels { .. } => Effect::CancelSelf,
    }
}

/// When the node's action takes effect, after its moment.
fn delay_of(action: Action) -> u64 {
    match action {
        Action::TimeOut => TIMEOUT_MS,
        Action::NonCancellableCleanup => CLEANUP_MS,
        Action::DropScopeBuilder { late: false, .. } => DROP_EARLY_MS,
        Action::DropScopeBuilder { late: true, .. } => DROP_LATE_MS,
        _ => 0,
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

    // Each node acts at its moment; a time-out fails, a cleanup completes and a dropped builder
    // completes a little later.
    let mut order: Vec<(u64, usize)> = (0..n)
        .map(|i| (nodes[i].at + delay_of(nodes[i].action), i))
        .collect();
    order.sort();
    for (_, id) in order {
        if stopped[id] {
            continue;
        }
        match effect(&nodes[id]) {
            Effect::Complete => body_done[id] = true,
            Effect::ReportAndComplete(action) => {
                *reports.entry(message(id, action)).or_default() += 1;
                body_done[id] = true;
            }
            Effect::CancelParent if nodes[id].parent.is_none() => body_done[id] = true,
            Effect::CancelParent => {
                let p = nodes[id].parent.expect("checked above");
                if !stopped[p] {
                    stopped[p] = true;
                    cancelled[p] = true;
                }
                cancel_subtree(nodes, p, &mut stopped, &mut cancelled, &body_done);
            }
            Effect::CancelSelf => {
                stopped[id] = true;
                cancelled[id] = true;
                cancel_subtree(nodes, id, &mut stopped, &mut cancelled, &body_done);
            }
            Effect::Fail(action) => {
                // The failure travels up through regular parents; the first node whose parent
                // does not take it (a supervisor scope, or the root supervisor) reports it.
                let error = message(id, action);
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
    Outcome {
        completed,
        reports,
        violations: Vec::new(),
    }
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
    /// Jobs a dropped builder started (its scoped job and those started inside), by node.
    builder_jobs: Mutex<Vec<(usize, Job)>>,
    /// The armed lazy children of `PanickingDrop` nodes, by node.
    lazy: Mutex<Vec<(usize, Job)>>,
    /// The helpers of `HandlerCancels` nodes.
    helpers: Mutex<Vec<Job>>,
    violations: Mutex<Vec<String>>,
}

impl Run {
    fn violation(&self, text: String) {
        self.violations.lock().unwrap().push(text);
    }
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

/// A future whose `Drop` panics once armed; ready at its first poll (a lazy child that is never
/// started is never polled).
struct PanicOnDrop {
    id: usize,
    armed: Arc<AtomicBool>,
}

impl Future for PanicOnDrop {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if self.armed.load(Ordering::SeqCst) && !std::thread::panicking() {
            panic!("{}", drop_panic_text(self.id));
        }
    }
}

/// What a node launched beside its children, for its action.
enum Prepared {
    Nothing,
    /// A `PanickingDrop` node's lazy child and the switch that arms its drop.
    Lazy(Coroutine, Arc<AtomicBool>),
}

/// Launches node `id`'s children in `scope` (the node's own, or its supervisor scope), and what
/// its action needs beside them.
fn launch_children(
    run: &Arc<Run>,
    scope: &impl CoroutineScope,
    id: usize,
    me: &Job,
    parent: &Option<Job>,
) -> Prepared {
    let node = &run.nodes[id];
    for &c in &node.children {
        start(run, scope, c, Some(me.clone()));
    }
    match node.action {
        Action::PanickingDrop => {
            let armed = Arc::new(AtomicBool::new(false));
            let future = PanicOnDrop {
                id,
                armed: armed.clone(),
            };
            let lazy = scope.launch_with(CoroutineContext::new(), CoroutineStart::Lazy, future);
            Prepared::Lazy(lazy, armed)
        }
        Action::HandlerCancels { parent: to_parent } => {
            let target = match parent {
                Some(parent) if to_parent => parent.clone(),
                _ => me.clone(),
            };
            // The helper's body returns at once and its own child completes at `at`: the
            // helper then completes as an effect of its child's completion, so its handler runs
            // from inside the job tree's effect drain.
            let at = Duration::from_millis(node.at);
            let helper = scope.launch(async move {
                current_scope().launch(delay(at));
            });
            let run2 = run.clone();
            let _ = helper.job().invoke_on_completion(move |error| {
                // Only when the helper completed, at the node's moment: a helper cancelled with
                // the node's subtree cancels nothing (that would race with the cascade).
                if error.is_none() {
                    target.cancel();
                    // Cancelled from a handler: it has taken effect when `cancel()` returns.
                    let mut stack = target.children();
                    while let Some(job) = stack.pop() {
                        if job.is_active() {
                            run2.violation(format!(
                                "node {id}: cancel() returned inside a completion handler with \
                                 the descendant {job:?} still {:?}",
                                job.state()
                            ));
                        }
                        stack.extend(job.children());
                    }
                }
            });
            run.helpers.lock().unwrap().push(helper.job().clone());
            Prepared::Nothing
        }
        _ => Prepared::Nothing,
    }
}

/// A `DropScopeBuilder` node's action: runs the builder, drops it from an outer timeout, and
/// checks that everything it started ends.
async fn drop_builder(run: &Arc<Run>, id: usize, kind: Builder, late: bool) {
    let here = current_scope().job();
    let inner: Arc<Mutex<Vec<Job>>> = Arc::default();
    let started = Arc::new(AtomicBool::new(false));
    let (jobs, ran) = (inner.clone(), started.clone());
    // The body of the in-place kinds: a child parked for an hour, then a short wait.
    let in_place = move || async move {
        jobs.lock()
            .unwrap()
            .push(current_scope().launch(delay(PARKED)).job().clone());
        ran.store(true, Ordering::SeqCst);
        delay(Duration::from_millis(BLOCK_MS)).await;
        Ok::<_, CoroutineError>(())
    };
    let mut builder: BoxFuture = match kind {
        Builder::CoroutineScope => Box::pin(coroutine_scope(move |_| in_place())),
        Builder::WithTimeout => Box::pin(with_timeout(PARKED, in_place())),
        Builder::WithContextIo => {
            let (jobs, ran) = (inner.clone(), started.clone());
            Box::pin(with_context(Dispatchers::io(), async move {
                let scope = current_scope();
                let child = scope.launch(std::future::pending::<()>());
                jobs.lock()
                    .unwrap()
                    .extend([scope.job(), child.job().clone()]);
                ran.store(true, Ordering::SeqCst);
                if !late {
                    std::future::pending::<()>().await;
                }
                Ok::<_, CoroutineError>(())
            }))
        }
    };
    let what = format!(
        "node {id}: {kind:?} dropped {}",
        if late { "late" } else { "early" }
    );
    // The first poll creates the scoped job (a new child here) and runs or hops the block.
    let before = here.children();
    if let Poll::Ready(result) = poll_once(&mut builder).await {
        run.violation(format!("{what}: the builder returned {result:?} at once"));
        return;
    }
    let mut started_jobs: Vec<Job> = here
        .children()
        .into_iter()
        .filter(|job| !before.contains(job))
        .collect();
    let hop = Duration::from_secs(1);
    if !eventually(1_000, 10 * hop, || started.load(Ordering::SeqCst)).await {
        run.violation(format!("{what}: the block never ran"));
    }
    let x = if late { DROP_LATE_MS } else { DROP_EARLY_MS };
    if let Ok(result) = tokio::time::timeout(Duration::from_millis(x), builder).await {
        run.violation(format!(
            "{what}: the builder returned {result:?} before it was dropped"
        ));
    }
    for job in inner.lock().unwrap().iter() {
        if !started_jobs.contains(job) {
            started_jobs.push(job.clone());
        }
    }
    run.builder_jobs
        .lock()
        .unwrap()
        .extend(started_jobs.iter().map(|job| (id, job.clone())));
    let patience = match kind {
        Builder::WithContextIo => hop,
        _ => Duration::ZERO,
    };
    // Final, and gone from this job's list: a job that finished on the other runtime may leave
    // its parent's list a moment later, and this node must not read as having children then.
    let all_final = || {
        let left = here.children();
        started_jobs
            .iter()
            .all(|job| job.is_completed() && !left.contains(job))
    };
    if !eventually(1_000, patience, all_final).await {
        for job in started_jobs.iter().filter(|job| !job.is_completed()) {
            run.violation(format!(
                "{what}: after the drop, {job:?} is still {:?}",
                job.state()
            ));
        }
    }
}

/// What node `id` does at its moment.
async fn act(
    run: Arc<Run>,
    id: usize,
    me: Job,
    parent: Option<Job>,
    prepared: Prepared,
) -> Result<(), CoroutineError> {
    match run.nodes[id].action {
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
            with_context(NonCancellable, delay(Duration::from_millis(CLEANUP_MS))).await?;
            Ok(())
        }
        Action::DropScopeBuilder { kind, late } => {
            drop_builder(&run, id, kind, late).await;
            Ok(())
        }
        Action::PanickingDrop => {
            let Prepared::Lazy(lazy, armed) = prepared else {
                unreachable!("a PanickingDrop node launched its lazy child")
            };
            armed.store(true, Ordering::SeqCst);
            run.lazy.lock().unwrap().push((id, lazy.job().clone()));
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(|| lazy.cancel())) {
                run.violation(format!(
                    "node {id}: cancel() of the lazy child panicked: {}",
                    panic_text(&*payload)
                ));
            }
            Ok(())
        }
        Action::HandlerCancels { .. } => {
            // Cancelled at `at` by the helper's handler; completes here if that did nothing.
            delay(Duration::from_millis(HANDLER_SLACK_MS)).await;
            Ok(())
        }
    }
}

fn body(run: Arc<Run>, id: usize, parent: Option<Job>) -> BoxFuture {
    Box::pin(async move {
        let me = current_scope().job();
        let at = Duration::from_millis(run.nodes[id].at);
        if run.nodes[id].supervises {
            supervisor_scope(|scope| async move {
                let prepared = launch_children(&run, &scope, id, &me, &parent);
                delay(at).await;
                act(run, id, me, parent, prepared).await
            })
            .await
        } else {
            let prepared = launch_children(&run, &current_scope(), id, &me, &parent);
            delay(at).await;
            act(run, id, me, parent, prepared).await
        }
    })
}

/// Every check that needs the root joined.
async fn after_join(run: &Run, recorder: &Recorder) -> Outcome {
    let nodes = &run.nodes;
    // Unobserved `async_` failures that no parent took are reported now.
    drop(std::mem::take(&mut *run.deferred.lock().unwrap()));
    let jobs = run.jobs.lock().unwrap().clone();
    // A node under a parent cancelled before its body ran was never launched: it does not
    // count as completed (the model agrees: it is cancelled there).
    let completed = jobs
        .iter()
        .map(|job| {
            job.as_ref()
                .is_some_and(|job| job.state() == JobState::Completed)
        })
        .collect();
    // Every job the run knows of is final, and a join on it is ready at once.
    let mut known: Vec<(String, Job)> = jobs
        .iter()
        .enumerate()
        .filter_map(|(id, job)| Some((format!("node {id}"), job.clone()?)))
        .collect();
    for (id, job) in run.builder_jobs.lock().unwrap().iter() {
        known.push((
            format!("a job node {id}'s dropped builder started"),
            job.clone(),
        ));
    }
    for (id, job) in run.lazy.lock().unwrap().iter() {
        known.push((format!("node {id}'s lazy child"), job.clone()));
    }
    for job in run.helpers.lock().unwrap().iter() {
        known.push(("a HandlerCancels helper".into(), job.clone()));
    }
    for (what, job) in &known {
        if !job.is_completed() {
            run.violation(format!(
                "{what} is {:?} after the root joined: {job:?}",
                job.state()
            ));
        }
        let mut join = std::pin::pin!(job.join());
        if join
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
        {
            run.violation(format!("a join on {what} is pending after the root joined"));
        }
    }
    // An armed lazy child ended with its drop's panic.
    for (id, job) in run.lazy.lock().unwrap().iter() {
        let error = job.final_error();
        let text = drop_panic_text(*id);
        let ok = error
            .as_ref()
            .is_some_and(|e| e.is_panic() && e.to_string().contains(&text));
        if !ok {
            run.violation(format!(
                "node {id}'s lazy child ended with {error:?}, not the panic of its drop"
            ));
        }
    }
    // Every parent completed after all of its (launched) children.
    let finished = run.finished_at.lock().unwrap().clone();
    for (id, node) in nodes.iter().enumerate() {
        for &c in node.children.iter().filter(|&&c| jobs[c].is_some()) {
            if finished[c] >= finished[id] {
                run.violation(format!("node {c} finished after its parent {id}"));
            }
        }
    }
    // No task left: a task is torn down just after its job is final.
    let handle = tokio::runtime::Handle::current();
    let tasks = || handle.metrics().num_alive_tasks();
    if !eventually(10_000, Duration::from_secs(2), || tasks() == 0).await {
        run.violation(format!(
            "{} tokio tasks alive after the root joined",
            tasks()
        ));
    }
    let mut reports = BTreeMap::new();
    for r in recorder.received() {
        *reports.entry(r.error.to_string()).or_default() += 1;
    }
    Outcome {
        completed,
        reports,
        violations: std::mem::take(&mut *run.violations.lock().unwrap()),
    }
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
            builder_jobs: Mutex::new(Vec::new()),
            lazy: Mutex::new(Vec::new()),
            helpers: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
        });
        for (id, node) in nodes.iter().enumerate() {
            if node.parent.is_none() {
                start(&run, &scope, id, None);
            }
        }
        if tokio::time::timeout(WATCHDOG, scope.complete_and_join())
            .await
            .is_err()
        {
            // Something outlived the moments of every node: stop here, with what is left.
            let mut dump = scope.job().dump();
            if dump.len() > 4_000 {
                dump.truncate(4_000);
                dump.push_str("...");
            }
            run.violation(format!(
                "the root join is still pending after {WATCHDOG:?}; left:\n{dump}"
            ));
            let jobs = run.jobs.lock().unwrap().clone();
            return Outcome {
                completed: jobs
                    .iter()
                    .map(|job| {
                        job.as_ref()
                            .is_some_and(|job| job.state() == JobState::Completed)
                    })
                    .collect(),
                reports: BTreeMap::new(),
                violations: std::mem::take(&mut *run.violations.lock().unwrap()),
            };
        }
        after_join(&run, &recorder).await
    })
}

fn action() -> BoxedStrategy<Action> {
    let chosen = new_actions();
    let mut choices: Vec<(u32, BoxedStrategy<Action>)> = vec![
        (6, Just(Action::Complete).boxed()),
        (2, Just(Action::Fail).boxed()),
        (1, Just(Action::Panic).boxed()),
        (1, Just(Action::CancelSelf).boxed()),
        (1, Just(Action::CancelParent).boxed()),
        (1, Just(Action::TimeOut).boxed()),
        (1, Just(Action::NonCancellableCleanup).boxed()),
    ];
    for (on, kind) in [
        (chosen.drop_scope, Builder::CoroutineScope),
        (chosen.drop_context, Builder::WithContextIo),
        (chosen.drop_timeout, Builder::WithTimeout),
    ] {
        if on {
            let drop = any::<bool>().prop_map(move |late| Action::DropScopeBuilder { kind, late });
            choices.push((1, drop.boxed()));
        }
    }
    if chosen.panicking_drop {
        choices.push((1, Just(Action::PanickingDrop).boxed()));
    }
    if chosen.handler_cancels {
        let handler = any::<bool>().prop_map(|parent| Action::HandlerCancels { parent });
        choices.push((1, handler.boxed()));
    }
    Union::new_weighted(choices).boxed()
}

fn tree(depth: u32) -> impl Strategy<Value = Node> {
    let action = action();
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

/// A panic payload's text.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
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
                let message = panic_text(&*payload);
                return Err(TestCaseError::fail(format!("{message}; tree: {nodes:#?}")));
            }
        };
        prop_assert_eq!(actual, expected, "tree: {:#?}", nodes);
    }
}
