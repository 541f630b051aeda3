//! A job service on axum (issue 13): `POST /jobs` stores a job and launches its processing,
//! `GET /jobs/{id}` reports its state, and a shutdown (Ctrl-C, or `POST /shutdown`) stops
//! taking jobs, lets the running ones finish for a grace period, interrupts the rest (each runs
//! an async cleanup that marks it `interrupted`), then stops the server.
//!
//! Two engines run the jobs behind the same HTTP layer and store, to compare them:
//! [`ScopesEngine`] (a supervisor scope, an exception handler, `scope.shutdown(grace)`) and
//! [`TokioEngine`] (`CancellationToken` + `TaskTracker` + `Semaphore`).
//!
//! ```no_run
//! use jobs_service::{App, Config, serve};
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let app = App::new(Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! let summary = serve(listener, app, jobs_service::ctrl_c()).await?;
//! println!("{summary}");
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub mod client;
mod scoped;
pub mod store;
mod tracked;

pub use scoped::ScopesEngine;
pub use store::{JobId, JobRecord, JobRequest, JobState, Store};
pub use tracked::TokioEngine;

/// Which engine runs the jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineKind {
    /// [`ScopesEngine`].
    #[default]
    Scopes,
    /// [`TokioEngine`].
    Tokio,
}

impl EngineKind {
    /// `"scopes"` or `"tokio"`.
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Scopes => "scopes",
            EngineKind::Tokio => "tokio",
        }
    }
}

/// The service's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Which engine runs the jobs.
    pub engine: EngineKind,
    /// The limit: `limited_parallelism(n)` for scopes, `Semaphore::new(n)` for tokio.
    pub parallelism: usize,
    /// A job's simulated work, unless its request says otherwise.
    pub work: Duration,
    /// How long a shutdown lets running jobs finish before it interrupts them.
    pub grace: Duration,
}

impl Default for Config {
    /// Scopes, 50 at once, 200 ms of work, 2 s of grace.
    fn default() -> Self {
        Config {
            engine: EngineKind::Scopes,
            parallelism: 50,
            work: Duration::from_millis(200),
            grace: Duration::from_secs(2),
        }
    }
}

/// A job's failure (its request asked for it).
#[derive(Debug)]
pub struct JobError(String);

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for JobError {}

/// The end of a job's simulated work: an error or a panic if its request asked for one.
pub(crate) fn end_of_work(request: &JobRequest) -> Result<(), JobError> {
    if request.panic {
        panic!("job asked to panic (payload {:?})", request.payload);
    }
    if request.fail {
        return Err(JobError(format!(
            "job asked to fail (payload {:?})",
            request.payload
        )));
    }
    Ok(())
}

/// What a shutdown did to the jobs that were unfinished when it began (`POST /shutdown`'s
/// answer, and what [`serve`] returns).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShutdownSummary {
    /// `"scopes"` or `"tokio"`.
    pub engine: String,
    /// The jobs the engine counted: finished in the grace period.
    pub finished: usize,
    /// Failed (their failure was reported).
    pub failed: usize,
    /// Interrupted.
    pub cancelled: usize,
    /// The names of the interrupted ones (`job-{id}`).
    pub cancelled_names: Vec<String>,
    /// True if none had to be interrupted.
    pub drained: bool,
    /// How many jobs of the store were not final when the shutdown began.
    pub unfinished_at_start: usize,
    /// How long the engine's shutdown took, in microseconds.
    pub elapsed_us: u64,
}

impl fmt::Display for ShutdownSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} shutdown in {:.1} ms: {} finished, {} failed, {} interrupted (of {} unfinished); drained: {}",
            self.engine,
            self.elapsed_us as f64 / 1000.0,
            self.finished,
            self.failed,
            self.cancelled,
            self.unfinished_at_start,
            self.drained
        )
    }
}

#[derive(Debug)]
enum Engine {
    Scopes(ScopesEngine),
    Tokio(TokioEngine),
}

/// Where the service is. `Serving` → `ShuttingDown` (new jobs refused with 503, the engine
/// shuts down) → `Stopped` (the summary is out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Serving,
    ShuttingDown,
    Stopped,
}

/// The service: its store, its engine and where it is. Cheap to clone (shared).
#[derive(Clone, Debug)]
pub struct App {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    store: Store,
    engine: Engine,
    phase: watch::Sender<Phase>,
    summary: watch::Sender<Option<ShutdownSummary>>,
}

/// `submit` refused the job: the service is shutting down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused;

impl App {
    /// A service with an empty store. Needs a tokio runtime (multi-thread) to run jobs.
    pub fn new(config: Config) -> Self {
        let store = Store::new();
        let engine = match config.engine {
            EngineKind::Scopes => {
                Engine::Scopes(ScopesEngine::new(store.clone(), config.parallelism))
            }
            EngineKind::Tokio => Engine::Tokio(TokioEngine::new(store.clone(), config.parallelism)),
        };
        App {
            inner: Arc::new(Inner {
                config,
                store,
                engine,
                phase: watch::Sender::new(Phase::Serving),
                summary: watch::Sender::new(None),
            }),
        }
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Stores a job and launches its processing, unless the service is shutting down.
    pub fn submit(&self, request: JobRequest) -> Result<JobId, Refused> {
        // Held while launching: a shutdown (which takes it for writing) begins either before
        // the job is stored or after it is launched, so it never misses a job.
        let phase = self.inner.phase.borrow();
        if *phase != Phase::Serving {
            return Err(Refused);
        }
        let id = self.inner.store.insert(request.clone());
        let work = self.inner.config.work;
        match &self.inner.engine {
            Engine::Scopes(engine) => engine.launch(id, request, work),
            Engine::Tokio(engine) => engine.launch(id, request, work),
        }
        drop(phase);
        Ok(id)
    }

    /// True once a shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        *self.inner.phase.borrow() != Phase::Serving
    }

    /// Waits until a shutdown begins.
    pub async fn shutdown_started(&self) {
        let mut phase = self.inner.phase.subscribe();
        // The sender lives as long as `self`: this cannot fail.
        let _ = phase.wait_for(|phase| *phase != Phase::Serving).await;
    }

    /// Shuts the service's jobs down (the first call does it, later ones wait for the same
    /// summary): new jobs are refused, running ones get the grace period, the rest are
    /// interrupted and their cleanup awaited. The work runs in a task of its own, so dropping
    /// this future does not stop it halfway. Must be called in a tokio runtime.
    pub async fn shutdown(&self) -> ShutdownSummary {
        let first = self.inner.phase.send_if_modified(|phase| {
            let first = *phase == Phase::Serving;
            if first {
                *phase = Phase::ShuttingDown;
            }
            first
        });
        if first {
            let app = self.clone();
            tokio::spawn(async move { app.run_shutdown().await });
        }
        let mut summary = self.inner.summary.subscribe();
        let summary = summary.wait_for(Option::is_some).await;
        summary
            .ok()
            .and_then(|summary| summary.clone())
            .expect("the sender lives in `self`")
    }

    async fn run_shutdown(&self) {
        let (config, store) = (&self.inner.config, &self.inner.store);
        let unfinished_at_start = store.unfinished().len();
        let started = Instant::now();
        let mut summary = match &self.inner.engine {
            Engine::Scopes(engine) => engine.shutdown(config.grace).await,
            Engine::Tokio(engine) => engine.shutdown(config.grace).await,
        };
        // Every job has ended by now; the last completion handlers may still be filing their
        // job's state (they run as a job ends, not before its joiners return).
        store.settled().await;
        summary.elapsed_us = started.elapsed().as_micros() as u64;
        summary.engine = config.engine.name().to_owned();
        summary.unfinished_at_start = unfinished_at_start;
        eprintln!("{summary}");
        self.inner.summary.send_replace(Some(summary));
        self.inner.phase.send_replace(Phase::Stopped);
    }

    /// The routes: `POST /jobs`, `GET /jobs/{id}`, `POST /shutdown`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/jobs", post(post_job))
            .route("/jobs/{id}", get(get_job))
            .route("/shutdown", post(post_shutdown))
            .with_state(self.clone())
    }
}

/// `POST /jobs`: 202 with `{"id": n}`, or 503 once the shutdown has begun.
async fn post_job(State(app): State<App>, Json(request): Json<JobRequest>) -> Response {
    match app.submit(request) {
        Ok(id) => (StatusCode::ACCEPTED, Json(json!({ "id": id }))).into_response(),
        Err(Refused) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "shutting down" })),
        )
            .into_response(),
    }
}

/// `GET /jobs/{id}`: the job's record, or 404.
async fn get_job(State(app): State<App>, Path(id): Path<JobId>) -> Response {
    match app.store().get(id) {
        Some(record) => Json(record).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({ "error": "no such job" })),
        )
            .into_response(),
    }
}

/// `POST /shutdown`: shuts down and answers with the summary (the server then stops).
async fn post_shutdown(State(app): State<App>) -> Json<ShutdownSummary> {
    Json(app.shutdown().await)
}

/// Serves `app` on `listener` until `signal` resolves or `POST /shutdown` comes; then shuts the
/// jobs down (answering GETs, and 503 to new jobs, meanwhile), stops accepting connections,
/// finishes the requests in progress, and returns the summary.
pub async fn serve(
    listener: TcpListener,
    app: App,
    signal: impl Future<Output = ()> + Send + 'static,
) -> io::Result<ShutdownSummary> {
    let stop = {
        let app = app.clone();
        async move {
            tokio::select! {
                () = signal => {}
                () = app.shutdown_started() => {}
            }
            app.shutdown().await;
        }
    };
    axum::serve(listener, app.router())
        .with_graceful_shutdown(stop)
        .await?;
    Ok(app.shutdown().await)
}

/// Ctrl-C as a shutdown signal (never resolves if the handler cannot be installed).
pub async fn ctrl_c() {
    if let Err(error) = tokio::signal::ctrl_c().await {
        eprintln!("cannot listen for Ctrl-C ({error}); use POST /shutdown");
        std::future::pending::<()>().await;
    }
}
