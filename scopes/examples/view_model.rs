//! "How do I make a view-model-like object whose work stops when it goes away, and whose
//! failures reach the UI instead of vanishing?" A `#[coroutine_scope]` struct with a supervisor
//! and a handler that publishes failures on a channel; dropping it cancels its scope.
//!
//! Run it with `cargo run --example view_model`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use scopes::prelude::*;
use scopes::{coroutine_scope, launch};
use tokio::sync::mpsc;

#[coroutine_scope]
struct ProfileViewModel {
    #[scope]
    scope: Scope,
}

impl ProfileViewModel {
    fn new(errors: mpsc::UnboundedSender<String>) -> Self {
        let handler = CoroutineExceptionHandler::new(move |_, err| {
            let _ = errors.send(format!("could not load: {err}"));
        });
        ProfileViewModel {
            scope: Scope::new(Job::supervisor() + handler),
        }
    }

    fn load_avatar(&self) -> Coroutine {
        launch!(self, CoroutineName::new("avatar") => {
            delay(Duration::from_millis(10)).await;
            return Err("avatar server returned 503".into());
        })
    }

    fn watch_profile(&self, cleaned_up: Arc<AtomicBool>) -> Coroutine {
        launch!(self, CoroutineName::new("profile") => {
            try_finally(delay(Duration::from_secs(3600)), async move {
                cleaned_up.store(true, Ordering::SeqCst); // unsubscribe, close the socket, ...
            })
            .await;
        })
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (errors_tx, mut errors) = mpsc::unbounded_channel();
    let view_model = ProfileViewModel::new(errors_tx);
    let cleaned_up = Arc::new(AtomicBool::new(false));
    let avatar = view_model.load_avatar();
    let profile = view_model.watch_profile(cleaned_up.clone());

    // The UI shows the failure; the other work goes on.
    let shown = errors.recv().await.unwrap();
    println!("UI shows: {shown}");
    assert_eq!(shown, "could not load: avatar server returned 503");
    avatar.join().await;
    assert!(profile.is_active());

    // The screen closes: dropping the view model cancels its scope, and the cleanup runs.
    drop(view_model);
    profile.join().await;
    assert!(profile.is_cancelled() && cleaned_up.load(Ordering::SeqCst));
    println!("closed: profile watcher cancelled and cleaned up");
}

#[test]
fn example_runs() {
    main()
}
