//! The same jobs engine on tokio + tokio-util, as it is written without scopes: a
//! `CancellationToken` that every job watches, a `TaskTracker` to wait for them, and a
//! `Semaphore` for the limit of jobs at once.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::store::{JobId, JobRequest, JobState, Store};
use crate::{ShutdownSummary, end_of_work};

/// The engine: the token, the tracker and the permits.
#[derive(Debug)]
pub struct TokioEngine {
    token: CancellationToken,
    tracker: TaskTracker,
    permits: Arc<Semaphore>,
    store: Store,
}

impl TokioEngine {
    /// At most `parallelism` jobs at once; failures filed in `store`.
    pub fn new(store: Store, parallelism: usize) -> Self {
        TokioEngine {
            token: CancellationToken::new(),
            tracker: TaskTracker::new(),
            permits: Arc::new(Semaphore::new(parallelism)),
            store,
        }
    }

    /// Spawns job `id`'s processing on the tracker.
    pub fn launch(&self, id: JobId, request: JobRequest, default_work: Duration) {
        let (token, permits, store) =
            (self.token.clone(), self.permits.clone(), self.store.clone());
        let work = request.work_ms.map_or(default_work, Duration::from_millis);
        self.tracker.spawn(async move {
            let run = async {
                let _permit = permits
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                store.start(id);
                tokio::time::sleep(work).await;
                end_of_work(&request)
            };
            // A panic in a tracked task would end the task silently (nobody reads its
            // `JoinHandle`) and leave the job `Running`: catch it here.
            let outcome = tokio::select! {
                outcome = AssertUnwindSafe(run).catch_unwind() => outcome,
                () = token.cancelled() => {
                    // The async cleanup of an interrupted job goes here.
                    store.interrupt(id);
                    return;
                }
            };
            match outcome {
                Ok(Ok(())) => {
                    store.finish(id);
                }
                Ok(Err(error)) => report_failure(&store, id, error.to_string()),
                Err(panic) => report_failure(&store, id, panic_message(&*panic)),
            }
        });
    }

    /// Closes the tracker, waits up to `grace`, then cancels the token and waits for the rest.
    /// The counts come from the store: the jobs unfinished when it began, by how they ended.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownSummary {
        let unfinished = self.store.unfinished();
        self.tracker.close();
        let drained = tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok();
        if !drained {
            self.token.cancel();
            self.tracker.wait().await;
        }
        let mut summary = ShutdownSummary {
            drained,
            ..ShutdownSummary::default()
        };
        for id in unfinished {
            match self.store.get(id).map(|record| record.state) {
                Some(JobState::Done) => summary.finished += 1,
                Some(JobState::Failed) => summary.failed += 1,
                _ => {
                    summary.cancelled += 1;
                    summary.cancelled_names.push(format!("job-{id}"));
                }
            }
        }
        summary
    }
}

fn report_failure(store: &Store, id: JobId, error: String) {
    eprintln!("job {id} failed: {error}");
    store.fail(id, error);
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic");
    format!("panicked: {message}")
}
