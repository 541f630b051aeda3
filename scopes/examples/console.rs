//! tokio-console with scopes: each coroutine's tokio task is named after the coroutine.
//!
//! tokio's task names need `--cfg tokio_unstable` (and `tokio`'s `tracing` feature, which the
//! `tracing` feature of `scopes` turns on). Run, then `tokio-console` in another terminal:
//!
//! ```sh
//! RUSTFLAGS="--cfg tokio_unstable" cargo run -p scopes --example console --features tracing
//! ```
//!
//! `console-subscriber` is a dev-dependency of `scopes` only under that cfg, so neither a
//! default build nor `cargo test --workspace` builds it. Without the cfg this example says how
//! to run it and exits.

#[cfg(tokio_unstable)]
#[tokio::main]
async fn main() {
    use std::time::Duration;

    use scopes::prelude::*;

    console_subscriber::init();
    let app = Scope::new(Job::supervisor());
    for w in 0..4 {
        app.coroutine()
            .name(format!("worker {w}"))
            .launch(async move {
                for tick in 0u64.. {
                    current_scope()
                        .coroutine()
                        .name(format!("job {w}.{tick}"))
                        .launch(delay(Duration::from_millis(200 * (w + 1))))
                        .join()
                        .await;
                }
            });
    }
    println!("tasks are named after their coroutines; open `tokio-console` (60 s)");
    delay(Duration::from_secs(60)).await;
    app.cancel_and_join().await;
}

#[cfg(not(tokio_unstable))]
fn main() {
    eprintln!(
        "tokio's task names need tokio_unstable: \
         RUSTFLAGS=\"--cfg tokio_unstable\" cargo run -p scopes --example console --features tracing"
    );
}
