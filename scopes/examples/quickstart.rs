//! The quick start: the model in five steps, each shown with `scope.dump()` or the handles'
//! `Debug`.
//!
//! 1. A parent waits for its children: its body is done, but it is `Completing` until they are.
//! 2. A failure travels up through a regular parent, which cancels its other children.
//! 3. A supervisor stops it there: its other children go on, and the handler reports it.
//! 4. A cancellation travels down a subtree, and not up.
//! 5. A failed coroutine and a cancelled one read differently: `{Cancelled, failed: ..}` and
//!    `{Cancelled, cancelled: ..}`.
//!
//! Run it with `cargo run --example quickstart`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopes::prelude::*;
use tokio::sync::oneshot;

fn named(name: &str) -> CoroutineName {
    CoroutineName::new(name)
}

/// What the tour prints, also kept for the test to check.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<String>>);

impl Log {
    fn say(&self, text: impl AsRef<str>) {
        println!("{}", text.as_ref());
        let mut log = self.0.lock().unwrap();
        log.push_str(text.as_ref());
        log.push('\n');
    }

    #[cfg(test)]
    fn text(&self) -> String {
        self.0.lock().unwrap().clone()
    }
}

async fn tour(log: Log) {
    scopes::set_debug_mode(true); // ids in the dump: "sync"#1
    let seen = log.clone();
    let handler = CoroutineExceptionHandler::new(move |ctx, err| {
        let who = ctx
            .get::<CoroutineName>()
            .map_or("?".into(), |n| n.to_string());
        seen.say(format!("handler: coroutine {who:?} failed: {err}"));
    });
    // A supervisor: one child's failure does not take the others down.
    let scope = Scope::new(Job::supervisor() + named("app") + handler);

    // 1. "report" ends its body at once, but waits for "summary", its child.
    let (summary_done, summary_waits) = oneshot::channel::<()>();
    let report = scope.coroutine().name("report").launch(async move {
        current_scope()
            .coroutine()
            .name("summary")
            .launch(async move {
                let _ = summary_waits.await;
            });
    });
    // "sync" syncs two pages, for step 4.
    let sync = scope.coroutine().name("sync").launch(async {
        for page in ["page 1", "page 2"] {
            current_scope().coroutine().name(page).launch(async {
                delay(Duration::from_secs(3600)).await;
            });
        }
        delay(Duration::from_secs(3600)).await;
    });
    // "upload", a regular parent: "chunk 1" will fail while "chunk 2" is still sending.
    let (chunks_tx, chunks_rx) = oneshot::channel();
    let (fail_tx, fail_rx) = oneshot::channel::<()>();
    let upload = scope.coroutine().name("upload").launch(async move {
        let chunk_1 = current_scope()
            .coroutine()
            .name("chunk 1")
            .launch(async move {
                let _ = fail_rx.await;
                Err::<(), _>("network unreachable")
            });
        let chunk_2 = current_scope().coroutine().name("chunk 2").launch(async {
            delay(Duration::from_secs(3600)).await;
        });
        let _ = chunks_tx.send((chunk_1, chunk_2));
    });
    let (chunk_1, chunk_2) = chunks_rx.await.unwrap();
    yield_now().await;
    log.say(format!(
        "1. the live tree: \"report\" is Completing, waiting for \"summary\":\n{}",
        scope.dump()
    ));
    summary_done.send(()).unwrap();
    report.join().await; // returns once "summary" is done too
    log.say(format!("   after \"summary\" ended: report {report:?}\n"));

    // 2 and 3. "chunk 1" fails: "upload" (a regular parent) is cancelled with its failure, and
    // cancels "chunk 2"; the supervisor keeps "sync" going and the handler gets the failure,
    // once, from "upload", the coroutine that carried it to the supervisor.
    fail_tx.send(()).unwrap();
    upload.join().await;
    log.say(
        "2. \"chunk 1\" failed: the failure went up to \"upload\", its regular parent, which \
         cancelled \"chunk 2\"",
    );
    log.say(format!(
        "3. the supervisor stopped it there: \"sync\" goes on, and the handler reported it once \
         (above):\n{}",
        scope.dump()
    ));

    // 4. Cancelling "sync" cancels its subtree; join waits until all of it is gone. The
    // cancellation does not travel up: "app" is still active.
    sync.cancel_and_join().await;
    log.say(format!(
        "4. after cancelling \"sync\", \"app\" is still active:\n{}",
        scope.dump()
    ));

    // 5. How each one ended.
    log.say("5. failed and cancelled coroutines:");
    for coroutine in [&chunk_1, &upload, &chunk_2, &sync] {
        log.say(format!("   {coroutine:?}"));
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(tour(Log::default()));
}

/// The text without the coroutine ids (`"sync"#2` becomes `"sync"`), which depend on what else
/// the process launched.
#[cfg(test)]
fn without_ids(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '"' && chars.peek() == Some(&'#') {
            chars.next();
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
        }
    }
    out
}

#[test]
fn example_runs() {
    let log = Log::default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(tour(log.clone()));
    let text = without_ids(&log.text());
    let has = |line: &str| assert!(text.contains(line), "no {line:?} in:\n{text}");
    // 1. A parent waits for its children.
    has("  \"report\" StandaloneCoroutine{Completing}");
    has("    \"summary\" StandaloneCoroutine{Active}");
    has("report \"report\" StandaloneCoroutine{Completed}");
    // 2 and 3. Up through the regular parent, stopped by the supervisor, reported once.
    has("handler: coroutine \"upload\" failed: network unreachable");
    assert_eq!(text.matches("handler:").count(), 1, "{text}");
    has("(above):\nSupervisorJob{Active}\n  \"sync\" StandaloneCoroutine{Active}");
    // 4. Down, not up.
    has("4. after cancelling \"sync\", \"app\" is still active:\nSupervisorJob{Active}\n\n");
    // 5. Failed and cancelled read differently.
    has("\"chunk 1\" StandaloneCoroutine{Cancelled, failed: network unreachable}");
    has("\"upload\" StandaloneCoroutine{Cancelled, failed: network unreachable}");
    has(
        "\"chunk 2\" StandaloneCoroutine{Cancelled, cancelled: parent job is cancelling (caused by: network unreachable)}",
    );
    has("\"sync\" StandaloneCoroutine{Cancelled, cancelled: Job was cancelled}");
}
