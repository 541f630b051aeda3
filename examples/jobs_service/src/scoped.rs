//! The jobs engine on scopes: one application-wide supervisor scope on
//! `Dispatchers::io().limited_parallelism(n)`, whose exception handler marks a failed job and
//! logs it, and `scope.shutdown(grace)` at the end.

use std::time::Duration;

use scopes::prelude::*;
use scopes::{ContextElement, ShutdownReport};

use crate::store::{JobId, JobRequest, Store};
use crate::{ShutdownSummary, end_of_work};

/// Which job a coroutine processes: a context element, so the exception handler can tell.
#[derive(Debug, ContextElement)]
struct JobTag(JobId);

/// The engine: the scope every job runs in.
#[derive(Debug)]
pub struct ScopesEngine {
    scope: Scope,
    store: Store,
}

impl ScopesEngine {
    /// A supervisor scope on `io().limited_parallelism(parallelism)` whose handler files
    /// failures in `store`.
    pub fn new(store: Store, parallelism: usize) -> Self {
        let on_failure = CoroutineExceptionHandler::new({
            let store = store.clone();
            move |context, error| match context.get::<JobTag>() {
                Some(JobTag(id)) => {
                    store.fail(*id, error.to_string());
                    eprintln!("job {id} failed: {error}");
                }
                None => eprintln!("a coroutine of the jobs scope failed: {error}"),
            }
        });
        let scope = Scope::new(
            Job::supervisor()
                + Dispatchers::io().limited_parallelism(parallelism)
                + on_failure
                + CoroutineName::new("jobs"),
        );
        ScopesEngine { scope, store }
    }

    /// Launches job `id`'s processing.
    ///
    /// `Atomic`: the body runs up to its first suspension even if the shutdown cancels it
    /// before it was scheduled, so the job always leaves `Queued` and its cleanup always runs.
    /// The job's final state follows its coroutine's outcome, the one the shutdown report
    /// counts: the cleanup marks it interrupted when it sees the cancellation, and the
    /// completion handler settles what the body could not see (a cancellation that came after
    /// the cleanup looked, a normal end).
    pub fn launch(&self, id: JobId, request: JobRequest, default_work: Duration) {
        let store = self.store.clone();
        let work = request.work_ms.map_or(default_work, Duration::from_millis);
        let coroutine = self
            .scope
            .coroutine()
            .name(format!("job-{id}"))
            .context(JobTag(id))
            .start(CoroutineStart::Atomic)
            .launch({
                let store = store.clone();
                async move {
                    store.start(id);
                    let job = current_context().job().cloned();
                    let simulated = async move {
                        delay(work).await;
                        end_of_work(&request)
                    };
                    try_finally(simulated, async move {
                        // The async cleanup of an interrupted job. It runs however the work
                        // ended; an error or a panic goes on to the exception handler.
                        if job.is_some_and(|job| job.is_cancelled()) {
                            store.interrupt(id);
                        }
                    })
                    .await
                }
            });
        // Failures are the exception handler's; it has run by the time this runs.
        let _ = coroutine
            .job()
            .invoke_on_completion(move |outcome| match outcome {
                None => _ = store.finish(id),
                Some(error) if error.is_cancellation() => _ = store.interrupt(id),
                Some(_) => {}
            });
    }

    /// `scope.shutdown(grace)`, its report turned into the service's summary.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownSummary {
        let report: ShutdownReport = self.scope.shutdown(grace).await;
        ShutdownSummary {
            finished: report.finished,
            failed: report.failed,
            cancelled: report.cancelled,
            cancelled_names: report.cancelled_names,
            drained: report.drained,
            ..ShutdownSummary::default()
        }
    }
}
