//! What the `tracing` feature costs a launch + join (issue 14). One build has the feature off
//! or on, so the three columns of BENCHMARKS.md take two runs:
//!
//! ```sh
//! cargo run --release -p scopes-bench -- --only tracing                     # feature off
//! cargo run --release -p scopes-bench --features tracing -- --only tracing  # on: no subscriber, no-op subscriber
//! ```
//!
//! Each build's rows are in the ratio to the same tokio baseline, which makes the two runs
//! comparable on a noisy machine. A subscriber is process-wide, so the no-op row runs each
//! round in a child process of its own (`--tracing-child n`), on a runtime like the shared one.

use std::time::Instant;

use scopes::prelude::*;
use tokio::runtime::{Builder, Runtime};

use crate::{Plan, Row, per_op, print_table};

/// The launch + join workload of table 1: `n` empty coroutines in one scope.
async fn launch_join(n: usize) {
    let scope = Scope::new(());
    for _ in 0..n {
        scope.launch(async {});
    }
    scope.complete_and_join().await;
}

pub(crate) fn table(rt: &Runtime, plan: Plan) {
    let n = plan.coroutines;
    let feature = if cfg!(feature = "tracing") {
        "on"
    } else {
        "off"
    };
    #[cfg_attr(not(feature = "tracing"), allow(unused_mut))]
    let mut rows = vec![
        Row::new(
            "tokio: `spawn` + `JoinHandle`",
            "baseline, to compare the two builds",
            per_op(rt, n, || async move {
                let handles: Vec<_> = (0..n).map(|_| tokio::spawn(async {})).collect();
                for h in handles {
                    h.await.unwrap();
                }
            }),
        ),
        Row::new(
            if cfg!(feature = "tracing") {
                "scopes: `launch` + join, feature on, no subscriber"
            } else {
                "scopes: `launch` + join, feature off"
            },
            "",
            per_op(rt, n, move || launch_join(n)),
        ),
    ];
    #[cfg(feature = "tracing")]
    rows.push(Row::new(
        "scopes: `launch` + join, feature on, a no-op subscriber",
        "a child process per round",
        Box::new(move || noop_round(n)),
    ));
    print_table(
        plan,
        &format!("tracing: launch + join of {n} empty coroutines, the `tracing` feature {feature}"),
        "off identical to today's table 1; on without a subscriber at most 5% over off",
        rows,
    );
}

/// One round in a child process with the no-op subscriber: its time per op.
#[cfg(feature = "tracing")]
fn noop_round(n: usize) -> std::time::Duration {
    let exe = std::env::current_exe().expect("the harness binary");
    let out = std::process::Command::new(exe)
        .args(["--tracing-child", &n.to_string()])
        .output()
        .expect("the child runs");
    let nanos: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the child prints nanoseconds per op");
    std::time::Duration::from_nanos(nanos)
}

/// The child: the no-op subscriber, a 2-worker runtime, a warm-up round, then one timed round;
/// prints nanoseconds per op.
pub(crate) fn child(n: usize) {
    #[cfg(feature = "tracing")]
    tracing::subscriber::set_global_default(noop::Noop).expect("the first subscriber");
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(launch_join(n));
    let start = Instant::now();
    rt.block_on(launch_join(n));
    println!("{}", (start.elapsed() / n as u32).as_nanos());
}

/// The no-op subscriber (one file, also used by `examples/launch_profile.rs`).
#[cfg(feature = "tracing")]
#[path = "noop_subscriber.rs"]
pub(crate) mod noop;
