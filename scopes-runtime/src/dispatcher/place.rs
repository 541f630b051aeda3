//! Which runtime serves `default()`, `io()` and their views: resolved where each coroutine is
//! launched (its *place*), not where the dispatcher value was made, so a dispatcher kept in a
//! `static`, in `GlobalScope` or in a struct works in whatever runtime uses it, also after the
//! runtime it was first used in is gone.
//!
//! The place is, in order: the runtime installed with `Dispatchers::install_default`; the
//! multi-thread tokio runtime the launch runs in (not a current-thread one: `default()` is for
//! work that must not hold up the caller's thread, and a current-thread runtime has only that
//! one; nor a main thread's); a multi-thread runtime of scopes' own, built on first use.
//! (Inside a `scopes::test` test the test's scheduler comes before all of them: `in_test.rs`.)
//!
//! `io()` and the views of `default()` and `io()` count their coroutines per place: each is a
//! [`Placed`], which keeps one `Limited` per runtime it ran on, until that runtime ends (a
//! parked task of ours on each runtime tells when: tokio drops it at shutdown).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::runtime::{Builder, Handle, Id, Runtime, RuntimeFlavor};

use super::limited::{Base, Limited};
use super::{Dispatcher, main_thread};
use crate::sync::lock_std as lock;

/// The process's runtime: installed, or built for a use outside any runtime.
static PROCESS: OnceLock<Handle> = OnceLock::new();
/// True if `PROCESS` was installed (it then serves everywhere).
static INSTALLED: AtomicBool = AtomicBool::new(false);
static BUILT: OnceLock<Runtime> = OnceLock::new();

/// The runtime that serves a launch here.
pub(super) fn place() -> Handle {
    ambient().unwrap_or_else(|| process().clone())
}

/// The runtime the caller runs in, if it serves `default()` here.
fn ambient() -> Option<Handle> {
    if INSTALLED.load(Ordering::Acquire) {
        return None;
    }
    let handle = Handle::try_current().ok()?;
    let serves = handle.runtime_flavor() == RuntimeFlavor::MultiThread
        && !main_thread::is_main_runtime(&handle);
    serves.then_some(handle)
}

/// The place's runtime, without building scopes' own for a question: `None` if that one
/// would serve and is not built yet.
pub(super) fn place_if_any() -> Option<Handle> {
    ambient().or_else(|| PROCESS.get().cloned())
}

/// The process's runtime, built on first use when nothing was installed.
pub(super) fn process() -> &'static Handle {
    PROCESS.get_or_init(|| {
        BUILT
            .get_or_init(|| {
                let workers = std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .max(2);
                Builder::new_multi_thread()
                    .worker_threads(workers)
                    .thread_name("scopes-default")
                    .enable_all()
                    .build()
                    .expect("scopes: cannot build the default runtime")
            })
            .handle()
            .clone()
    })
}

/// Installs `handle` as the process's runtime; false if one was installed or built already.
pub(super) fn install(handle: Handle) -> bool {
    let mut installed = false;
    PROCESS.get_or_init(|| {
        installed = true;
        handle
    });
    if installed {
        INSTALLED.store(true, Ordering::Release);
    }
    installed
}

/// True if `handle` is the process's runtime (installed or built).
pub(crate) fn is_process(handle: &Handle) -> bool {
    PROCESS.get().is_some_and(|p| p.id() == handle.id())
}

/// Set when a runtime has shut down: one parked task of ours per runtime, whose drop (tokio
/// drops every task at shutdown) sets it.
type Ended = Arc<AtomicBool>;

/// The `Ended` flag of `handle`'s runtime (made, with its task, on first use).
fn ended_flag(handle: &Handle) -> Ended {
    static FLAGS: Mutex<Vec<(Id, std::sync::Weak<AtomicBool>)>> = Mutex::new(Vec::new());
    let mut flags = lock(&FLAGS);
    flags.retain(|(_, flag)| flag.strong_count() > 0);
    if let Some(flag) = flags
        .iter()
        .find(|(runtime, _)| *runtime == handle.id())
        .and_then(|(_, flag)| flag.upgrade())
    {
        return flag;
    }
    let flag = Ended::default();
    flags.push((handle.id(), Arc::downgrade(&flag)));
    drop(flags);
    struct SetOnDrop(Ended);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Release);
        }
    }
    let guard = SetOnDrop(flag.clone());
    // A runtime shutting down drops it at once, which is right too.
    drop(handle.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    }));
    flag
}

/// `io()` or a view of a placed dispatcher: a limit, counted per place.
pub(super) struct Placed {
    pub(super) parallelism: usize,
    /// The dispatcher this is a view of; `None` for `io()`.
    pub(super) parent: Option<Dispatcher>,
    pub(super) name: String,
    /// One view per runtime it ran on, until that runtime ends.
    views: RwLock<Vec<PlacedView>>,
}

struct PlacedView {
    runtime: Id,
    view: Arc<Limited>,
    ended: Ended,
}

impl Placed {
    pub(super) fn new(parallelism: usize, parent: Option<Dispatcher>, name: String) -> Placed {
        Placed {
            parallelism,
            parent,
            name,
            views: RwLock::new(Vec::new()),
        }
    }

    /// The view that counts this dispatcher's coroutines on `handle`'s runtime.
    pub(super) fn on(&self, handle: &Handle) -> Arc<Limited> {
        let id = handle.id();
        let found = read(&self.views)
            .iter()
            .find(|v| v.runtime == id)
            .map(|v| v.view.clone());
        if let Some(view) = found {
            return view;
        }
        let ended = ended_flag(handle);
        let mut views = write(&self.views);
        // Views of runtimes that ended go (with their handles, which hold the runtime's
        // resources); a runtime never comes back.
        views.retain(|v| !v.ended.load(Ordering::Acquire));
        if let Some(v) = views.iter().find(|v| v.runtime == id) {
            return v.view.clone();
        }
        let view = Limited::new(self.base_on(handle), self.parallelism);
        views.push(PlacedView {
            runtime: id,
            view: view.clone(),
            ended,
        });
        view
    }

    /// Where the workers of this dispatcher's view on `handle` run: `io()` and views of it on
    /// the blocking pool (a view of `io()` has a count of its own), views of `default()` on the
    /// runtime, views of views on their parent's view there.
    fn base_on(&self, handle: &Handle) -> Base {
        match self.parent.as_ref().map(|p| &*p.inner) {
            None => Base::Blocking(handle.clone()),
            Some(super::Inner::Placed(parent)) if parent.parent.is_none() => {
                Base::Blocking(handle.clone())
            }
            Some(super::Inner::Placed(parent)) => Base::View(parent.on(handle)),
            _ => Base::Runtime(handle.clone()),
        }
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
