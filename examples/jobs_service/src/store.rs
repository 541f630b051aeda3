//! The in-memory job store: each job's request, its state, and how many times its failure was
//! reported. Both engines write to it; the HTTP layer and the tests read it.
//!
//! The states, and the only moves between them (any other move is ignored, see [`Store`]):
//!
//! ```text
//! Queued ──start──▶ Running ──finish──▶ Done
//!   │                  │
//!   └───interrupt──────┴──interrupt──▶ Interrupted
//!   └───fail───────────┴──fail───────▶ Failed  ◀──fail── Interrupted
//! ```
//!
//! `Failed` may follow `Interrupted`: a job whose body panics or fails in the very moment the
//! shutdown cancels it has its cleanup run (interrupted) and then its failure reported, and the
//! failure is what its coroutine ended with.

use std::collections::HashMap;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// A job's id, given by the store in the order the jobs were accepted (from 1).
pub type JobId = u64;

/// What `POST /jobs` takes. Every field may be left out.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct JobRequest {
    /// Carried along; the work does not look at it.
    pub payload: String,
    /// The job returns an error at the end of its work.
    pub fail: bool,
    /// The job panics at the end of its work.
    pub panic: bool,
    /// How long the simulated work takes, in milliseconds (the service's default, 200 ms, if
    /// absent).
    pub work_ms: Option<u64>,
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Accepted; its processing has not begun.
    Queued,
    /// Its processing runs.
    Running,
    /// Its processing ended normally.
    Done,
    /// Its processing failed (an error or a panic), and the failure was reported.
    Failed,
    /// The shutdown stopped it before it ended; its cleanup ran.
    Interrupted,
}

impl JobState {
    /// True for `Done`, `Failed` and `Interrupted`.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Interrupted
        )
    }
}

/// One job, as `GET /jobs/{id}` shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct JobRecord {
    /// The job's id.
    pub id: JobId,
    /// Its state.
    pub state: JobState,
    /// The request it was made from.
    pub request: JobRequest,
    /// The failure, for a failed job.
    pub error: Option<String>,
    /// How many times its failure reached the failure handler (exactly once for a failed job).
    pub failure_reports: u32,
}

/// The store: a map behind one mutex, shared by cloning.
#[derive(Clone, Debug, Default)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    /// Told whenever a job reaches a final state.
    ended: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Inner {
    next_id: JobId,
    jobs: HashMap<JobId, JobRecord>,
    unfinished: usize,
}

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding it leaves the map whole (every write is one assignment).
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores a new job, `Queued`, and returns its id.
    pub fn insert(&self, request: JobRequest) -> JobId {
        let mut inner = self.lock();
        inner.next_id += 1;
        let id = inner.next_id;
        let record = JobRecord {
            id,
            state: JobState::Queued,
            request,
            error: None,
            failure_reports: 0,
        };
        inner.jobs.insert(id, record);
        inner.unfinished += 1;
        id
    }

    /// Waits until every job is in a final state.
    pub async fn settled(&self) {
        loop {
            let mut ended = pin!(self.ended.notified());
            // Registered before the check, so an end between the two is not missed.
            ended.as_mut().enable();
            if self.lock().unfinished == 0 {
                return;
            }
            ended.await;
        }
    }

    /// The job, if there is one of that id.
    pub fn get(&self, id: JobId) -> Option<JobRecord> {
        self.lock().jobs.get(&id).cloned()
    }

    /// Every job, by id.
    pub fn all(&self) -> Vec<JobRecord> {
        let mut all: Vec<_> = self.lock().jobs.values().cloned().collect();
        all.sort_by_key(|record| record.id);
        all
    }

    /// The ids of the jobs not yet in a final state.
    pub fn unfinished(&self) -> Vec<JobId> {
        let inner = self.lock();
        let mut ids: Vec<_> = inner
            .jobs
            .values()
            .filter(|record| !record.state.is_final())
            .map(|record| record.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// How many jobs are in `state`.
    pub fn count(&self, state: JobState) -> usize {
        self.lock()
            .jobs
            .values()
            .filter(|record| record.state == state)
            .count()
    }

    /// `Queued` → `Running`.
    pub fn start(&self, id: JobId) -> bool {
        self.moved(id, JobState::Running, |from| from == JobState::Queued)
    }

    /// `Running` → `Done`.
    pub fn finish(&self, id: JobId) -> bool {
        self.moved(id, JobState::Done, |from| from == JobState::Running)
    }

    /// `Queued` or `Running` → `Interrupted`.
    pub fn interrupt(&self, id: JobId) -> bool {
        self.moved(id, JobState::Interrupted, |from| !from.is_final())
    }

    /// Files a failure report: counts it, and moves the job to `Failed` (from anything but
    /// `Done`) with `error`.
    pub fn fail(&self, id: JobId, error: String) -> bool {
        let mut inner = self.lock();
        let Some(record) = inner.jobs.get_mut(&id) else {
            return false;
        };
        record.failure_reports += 1;
        if record.state == JobState::Done {
            return false;
        }
        let was_final = record.state.is_final();
        record.state = JobState::Failed;
        record.error = Some(error);
        if !was_final {
            self.ended(inner);
        }
        true
    }

    fn moved(&self, id: JobId, to: JobState, allowed: impl Fn(JobState) -> bool) -> bool {
        let mut inner = self.lock();
        match inner.jobs.get_mut(&id) {
            Some(record) if allowed(record.state) => {
                let was_final = record.state.is_final();
                record.state = to;
                if to.is_final() && !was_final {
                    self.ended(inner);
                }
                true
            }
            _ => false,
        }
    }

    fn ended(&self, mut inner: MutexGuard<'_, Inner>) {
        inner.unfinished -= 1;
        drop(inner);
        self.ended.notify_waiters();
    }
}
