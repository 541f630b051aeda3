//! Debug mode: coroutine ids, `Debug` of coroutines and `dump()` of a live tree. In its own
//! binary because debug mode is process-wide.

use std::time::Duration;

use scopes::prelude::*;
use scopes::{CoroutineId, Dispatchers, set_debug_mode};

#[tokio::test(start_paused = true)]
async fn dump_shows_the_live_tree_with_names_ids_and_states() {
    set_debug_mode(true);
    let scope = Scope::new(Job::supervisor() + CoroutineName::new("app"));
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let loader = scope.launch_with(
        CoroutineName::new("loader"),
        CoroutineStart::Default,
        async move {
            current_scope().launch_with(
                CoroutineName::new("page 1") + Dispatchers::io(),
                CoroutineStart::Default,
                async { delay(Duration::from_secs(60)).await },
            );
            let _unawaited = current_scope().async_(async { delay(Duration::from_secs(60)).await });
            ready_tx.send(()).unwrap();
            delay(Duration::from_secs(60)).await;
        },
    );
    ready_rx.await.unwrap();
    let ids: Vec<u64> = {
        let mut jobs = vec![loader.job().clone()];
        jobs.extend(loader.job().children());
        jobs.iter().map(id_of).collect()
    };
    let dump = scope.dump();
    let expected = format!(
        "SupervisorJob{{Active}}\n  \"loader\"#{} StandaloneCoroutine{{Active}} on TokioRuntime(current_thread)\n    \"page 1\"#{} StandaloneCoroutine{{Active}} on Dispatchers.IO\n    \"loader\"#{} DeferredCoroutine{{Active}}\n",
        ids[0], ids[1], ids[2]
    );
    assert_eq!(dump, expected);
    assert_eq!(
        format!("{loader:?}"),
        format!("\"loader\"#{} StandaloneCoroutine{{Active}}", ids[0])
    );
    assert!(
        ids[0] < ids[1] && ids[1] < ids[2],
        "ids are given in start order"
    );
    loader.cancel_and_join().await;
    assert_eq!(
        format!("{loader:?}"),
        format!(
            "\"loader\"#{} StandaloneCoroutine{{Cancelled, cancelled: Job was cancelled}}",
            ids[0]
        )
    );
    assert_eq!(
        scope.dump(),
        "SupervisorJob{Active}\n",
        "finished coroutines leave the dump"
    );
}

fn id_of(job: &Job) -> u64 {
    let text = format!("{job:?}");
    let start = text.find('#').expect("debug mode gives ids") + 1;
    let end = text[start..].find(' ').unwrap() + start;
    text[start..end].parse().unwrap()
}

#[tokio::test]
async fn the_id_is_in_the_coroutines_context() {
    set_debug_mode(true);
    let scope = Scope::new(());
    let id = scope
        .async_(async { current_context().get::<CoroutineId>().copied() })
        .await
        .unwrap();
    assert!(id.is_some());
}
