//! A profiling target: 100,000 launches and joins in one scope on a current-thread runtime, so
//! `valgrind --tool=callgrind` sees one thread. `cargo build --release -p scopes-bench --example
//! launch_profile`, then run the binary under callgrind.

use scopes::prelude::*;

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let scope = Scope::new(());
        for i in 0..100_000u32 {
            scope.launch(async move {
                std::hint::black_box(i);
            });
        }
        scope.complete_and_join().await;
    });
}
