//! Issue 14: `quiet_coroutine_panics` keeps the panic hook's message away for panics inside
//! coroutines, and only there. (Its own test binary: the panic hook is process-wide.)

use std::sync::{Arc, Mutex};

use scopes::prelude::*;
use scopes::{is_in_coroutine, quiet_coroutine_panics};

#[test]
fn panics_inside_coroutines_skip_the_previous_hook_and_others_reach_it() {
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = seen.clone();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default();
        sink.lock().unwrap().push(message);
    }));
    quiet_coroutine_panics();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let recorder = scopes_tests::Recorder::new();
    let handler = recorder.handler();
    runtime.block_on(async move {
        assert!(!is_in_coroutine());
        let scope = Scope::new(Job::supervisor() + handler);
        // In a body, in a body's destructor, in an `async_` and in a scope builder's block.
        scope
            .launch(async {
                if true {
                    panic!("in a body")
                }
            })
            .join()
            .await;
        struct PanicsOnDrop;
        impl Drop for PanicsOnDrop {
            fn drop(&mut self) {
                panic!("in a destructor")
            }
        }
        scope
            .launch(async {
                let _guard = PanicsOnDrop;
            })
            .join()
            .await;
        let deferred = scope
            .async_(async {
                if true {
                    panic!("in an async_")
                }
                1
            })
            .await;
        assert!(deferred.unwrap_err().is_panic());
        let scoped = coroutine_scope(|_| async {
            if true {
                panic!("in a scope")
            }
        })
        .await;
        assert!(scoped.unwrap_err().is_panic());
    });
    let inside = seen.lock().unwrap().clone();

    // Elsewhere the previous hook still runs: in plain code and on another thread.
    let caught = std::panic::catch_unwind(|| panic!("outside"));
    assert!(caught.is_err());
    let joined = std::thread::spawn(|| panic!("on a thread")).join();
    assert!(joined.is_err());
    // The default hook again, so a failed assertion below is printed.
    drop(std::panic::take_hook());
    // Reported once each, by their owners, and not by the hook.
    assert_eq!(
        recorder.messages(),
        [
            "coroutine panicked: in a body",
            "coroutine panicked: in a destructor"
        ]
        .map(String::from)
    );
    assert!(inside.is_empty(), "{inside:?}");
    assert_eq!(
        *seen.lock().unwrap(),
        ["outside", "on a thread"].map(String::from)
    );
}
