//! Graceful shutdown: [`Scope::shutdown`] stops a scope taking work, lets what runs finish for a
//! grace period, then cancels the rest and waits; [`ShutdownReport`] says what happened.
//!
//! The steps and the report, as users see them: the guide's chapter *Shutting down a service*
//! (`scopes::guide::shutdown`).

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::{Either, select};
use tokio::sync::Notify;

use crate::context::CoroutineName;
use crate::error::CoroutineError;
use crate::job::{Job, JobState};
use crate::scope::{CoroutineScope, Scope};
use crate::sync::lock_std as lock;
use crate::timer::Timer;

/// What [`Scope::shutdown`] saw become of the coroutines (direct children of the scope) that
/// were running when it began. Each is counted once, in one of `finished`, `failed` and
/// `cancelled`.
///
/// ```
/// use std::time::Duration;
/// use scopes_runtime::{CoroutineScope, Job, Scope, delay};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let scope = Scope::new(Job::supervisor());
/// scope.coroutine().name("flush").launch(delay(Duration::from_secs(1)));
/// scope.coroutine().name("crawl").launch(delay(Duration::from_secs(600)));
/// let report = scope.shutdown(Duration::from_secs(5)).await;
/// assert_eq!(report.total(), 2);
/// assert!(!report.drained);
/// assert_eq!(report.to_string(), "1 finished, 0 failed, 1 cancelled (crawl)");
/// # }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Ended normally (in the grace period).
    pub finished: usize,
    /// Ended with a failure (it also went where failures go: the exception handler, a
    /// `Deferred`).
    pub failed: usize,
    /// Ended cancelled: by the shutdown once the grace period was over, or by something else
    /// before.
    pub cancelled: usize,
    /// The names of the cancelled ones, in the order they ended: the [`CoroutineName`], else
    /// the kind (`StandaloneCoroutine`, with `#id` in [debug mode](crate::set_debug_mode)).
    pub cancelled_names: Vec<String>,
    /// True if every one ended within the grace period (the shutdown cancelled nothing).
    pub drained: bool,
}

impl ShutdownReport {
    /// How many coroutines were running when the shutdown began.
    pub fn total(&self) -> usize {
        self.finished + self.failed + self.cancelled
    }

    fn file(&mut self, outcome: Option<&CoroutineError>, job: &Job) {
        match outcome {
            None => self.finished += 1,
            Some(error) if error.is_cancellation() => {
                self.cancelled += 1;
                self.cancelled_names.push(name_of(job));
            }
            Some(_) => self.failed += 1,
        }
    }
}

impl fmt::Display for ShutdownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} finished, {} failed, {} cancelled",
            self.finished, self.failed, self.cancelled
        )?;
        if !self.cancelled_names.is_empty() {
            write!(f, " ({})", self.cancelled_names.join(", "))?;
        }
        Ok(())
    }
}

/// The running coroutine's job and its ancestors (none outside a coroutine).
fn callers() -> Vec<Job> {
    let mut callers = Vec::new();
    let mut next = crate::scope::current_context().job().cloned();
    while let Some(job) = next {
        next = job.parent();
        callers.push(job);
    }
    callers
}

/// The report being filed, and how many children have not been filed yet.
struct Tally {
    report: Mutex<ShutdownReport>,
    unfiled: AtomicUsize,
    all_filed: Notify,
}

impl Tally {
    fn file(&self, outcome: Option<&CoroutineError>, job: &Job) {
        lock(&self.report).file(outcome, job);
        if self.unfiled.fetch_sub(1, Ordering::AcqRel) == 1 {
            // A permit if nobody waits yet: `filed` then returns at once.
            self.all_filed.notify_one();
        }
    }

    async fn filed(&self) {
        while self.unfiled.load(Ordering::Acquire) > 0 {
            self.all_filed.notified().await;
        }
    }
}

fn name_of(job: &Job) -> String {
    match job.bare_context().get::<CoroutineName>() {
        Some(name) => name.as_str().to_owned(),
        None => job.label(),
    }
}

impl Scope {
    /// Shuts the scope down gracefully: it takes no new coroutines (a launch into it is
    /// cancelled at once, as in a cancelled scope: an `Atomic` or `Undispatched` one runs to
    /// its first suspension), lazy ones that nobody started are cancelled without starting, the
    /// ones running get up to `grace` to finish, then the rest are cancelled and waited for
    /// (their cleanup runs). Returns what became of them. One that would end exactly at the
    /// end of the grace period may be cancelled.
    ///
    /// The wait after the cancellation has no limit: a cleanup that never ends keeps the
    /// shutdown waiting, as it keeps `cancel_and_join` waiting. To bound the whole of it, put
    /// the call under `with_timeout` or `tokio::time::timeout` (the scope then stays closed,
    /// and what still runs is left as it is).
    ///
    /// Afterwards the scope stays closed. A standalone job (the one a scope makes, or a
    /// `Job::new()` / `Job::supervisor()` given to it) is completed, so [`Job::join`] on it
    /// returns; a coroutine's job is left to its body. Dropping the returned future stops
    /// the waiting, not the shutdown: the scope keeps refusing launches, and what runs keeps
    /// running until the scope is dropped or cancelled.
    ///
    /// Called from inside one of the scope's coroutines, that one is left out (it cannot wait
    /// for itself): it is neither waited for, nor cancelled, nor counted.
    ///
    /// A coroutine cancelled before it ever ran skips its body, `try_finally` and all (as in
    /// kotlinx); give it [`CoroutineStart::Atomic`](crate::CoroutineStart::Atomic) if its
    /// cleanup must run.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scopes_runtime::{CoroutineScope, Job, Scope, delay};
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
    /// let scope = Scope::new(Job::supervisor());
    /// scope.coroutine().name("quick").launch(delay(Duration::from_secs(1)));
    /// scope.coroutine().name("slow").launch(delay(Duration::from_secs(60)));
    /// let report = scope.shutdown(Duration::from_secs(5)).await;
    /// assert_eq!((report.finished, report.cancelled), (1, 1));
    /// assert_eq!(report.cancelled_names, ["slow"]);
    /// assert!(scope.launch(async {}).is_cancelled(), "closed for new work");
    /// # }
    /// ```
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        let job = self.job();
        job.refuse_children();
        // The caller, if it is one of them (or inside one), cannot wait for itself.
        let callers = callers();
        let mut children = job.children();
        children.retain(|child| !callers.contains(child));
        let tally = Arc::new(Tally {
            report: Mutex::new(ShutdownReport::default()),
            unfiled: AtomicUsize::new(children.len()),
            all_filed: Notify::new(),
        });
        for child in &children {
            // The name is made only for a cancelled one (the report lists those alone).
            let (tally, named) = (tally.clone(), child.clone());
            // Kept until the child ends: the handler files the child in the report. The
            // wait below is for the filing, not the join: a join can return before the
            // handlers have run.
            drop(child.invoke_on_completion(move |outcome| tally.file(outcome, &named)));
        }
        // A lazy coroutine nobody started is not running work: it does not start now.
        let unstarted = CoroutineError::cancelled("the scope shut down before it started", None);
        for child in children.iter().filter(|c| c.state() == JobState::New) {
            child.cancel_with_error(unstarted.clone());
        }
        let drained = {
            let filed = pin!(tally.filed());
            let timer = pin!(Timer::after(grace));
            matches!(select(filed, timer).await, Either::Left(_))
        };
        if !drained {
            let cause = CoroutineError::cancelled("the shutdown's grace period ended", None);
            for child in &children {
                child.cancel_with_error(cause.clone());
            }
            tally.filed().await;
        }
        if job.is_standalone() {
            job.complete();
            job.join().await;
        }
        let mut report = std::mem::take(&mut *lock(&tally.report));
        report.drained = drained;
        report
    }

    /// Waits for `signal` (say `tokio::signal::ctrl_c()`, with tokio's `signal` feature), then
    /// [shuts the scope down](Self::shutdown) with `grace`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scopes_runtime::{CoroutineScope, Job, Scope};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let scope = Scope::new(Job::supervisor());
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// scope.launch(async move { stop.send(()).ok(); });
    /// // In a service: `scope.shutdown_on(tokio::signal::ctrl_c(), grace)`.
    /// let report = scope.shutdown_on(stopped, Duration::from_secs(10)).await;
    /// assert!(report.drained);
    /// # }
    /// ```
    pub async fn shutdown_on<S: Future>(&self, signal: S, grace: Duration) -> ShutdownReport {
        signal.await;
        self.shutdown(grace).await
    }
}
