//! Workload 8, memory: bytes per parked coroutine, as the growth of the resident set over 100,000 parked
//! coroutines. Each contender runs in a fresh child process (this binary, run again with
//! `--memory-child NAME`), so memory freed by one contender cannot hide another's.

use std::time::Duration;

use scopes::prelude::*;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

const PARK: Duration = Duration::from_secs(3600);
const CONTENDERS: [(&str, &str); 4] = [
    ("tokio", "tokio: `spawn` + `JoinHandle`"),
    ("joinset", "tokio: `JoinSet`"),
    (
        "tracker",
        "tokio-util: child `CancellationToken` + `TaskTracker`",
    ),
    ("scopes", "scopes: `launch` in a `Scope`"),
];

/// The resident set size of this process, in bytes (Linux).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("a Linux /proc");
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm's second field");
    pages * 4096
}

/// In the child: parks `n` coroutines of one contender and prints the bytes per coroutine.
pub(crate) fn child(name: &str, n: usize) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        // Warm the allocator and the runtime with a small round first.
        park(name, 1_000).await;
        let before = rss();
        let keep = park(name, n).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let after = rss();
        println!("{}", (after.saturating_sub(before)) / n);
        drop(keep);
    });
}

/// Keeps what the parked coroutines need alive.
enum Parked {
    Handles(#[allow(dead_code)] Vec<tokio::task::JoinHandle<()>>),
    Set(#[allow(dead_code)] JoinSet<()>),
    Tracker(
        #[allow(dead_code)] CancellationToken,
        #[allow(dead_code)] TaskTracker,
    ),
    Scope(#[allow(dead_code)] Scope),
}

async fn park(name: &str, n: usize) -> Parked {
    let parked = match name {
        "tokio" => Parked::Handles(
            (0..n)
                .map(|_| tokio::spawn(tokio::time::sleep(PARK)))
                .collect(),
        ),
        "joinset" => {
            let mut set = JoinSet::new();
            for _ in 0..n {
                set.spawn(tokio::time::sleep(PARK));
            }
            Parked::Set(set)
        }
        "tracker" => {
            let (token, tracker) = (CancellationToken::new(), TaskTracker::new());
            for _ in 0..n {
                let child = token.child_token();
                tracker.spawn(async move {
                    child.run_until_cancelled(tokio::time::sleep(PARK)).await;
                });
            }
            Parked::Tracker(token, tracker)
        }
        "scopes" => {
            let scope = Scope::new(());
            for _ in 0..n {
                scope.launch(delay(PARK));
            }
            Parked::Scope(scope)
        }
        other => panic!("unknown contender {other}"),
    };
    // Let every coroutine run to its suspension.
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    parked
}

/// In the parent: runs every contender in its own process and prints the table.
pub(crate) fn table(n: usize) {
    let exe = std::env::current_exe().expect("the harness binary");
    println!(
        "\n## 8. memory: bytes per parked coroutine (resident-set growth over {n}, one process each)\n"
    );
    println!("| contender | bytes per coroutine | on top of tokio |");
    println!("|---|---:|---:|");
    let mut base = None;
    for (name, label) in CONTENDERS {
        let out = std::process::Command::new(&exe)
            .args(["--memory-child", name, &n.to_string()])
            .output()
            .expect("the child runs");
        let bytes: usize = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        let base = *base.get_or_insert(bytes);
        println!("| {label} | {bytes} | {:+} |", bytes as i64 - base as i64);
    }
    println!("\ntarget: at most 1 allocation and 128 bytes per coroutine on top of the tokio task");
}
