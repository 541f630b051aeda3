//! A profiling target on a current-thread runtime, so `valgrind --tool=callgrind` sees one
//! thread. `cargo build --release -p scopes-bench --example launch_profile`, then run the binary
//! under callgrind:
//!
//! - no argument: 100,000 launches and joins in one scope;
//! - `cancel`: a 100 x 1,000 tree of parked coroutines, cancelled and joined.

use std::time::Duration;

use scopes::prelude::*;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cancel = std::env::args().nth(1).as_deref() == Some("cancel");
    rt.block_on(async move {
        let scope = Scope::new(());
        if cancel {
            for _ in 0..100 {
                scope.launch(async {
                    for _ in 0..1_000 {
                        current_scope().launch(delay(Duration::from_secs(3600)));
                    }
                    delay(Duration::from_secs(3600)).await;
                });
            }
            // Let every coroutine park.
            for _ in 0..4 {
                yield_now().await;
            }
            scope.job().cancel_and_join().await;
        } else {
            for i in 0..100_000u32 {
                scope.launch(async move {
                    std::hint::black_box(i);
                });
            }
            scope.complete_and_join().await;
        }
    });
}
