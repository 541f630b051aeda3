//! Coroutine spans and events with `tracing-subscriber`: a tree of three levels (a server, its
//! sessions, their requests), a failure and a cancellation in the log, and the job tree's dump.
//!
//! ```sh
//! cargo run -p scopes --example tracing_tree --features tracing
//! ```
//!
//! Every log line is prefixed with the spans it is in, outermost first: the coroutine that
//! logged it and its ancestors, e.g.
//! `coroutine{name=server id=1 kind=launch}:coroutine{name=session 1 id=2 kind=launch}:coroutine{name=request 1.2 id=5 kind=launch}: handling`.

use std::time::Duration;

use scopes::prelude::*;
use scopes::{quiet_coroutine_panics, supervisor_scope};
use tracing::Level;

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_max_level(Level::DEBUG)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        .init();
    // The failing request's panic is reported once: by the error event (and the global
    // handler's line), not also by the panic hook.
    quiet_coroutine_panics();

    let app = Scope::new(Job::supervisor());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let server = app.coroutine().name("server").launch(async move {
        tracing::info!("listening");
        for s in 1..=2 {
            let ready_tx = ready_tx.clone();
            current_scope()
                .coroutine()
                .name(format!("session {s}"))
                .launch(async move {
                    // A supervisor scope: one failed request does not end the session.
                    supervisor_scope(|requests| async move {
                        for r in 1..=2 {
                            let ready_tx = ready_tx.clone();
                            requests
                                .coroutine()
                                .name(format!("request {s}.{r}"))
                                .launch(async move {
                                    tracing::info!("handling");
                                    if (s, r) == (1, 2) {
                                        panic!("the request's handler panicked");
                                    }
                                    ready_tx.send(()).unwrap();
                                    delay(Duration::from_secs(3600)).await; // a long poll
                                });
                        }
                        Ok::<_, CoroutineError>(())
                    })
                    .await
                });
        }
        delay(Duration::from_secs(3600)).await;
    });
    // Three requests are parked; the fourth has failed.
    for _ in 0..3 {
        ready_rx.recv().await.unwrap();
    }
    println!("\n--- the job tree ---\n{}", app.job().dump());

    // Cancel one session: a debug event per coroutine of its subtree.
    let session_2 = server
        .job()
        .children()
        .into_iter()
        .find(|j| format!("{j:?}").contains("session 2"))
        .expect("session 2");
    session_2.cancel_and_join().await;
    println!("\n--- after cancelling session 2 ---\n{}", app.job().dump());

    app.cancel_and_join().await;
}
