//! `Dispatchers::main()`: one thread that the program designates, as a UI toolkit's main thread.
//!
//! The main thread drives a current-thread tokio runtime; coroutines on `main()` are spawned
//! on it, so they all run on that one thread. A program designates its main thread with
//! [`run_main`], or starts one with [`MainThread::start`]; both are one per process. A
//! `scopes::test` test has a main of its own (its thread), whatever is installed, so tests run
//! in parallel. Using `main()` with none installed is an error that says how to install one.

use std::future::Future;
use std::sync::RwLock;
use std::thread::{self, ThreadId};

use tokio::runtime::{Builder, Handle};
use tokio::sync::oneshot;

use super::Dispatcher;

static MAIN: RwLock<Option<Dispatcher>> = RwLock::new(None);

pub(super) const NOT_INSTALLED: &str = "Dispatchers::main() is not installed: run the program's main \
loop with `scopes::run_main(future)` (or `#[scopes::main]`), or start one with \
`scopes::MainThread::start()`; in tests, `scopes::test::run_test` (feature `test-util`) gives each \
test a main of its own";

/// True if `handle` is the runtime of the installed main thread.
pub(super) fn is_main_runtime(handle: &Handle) -> bool {
    MAIN.read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .is_some_and(|main| match &*main.inner {
            // Read in place: this runs at every launch on `default()`.
            super::Inner::Main { handle: main, .. } => main.id() == handle.id(),
            _ => false,
        })
}

/// The installed main dispatcher, if any.
pub(super) fn installed() -> Option<Dispatcher> {
    MAIN.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn install(dispatcher: Option<Dispatcher>) -> Option<Dispatcher> {
    std::mem::replace(
        &mut *MAIN.write().unwrap_or_else(|p| p.into_inner()),
        dispatcher,
    )
}

/// Runs `future` to its end with the calling thread as the main thread: `Dispatchers::main()`
/// runs its coroutines here meanwhile. Coroutines still on `main()` when `future` ends are
/// cancelled.
///
/// ```
/// use scopes_runtime::{run_main, Dispatchers, with_context};
///
/// let on_main = run_main(async {
///     let main_thread = std::thread::current().id();
///     let same = with_context(Dispatchers::main(), async move { std::thread::current().id() == main_thread });
///     same.await.unwrap()
/// });
/// assert!(on_main);
/// ```
///
/// # Panics
///
/// If a main thread is installed already, or the runtime cannot be built.
pub fn run_main<F: Future>(future: F) -> F::Output {
    let runtime = Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("scopes: cannot build the main thread's runtime");
    let dispatcher = Dispatcher::main_for(runtime.handle().clone(), thread::current().id());
    let _installed = Installed::new(dispatcher);
    runtime.block_on(future)
}

/// Uninstalls the main dispatcher when dropped.
struct Installed;

impl Installed {
    fn new(dispatcher: Dispatcher) -> Installed {
        if let Some(previous) = install(Some(dispatcher)) {
            install(Some(previous));
            panic!("scopes: a main thread is installed already; there is only one");
        }
        Installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        install(None);
    }
}

/// A dedicated thread installed as the main thread, for tests and for programs whose real main
/// thread is busy elsewhere. Dropping it uninstalls it and stops the thread (coroutines still on
/// it are cancelled).
///
/// ```
/// use scopes_runtime::{MainThread, Dispatchers, CoroutineScope, Scope};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let main = MainThread::start();
/// let scope = Scope::new(Dispatchers::main());
/// let thread = scope.async_(async { std::thread::current().id() }).await.unwrap();
/// assert_eq!(thread, main.thread_id());
/// # }
/// ```
pub struct MainThread {
    thread_id: ThreadId,
    stop: Option<oneshot::Sender<()>>,
    join: Option<thread::JoinHandle<()>>,
    _installed: Installed,
}

impl MainThread {
    /// Starts the thread and installs it as `Dispatchers::main()`.
    ///
    /// # Panics
    ///
    /// If a main thread is installed already.
    pub fn start() -> MainThread {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<(Handle, ThreadId)>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let join = thread::Builder::new()
            .name("scopes-main".into())
            .spawn(move || {
                let runtime = Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("scopes: cannot build the main thread's runtime");
                ready_tx
                    .send((runtime.handle().clone(), thread::current().id()))
                    .unwrap();
                runtime.block_on(async {
                    let _ = stop_rx.await;
                });
            })
            .expect("scopes: cannot start the main thread");
        let (handle, thread_id) = ready_rx.recv().expect("the main thread started");
        MainThread {
            thread_id,
            stop: Some(stop_tx),
            join: Some(join),
            _installed: Installed::new(Dispatcher::main_for(handle, thread_id)),
        }
    }

    /// The id of the main thread.
    pub fn thread_id(&self) -> ThreadId {
        self.thread_id
    }
}

impl Drop for MainThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(join) = self.join.take() {
            let _ = join.join();
        }
    }
}

impl std::fmt::Debug for MainThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MainThread")
            .field("thread_id", &self.thread_id)
            .finish()
    }
}
