//! The benchmark harness: runs every contender on the same work, in one process, and prints a
//! table per workload with the median time per operation and the ratio to the first row (the
//! baseline).
//!
//! ```sh
//! cargo run --release -p scopes-bench            # full: 7 rounds per row, 100,000 coroutines
//! cargo run --release -p scopes-bench -- --quick # 3 rounds, smaller sizes: a few seconds
//! cargo run --release -p scopes-bench -- --only launch,hop   # the named tables alone
//! cargo run --release -p scopes-bench -- --only state,ping-pong,fan-out-1,fan-out-8,fan-out-64
//! cargo run --release -p scopes-bench -- --only produce
//! cargo run --release -p scopes-bench -- --only tracing    # and again with --features tracing
//! ```
//!
//! Workloads 1-8 of the benchmark issue are in `structure` and `memory`, the flow tables
//! (`state`, `ping-pong`, `fan-out-1`, `-8`, `-64`, `produce`) in `flow`; the dispatcher ones are here. Contenders: tokio (`spawn`, `JoinSet`), tokio-util (`CancellationToken` +
//! `TaskTracker`), async-scoped, moro, and scopes, all on the same runtime in one process.
//!
//! Targets are read off the table, never asserted by a timed test.

mod flow;
mod memory;
mod shutdown;
mod structure;
mod tracing_cost;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scopes::prelude::*;
use scopes::{Dispatcher, Dispatchers};
use tokio::runtime::{Builder, Handle, Runtime};

/// How much to run.
#[derive(Clone, Copy)]
pub(crate) struct Plan {
    rounds: usize,
    hops: usize,
    coroutines: usize,
    /// The cancelled tree: (middle nodes, leaves under each).
    tree: (usize, usize),
    fail_fast: usize,
    checks: usize,
    /// Values a `MutableStateFlow` setter sets while one subscriber collects.
    sets: usize,
    /// Ping-pong round trips over two state holders.
    round_trips: usize,
    /// Values delivered per fan-out round (values times subscribers), with at most
    /// `max_values` values.
    deliveries: usize,
    max_values: usize,
    /// Values through one `produce` (or `mpsc`) round.
    produced: usize,
}

/// One round of one contender: runs it once and returns the time per operation.
pub(crate) type Sampler<'a> = Box<dyn FnMut() -> Duration + 'a>;

/// One contender: its label, a note, and how to run one round of it.
pub(crate) struct Row<'a> {
    contender: &'static str,
    note: &'static str,
    sample: Sampler<'a>,
}

impl<'a> Row<'a> {
    pub(crate) fn new(contender: &'static str, note: &'static str, sample: Sampler<'a>) -> Row<'a> {
        Row {
            contender,
            note,
            sample,
        }
    }
}

/// Measures the rows and prints their table. After a warm-up round of each, the rows take turns
/// round by round (in a rotating order), so a slow spell of a shared machine lands on all of
/// them alike. Per op: the median over the rounds; ratio: the median of the per-round ratios to
/// the first row (the baseline).
pub(crate) fn print_table(plan: Plan, title: &str, target: &str, mut rows: Vec<Row<'_>>) {
    for row in &mut rows {
        (row.sample)();
    }
    let n = rows.len();
    let mut samples: Vec<Vec<Duration>> = vec![Vec::with_capacity(plan.rounds); n];
    for round in 0..plan.rounds {
        for i in 0..n {
            let row = (round + i) % n;
            samples[row].push((rows[row].sample)());
        }
    }
    println!("\n## {title}\n");
    println!("| contender | per op | ratio | note |");
    println!("|---|---:|---:|---|");
    let base = &samples[0];
    for (row, own) in rows.iter().zip(&samples) {
        let ratios: Vec<f64> = own
            .iter()
            .zip(base)
            .filter(|(_, b)| !b.is_zero())
            .map(|(s, b)| s.as_secs_f64() / b.as_secs_f64())
            .collect();
        let ratio = match median(ratios) {
            Some(r) => format!("{r:.2}x"),
            None => "-".to_owned(),
        };
        let per_op = median(own.clone()).unwrap_or_default();
        println!(
            "| {} | {} | {ratio} | {} |",
            row.contender,
            human(per_op),
            row.note
        );
    }
    if !target.is_empty() {
        println!("\ntarget: {target}");
    }
}

fn median<T: PartialOrd>(mut values: Vec<T>) -> Option<T> {
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    let middle = values.len() / 2;
    (!values.is_empty()).then(|| values.swap_remove(middle))
}

fn human(d: Duration) -> String {
    let ns = d.as_secs_f64() * 1e9;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// A contender whose round is timed whole: `round` once on `runtime`, per operation.
pub(crate) fn per_op<'a, F, Fut>(runtime: &'a Runtime, ops: usize, mut round: F) -> Sampler<'a>
where
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = ()>,
{
    Box::new(move || {
        let start = Instant::now();
        runtime.block_on(round());
        start.elapsed() / ops as u32
    })
}

/// A contender whose round times its own part (and returns it), per operation.
pub(crate) fn timed_part<'a, F, Fut>(runtime: &'a Runtime, ops: usize, mut round: F) -> Sampler<'a>
where
    F: FnMut() -> Fut + 'a,
    Fut: Future<Output = Duration>,
{
    Box::new(move || runtime.block_on(round()) / ops as u32)
}

/// A hop to another dispatcher and back, against tokio's spawn-on-that-runtime-and-await.
fn hop(caller: &Runtime, plan: Plan) {
    let target = Dispatchers::default();
    let target_handle: Handle = target.handle();
    let n = plan.hops;
    let spawn_and_await = per_op(caller, n, || {
        let handle = target_handle.clone();
        async move {
            for i in 0..n {
                let v = handle.spawn(async move { i + 1 }).await.unwrap();
                std::hint::black_box(v);
            }
        }
    });
    let caller_dispatcher = Dispatchers::from_handle(caller.handle().clone());
    let with_context_hop = per_op(caller, n, || {
        let (scope, target) = (Scope::new(caller_dispatcher.clone()), target.clone());
        async move {
            let d = scope.async_(async move {
                for i in 0..n {
                    let v = with_context(target.clone(), async move { i + 1 })
                        .await
                        .unwrap();
                    std::hint::black_box(v);
                }
            });
            d.await.unwrap();
        }
    });
    print_table(
        plan,
        "dispatch: a hop to another dispatcher and back",
        "scopes `with_context` at most 1.5x tokio's spawn-on-that-runtime-and-await",
        vec![
            Row {
                contender: "tokio: `handle.spawn(..).await` on the other runtime",
                note: "baseline",
                sample: spawn_and_await,
            },
            Row {
                contender: "scopes: `with_context(Dispatchers::default(), ..)`",
                note: "a scoped job, a task on the target, the result back",
                sample: with_context_hop,
            },
        ],
    );
}

/// Launches `n` short coroutines on `dispatcher` in one scope and waits for all of them.
async fn launch_all(dispatcher: Dispatcher, n: usize) {
    let scope = Scope::new(dispatcher);
    for i in 0..n {
        scope.launch(async move {
            std::hint::black_box(i);
            yield_now().await;
        });
    }
    scope.complete_and_join().await;
}

/// `limited_parallelism(n)` against the unlimited dispatcher, and against a semaphore-gated
/// `JoinSet`, on many short coroutines.
fn limited(caller: &Runtime, plan: Plan) {
    let cores = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let n = plan.coroutines;
    let handle = Dispatchers::default().handle();
    let raw = per_op(caller, n, || {
        let handle = handle.clone();
        async move {
            let tasks: Vec<_> = (0..n)
                .map(|i| {
                    handle.spawn(async move {
                        std::hint::black_box(i);
                        tokio::task::yield_now().await;
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
    });
    let unlimited = per_op(caller, n, || launch_all(Dispatchers::default(), n));
    let view = Dispatchers::default().limited_parallelism(cores);
    let at_cores = per_op(caller, n, || launch_all(view.clone(), n));
    let view4 = Dispatchers::default().limited_parallelism(4);
    let four = per_op(caller, n, || launch_all(view4.clone(), n));
    let gated = per_op(caller, n, || {
        let handle = handle.clone();
        async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(4));
            let mut set = tokio::task::JoinSet::new();
            for i in 0..n {
                let permits = permits.clone();
                set.spawn_on(
                    async move {
                        let _permit = permits.acquire().await.unwrap();
                        std::hint::black_box(i);
                        tokio::task::yield_now().await;
                    },
                    &handle,
                );
            }
            while set.join_next().await.is_some() {}
        }
    });
    print_table(
        plan,
        &format!(
            "dispatch: {n} short coroutines (each yields once) on default() and its views ({cores} cores)"
        ),
        "a view with n >= cores at most 1.2x the unlimited dispatcher",
        vec![
            Row {
                contender: "scopes: `Dispatchers::default()`",
                note: "baseline: the unlimited dispatcher",
                sample: unlimited,
            },
            Row {
                contender: "scopes: `default().limited_parallelism(cores)`",
                note: "the view under test",
                sample: at_cores,
            },
            Row {
                contender: "scopes: `default().limited_parallelism(4)`",
                note: "",
                sample: four,
            },
            Row {
                contender: "tokio: `Semaphore(4)`-gated `JoinSet`",
                note: "what one writes today for a limit of 4",
                sample: gated,
            },
            Row {
                contender: "tokio: `spawn` + `JoinHandle`",
                note: "no structure, no limit: for scale",
                sample: raw,
            },
        ],
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, name, n] = args.as_slice()
        && flag == "--memory-child"
    {
        memory::child(name, n.parse().expect("a count"));
        return;
    }
    if let [_, flag, n] = args.as_slice()
        && flag == "--tracing-child"
    {
        tracing_cost::child(n.parse().expect("a count"));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let plan = if quick {
        Plan {
            rounds: 3,
            hops: 5_000,
            coroutines: 20_000,
            tree: (20, 500),
            fail_fast: 2_000,
            checks: 1_000_000,
            sets: 100_000,
            round_trips: 2_000,
            deliveries: 128_000,
            max_values: 50_000,
            produced: 100_000,
        }
    } else {
        Plan {
            rounds: 7,
            hops: 20_000,
            coroutines: 100_000,
            tree: (100, 1_000),
            fail_fast: 10_000,
            checks: 10_000_000,
            sets: 1_000_000,
            round_trips: 20_000,
            deliveries: 1_024_000,
            max_values: 250_000,
            produced: 1_000_000,
        }
    };
    // The caller: a runtime of its own, so a hop really goes to another one.
    let caller = Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-caller")
        .enable_all()
        .build()
        .expect("the caller runtime");
    println!(
        "# scopes benchmarks{}",
        if quick { " (--quick)" } else { "" }
    );
    println!(
        "\n{} cores; rounds per row: {}; median of the rounds, per operation",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        plan.rounds
    );
    // The structure workloads: every contender on the same 2-worker runtime.
    let shared = Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-shared")
        .enable_all()
        .build()
        .expect("the shared runtime");
    // `--only launch,hop` runs the named tables alone (to profile or compare one of them).
    let only: Option<Vec<&str>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|names| names.split(',').collect());
    let tables: [(&str, &dyn Fn()); 18] = [
        ("launch", &|| structure::launch_join(&shared, plan)),
        ("tree", &|| structure::tree(&shared, plan)),
        ("cancel", &|| structure::cancel_tree(&shared, plan)),
        ("fail-fast", &|| structure::fail_fast(&shared, plan)),
        ("supervisor", &|| structure::supervisor(&shared, plan)),
        ("fan-in", &|| structure::fan_in(&shared, plan)),
        ("check", &|| structure::is_active_check(&shared, plan)),
        ("memory", &|| {
            memory::table(if quick { 20_000 } else { 100_000 })
        }),
        ("hop", &|| hop(&caller, plan)),
        ("limited", &|| limited(&caller, plan)),
        ("state", &|| flow::state_collect(&shared, plan)),
        ("ping-pong", &|| flow::state_ping_pong(&shared, plan)),
        ("fan-out-1", &|| flow::shared_fan_out(&shared, plan, 1)),
        ("fan-out-8", &|| flow::shared_fan_out(&shared, plan, 8)),
        ("fan-out-64", &|| flow::shared_fan_out(&shared, plan, 64)),
        ("produce", &|| flow::produce_values(&shared, plan)),
        ("shutdown", &|| shutdown::shutdown(&shared, plan)),
        ("tracing", &|| tracing_cost::table(&shared, plan)),
    ];
    if let Some(unknown) = only
        .iter()
        .flatten()
        .find(|n| !tables.iter().any(|(name, _)| name == *n))
    {
        let names: Vec<&str> = tables.iter().map(|(name, _)| *name).collect();
        eprintln!(
            "unknown table `{unknown}`; the tables: {}",
            names.join(", ")
        );
        std::process::exit(2);
    }
    for (name, run) in tables {
        if only.as_ref().is_none_or(|only| only.contains(&name)) {
            run();
        }
    }
}
