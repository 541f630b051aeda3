//! Dispatchers: which threads run a coroutine.
//!
//! The table of dispatchers, which runtime serves `default()` and `io()`, and contracts: in
//! the guide's chapter *Dispatchers* (`scopes::guide::dispatchers`).

#[cfg(feature = "test-util")]
mod in_test;
pub(crate) mod limited;
#[cfg(all(test, scopes_loom))]
mod loom_tests;
mod main_thread;
mod place;
pub(crate) mod task;
mod unconfined;

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::thread::ThreadId;

use tokio::runtime::{Handle, RuntimeFlavor};

use crate::context::{ContextElement, CoroutineContext};
use limited::{Base, Limited};
pub use main_thread::{MainThread, run_main};
use place::Placed;
#[cfg(feature = "test-util")]
pub(crate) use place::is_process as is_process_default;

/// Decides which threads run a coroutine. Cheap to clone; clones are the same dispatcher.
///
/// ```
/// use scopes_runtime::Dispatchers;
///
/// let view = Dispatchers::io().limited_parallelism(50);
/// assert_eq!(view.to_string(), "Dispatchers.IO.limitedParallelism(50)");
/// assert!(view.serves(&Dispatchers::io()));
/// assert!(!Dispatchers::io().serves(&view));
/// ```
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

enum Inner {
    /// A runtime of the user's (`from_handle`), or the process's own.
    Runtime {
        handle: Handle,
        name: Option<&'static str>,
    },
    /// `default()`: the runtime of the place each coroutine is launched from (`place.rs`).
    Default,
    /// `io()` and the views of `default()` and `io()`: a limit counted per place.
    Placed(Placed),
    Limited {
        view: Arc<Limited>,
        /// The dispatcher this is a view of (`None` for `io()`, the root of the blocking pool).
        parent: Option<Dispatcher>,
        name: String,
    },
    Unconfined,
    Main {
        handle: Handle,
        thread: ThreadId,
        /// For `main_immediate()`: the plain main dispatcher it is a variant of.
        immediate_of: Option<Dispatcher>,
    },
}

/// The dispatchers.
///
/// ```
/// use scopes_runtime::{CoroutineScope, Dispatchers, Scope, with_context};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// // A scope whose coroutines do blocking work, at most 4 at once.
/// let files = Scope::new(Dispatchers::io().limited_parallelism(4));
/// let size = files.async_(async { std::fs::read("Cargo.toml").map(|b| b.len()) });
/// assert!(size.await.unwrap() > 0);
/// // A hop for one piece of CPU work.
/// let sum = with_context(Dispatchers::default(), async { (1..=100u32).sum::<u32>() });
/// assert_eq!(sum.await.unwrap(), 5050);
/// # }
/// ```
#[derive(Debug)]
pub struct Dispatchers(());

static DEFAULT: OnceLock<Dispatcher> = OnceLock::new();
static IO: OnceLock<Dispatcher> = OnceLock::new();
static UNCONFINED: OnceLock<Dispatcher> = OnceLock::new();

/// The environment variable that sets how many `io()` coroutines run at once.
pub const IO_PARALLELISM_ENV: &str = "SCOPES_IO_PARALLELISM";

impl Dispatchers {
    /// For CPU work. Which runtime serves it:
    ///
    /// 1. the runtime installed with [`install_default`](Self::install_default), if any;
    /// 2. else the multi-thread tokio runtime the coroutine is launched from (a `#[tokio::main]`
    ///    program's own, so no second runtime is built behind its back), unless that is a main
    ///    thread's runtime;
    /// 3. else (outside any runtime, on a current-thread runtime, whose one thread CPU work
    ///    would hold up, or on a main thread) a multi-thread runtime of scopes' own (the core
    ///    count, at least 2 workers), built on first use.
    ///
    /// Inside a [`scopes::test`] test, the test's scheduler. The runtime is chosen
    /// at each launch, not when the dispatcher is made: a `default()` kept in a `static` or a
    /// struct works in whatever runtime uses it.
    // Kotlin's name, which DESIGN.md keeps: `Dispatchers` is a namespace, not a value.
    #[cfg_attr(feature = "test-util", doc = "", doc = "[`scopes::test`]: crate::test")]
    #[cfg_attr(
        not(feature = "test-util"),
        doc = "",
        doc = "[`scopes::test`]: https://docs.rs/scopes/latest/scopes/test/index.html"
    )]
    #[allow(clippy::should_implement_trait)]
    pub fn default() -> Dispatcher {
        DEFAULT
            .get_or_init(|| Dispatcher {
                inner: Arc::new(Inner::Default),
            })
            .clone()
    }

    /// Makes `handle`'s runtime the one behind `default()` and `io()` everywhere, also inside
    /// other runtimes, for the rest of the process. Call it before `default()` or `io()` is
    /// first used outside any runtime (a `#[tokio::main]` program does not need it: its runtime
    /// serves them already). Not for tests: a test's runtime ends with it, and each
    /// `#[tokio::test]` (or `scopes::test` test) serves its own coroutines anyway.
    ///
    /// # Errors
    ///
    /// If a runtime was installed already, or scopes built its own for a use outside any
    /// runtime.
    pub fn install_default(handle: Handle) -> Result<(), DispatcherError> {
        if place::install(handle) {
            Ok(())
        } else {
            Err(DispatcherError(
                "Dispatchers::install_default: the default dispatcher is in use already; install \
                 your runtime before the first use of `default()` or `io()` outside a runtime"
                    .into(),
            ))
        }
    }

    /// For blocking work (files, blocking clients, `std::thread::sleep`): the blocking pool of
    /// the runtime that serves [`default()`](Self::default) where a coroutine is launched, at
    /// most 64 (or the core count, if larger) coroutines at once on each runtime; the
    /// environment variable `SCOPES_IO_PARALLELISM` sets another limit.
    ///
    /// A `SCOPES_IO_PARALLELISM` that is not a positive integer is reported on stderr (and as a
    /// `tracing` warning with that feature) at the first use, and the default limit is used.
    pub fn io() -> Dispatcher {
        IO.get_or_init(|| Dispatcher {
            inner: Arc::new(Inner::Placed(Placed::new(
                io_parallelism(),
                None,
                "Dispatchers.IO".into(),
            ))),
        })
        .clone()
    }

    /// Runs a coroutine in place: in the thread that starts it until its first suspension, then
    /// in whatever thread wakes it. For code that must not hop, such as tests of ordering; not
    /// for general use.
    pub fn unconfined() -> Dispatcher {
        UNCONFINED
            .get_or_init(|| Dispatcher {
                inner: Arc::new(Inner::Unconfined),
            })
            .clone()
    }

    /// The main thread: see [`run_main`] and [`MainThread`].
    ///
    /// # Panics
    ///
    /// If no main thread is installed; the message says how to install one. Use
    /// [`try_main`](Self::try_main) to ask.
    pub fn main() -> Dispatcher {
        Self::try_main().expect(main_thread::NOT_INSTALLED)
    }

    /// The main thread, or an error that says how to install one.
    pub fn try_main() -> Result<Dispatcher, DispatcherError> {
        #[cfg(feature = "test-util")]
        if let Some(test) = crate::test::scheduler::current() {
            return Ok(test.main());
        }
        main_thread::installed().ok_or_else(|| DispatcherError(main_thread::NOT_INSTALLED.into()))
    }

    /// The main thread, running a coroutine in place when it is started from the main thread
    /// itself (no dispatch), and dispatching otherwise.
    ///
    /// # Panics
    ///
    /// If no main thread is installed.
    pub fn main_immediate() -> Dispatcher {
        let main = Self::main();
        match &*main.inner {
            Inner::Main { handle, thread, .. } => Dispatcher {
                inner: Arc::new(Inner::Main {
                    handle: handle.clone(),
                    thread: *thread,
                    immediate_of: Some(main.clone()),
                }),
            },
            _ => unreachable!("the main dispatcher is a Main"),
        }
    }

    /// A tokio runtime of yours as a dispatcher: coroutines on it are spawned on `handle`,
    /// wherever they are launched from.
    pub fn from_handle(handle: Handle) -> Dispatcher {
        let name = place::is_process(&handle).then_some("Dispatchers.Default");
        Dispatcher::runtime(handle, name)
    }
}

/// io's limit: `SCOPES_IO_PARALLELISM`, else 64 or the core count if larger. A malformed value
/// is reported on stderr and the default used: a typo in the environment must not take the
/// program down at its first blocking call.
pub(crate) fn io_parallelism() -> usize {
    static PARALLELISM: OnceLock<usize> = OnceLock::new();
    *PARALLELISM.get_or_init(read_io_parallelism)
}

fn read_io_parallelism() -> usize {
    let default = || {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .max(64)
    };
    match std::env::var(IO_PARALLELISM_ENV) {
        Ok(value) => match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                let n = default();
                eprintln!(
                    "scopes: {IO_PARALLELISM_ENV} must be a positive integer, but it is {value:?}; using {n}"
                );
                #[cfg(feature = "tracing")]
                tracing::warn!(value = %value, using = n, "scopes: malformed {IO_PARALLELISM_ENV}");
                n
            }
        },
        Err(_) => default(),
    }
}

#[cfg(feature = "test-util")]
pub(crate) use in_test::Redirect;

impl Dispatcher {
    pub(crate) fn runtime(handle: Handle, name: Option<&'static str>) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner::Runtime { handle, name }),
        }
    }

    pub(crate) fn main_for(handle: Handle, thread: ThreadId) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner::Main {
                handle,
                thread,
                immediate_of: None,
            }),
        }
    }

    /// A view of this dispatcher that never runs more than `parallelism` of its coroutines at
    /// once, on this dispatcher's threads. A view of `io()` is not capped by io's limit; a view
    /// of `default()` is capped by default's threads; a view of a view by both. Views are cheap;
    /// each call makes a new one with its own count.
    ///
    /// ```
    /// use scopes_runtime::Dispatchers;
    ///
    /// let writers = Dispatchers::io().limited_parallelism(4);
    /// assert_eq!(writers.parallelism(), Some(4));
    /// ```
    ///
    /// # Panics
    ///
    /// If `parallelism` is 0, or for `Dispatchers::unconfined()`, which runs coroutines wherever
    /// they are woken and so cannot be limited.
    pub fn limited_parallelism(&self, parallelism: usize) -> Dispatcher {
        assert!(
            parallelism > 0,
            "{self}.limited_parallelism(0): the parallelism must be at least 1"
        );
        let name = format!("{self}.limitedParallelism({parallelism})");
        let view = match &*self.inner {
            Inner::Runtime { handle, .. } => {
                Limited::new(Base::Runtime(handle.clone()), parallelism)
            }
            // A view of `io()` has a count of its own; a view of a view is capped by both.
            Inner::Placed(placed)
                if placed.parent.is_some() && parallelism >= placed.parallelism =>
            {
                return self.clone();
            }
            Inner::Default | Inner::Placed(_) => {
                return Dispatcher {
                    inner: Arc::new(Inner::Placed(Placed::new(
                        parallelism,
                        Some(self.clone()),
                        name,
                    ))),
                };
            }
            Inner::Limited { view, .. } if parallelism >= view.parallelism() => {
                return self.clone();
            }
            Inner::Limited { view, .. } => Limited::new(Base::View(view.clone()), parallelism),
            // One thread is at most `parallelism` already.
            Inner::Main { .. } => return self.clone(),
            Inner::Unconfined => panic!(
                "Dispatchers.Unconfined.limited_parallelism({parallelism}): the unconfined dispatcher \
                 runs coroutines wherever they are woken and cannot be limited; limit a view of \
                 `Dispatchers::default()` or `Dispatchers::io()` instead"
            ),
        };
        Dispatcher {
            inner: Arc::new(Inner::Limited {
                view,
                parent: Some(self.clone()),
                name,
            }),
        }
    }

    /// How many of its coroutines this dispatcher runs at once, where it sets a limit itself
    /// (views and `io()`; 1 for `main()`).
    pub fn parallelism(&self) -> Option<usize> {
        match &*self.inner {
            Inner::Limited { view, .. } => Some(view.parallelism()),
            Inner::Placed(placed) => Some(placed.parallelism),
            Inner::Main { .. } => Some(1),
            Inner::Runtime { .. } | Inner::Default | Inner::Unconfined => None,
        }
    }

    /// True if code running on `self` satisfies a requirement for `required`: they are the
    /// same dispatcher (see [`same_as`](Self::same_as)), or `self` is a view (of a view...) of
    /// `required`. `main_immediate()` serves `main()`.
    pub fn serves(&self, required: &Dispatcher) -> bool {
        let mut current = Some(self);
        while let Some(d) = current {
            if d.same_as(required) {
                return true;
            }
            current = d.logical_parent();
        }
        false
    }

    fn logical_parent(&self) -> Option<&Dispatcher> {
        match &*self.inner {
            Inner::Limited { parent, .. } => parent.as_ref(),
            Inner::Placed(placed) => placed.parent.as_ref(),
            Inner::Main { immediate_of, .. } => immediate_of.as_ref(),
            Inner::Runtime { .. } | Inner::Default | Inner::Unconfined => None,
        }
    }

    /// The dispatcher's identity, as a map key.
    #[cfg(feature = "test-util")]
    pub(crate) fn address(&self) -> usize {
        Arc::as_ptr(&self.inner) as *const () as usize
    }

    /// True if both are the same dispatcher (the same value).
    pub fn ptr_eq(&self, other: &Dispatcher) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// True if both run coroutines in the same place: the same dispatcher, or two runtime
    /// dispatchers of one tokio runtime (say `from_handle(h)` and the `default()` installed
    /// with `h`).
    ///
    /// Inside a `scopes::test` test, any `default()`, `io()` or `main()` is the test's own.
    pub fn same_as(&self, other: &Dispatcher) -> bool {
        #[cfg(feature = "test-util")]
        if let Some(test) = crate::test::scheduler::current() {
            let (a, b) = (
                self.canonical_in_test(&test),
                other.canonical_in_test(&test),
            );
            return a.same_in_production(&b);
        }
        self.same_in_production(other)
    }

    fn same_in_production(&self, other: &Dispatcher) -> bool {
        match (&*self.inner, &*other.inner) {
            (Inner::Runtime { handle: a, .. }, Inner::Runtime { handle: b, .. }) => {
                a.id() == b.id()
            }
            // `default()` is the runtime that serves here.
            (Inner::Default, Inner::Runtime { handle, .. })
            | (Inner::Runtime { handle, .. }, Inner::Default) => {
                place::place_if_any().is_some_and(|place| place.id() == handle.id())
            }
            _ => self.ptr_eq(other),
        }
    }

    /// The tokio runtime whose context this dispatcher's coroutines run in, when launched from
    /// here (for `default()`, `io()` and their views, the runtime that serves here; for
    /// `unconfined()`, the current runtime, else the default one).
    pub fn handle(&self) -> Handle {
        match &*self.inner {
            Inner::Runtime { handle, .. } | Inner::Main { handle, .. } => handle.clone(),
            Inner::Limited { view, .. } => view.handle().clone(),
            Inner::Default | Inner::Placed(_) => place::place(),
            Inner::Unconfined => Handle::try_current().unwrap_or_else(|_| place::place()),
        }
    }

    /// True for `main_immediate()` on the main thread: a coroutine started here runs in place
    /// until its first suspension, and `with_context` does not hop. (`unconfined()` runs in
    /// place by its own scheduler.)
    pub(crate) fn runs_in_place_here(&self) -> bool {
        matches!(&*self.inner, Inner::Main { thread, immediate_of: Some(_), .. } if *thread == std::thread::current().id())
    }

    /// True if a scoped body that names this dispatcher must run elsewhere than on `current`:
    /// not for the same dispatcher, nor for `unconfined()` and `main_immediate()` on the main
    /// thread, which run in place.
    pub(crate) fn needs_hop_from(&self, current: Option<&Dispatcher>) -> bool {
        let in_place = matches!(&*self.inner, Inner::Unconfined) || self.runs_in_place_here();
        !in_place && !current.is_some_and(|c| c.same_as(self))
    }

    /// True if a coroutine here that wakes itself is queued behind every other ready one (our
    /// own schedulers, a current-thread runtime): `yield_now` then wakes itself. A multi-thread
    /// runtime would run it again at once (its LIFO slot), so there `yield_now` is tokio's.
    pub(crate) fn queues_self_wakes_last(&self) -> bool {
        match &*self.inner {
            Inner::Limited { .. } | Inner::Placed(_) | Inner::Unconfined | Inner::Main { .. } => {
                true
            }
            Inner::Runtime { handle, .. } => {
                handle.runtime_flavor() == RuntimeFlavor::CurrentThread
            }
            // Multi-thread, unless a current-thread runtime was installed.
            Inner::Default => place::place_if_any()
                .is_some_and(|place| place.runtime_flavor() == RuntimeFlavor::CurrentThread),
        }
    }

    /// Runs a coroutine's task here; `name` names its tokio task (see [`task_name`]).
    pub(crate) fn spawn_named<F: Future<Output = ()> + Send + 'static>(
        &self,
        task: F,
        name: Option<&str>,
    ) {
        #[cfg(all(tokio_unstable, feature = "tracing"))]
        if let Some(name) = name {
            let handle = match &*self.inner {
                Inner::Runtime { handle, .. } | Inner::Main { handle, .. } => Some(handle.clone()),
                Inner::Default => Some(place::place()),
                _ => None,
            };
            #[cfg(feature = "test-util")]
            let handle = handle.filter(|_| crate::test::scheduler::current().is_none());
            if let Some(handle) = handle {
                // Never an error for a future (tokio's `Builder::spawn_on`).
                let spawned = tokio::task::Builder::new()
                    .name(name)
                    .spawn_on(task, &handle);
                drop(spawned);
                return;
            }
        }
        let _ = name;
        self.spawn(task)
    }

    /// Runs a coroutine's task here.
    pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(&self, task: F) {
        #[cfg(feature = "test-util")]
        if let Some(test) = crate::test::scheduler::current() {
            match self.in_test(&test) {
                Some(Redirect::Queue) => return test.spawn(Box::pin(task)),
                Some(Redirect::View(view)) => return view.spawn(Box::pin(task)),
                None => {}
            }
        }
        match &*self.inner {
            Inner::Runtime { handle, .. } | Inner::Main { handle, .. } => drop(handle.spawn(task)),
            Inner::Default => drop(place::place().spawn(task)),
            Inner::Placed(placed) => placed.on(&place::place()).spawn(Box::pin(task)),
            Inner::Limited { view, .. } => view.spawn(Box::pin(task)),
            Inner::Unconfined => unconfined::spawn(Box::pin(task), self.handle()),
        }
    }
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Dispatcher {
    /// Kotlin's names: `Dispatchers.Default`, `Dispatchers.IO.limitedParallelism(50)`,
    /// `Dispatchers.Main.immediate`; `TokioRuntime(multi_thread)` for a runtime of yours.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.inner {
            Inner::Runtime {
                name: Some(name), ..
            } => f.write_str(name),
            Inner::Runtime { handle, name: None } => match handle.runtime_flavor() {
                RuntimeFlavor::CurrentThread => f.write_str("TokioRuntime(current_thread)"),
                RuntimeFlavor::MultiThread => f.write_str("TokioRuntime(multi_thread)"),
                _ => f.write_str("TokioRuntime"),
            },
            Inner::Limited { name, .. } => f.write_str(name),
            Inner::Placed(placed) => f.write_str(&placed.name),
            Inner::Default => f.write_str("Dispatchers.Default"),
            Inner::Unconfined => f.write_str("Dispatchers.Unconfined"),
            Inner::Main {
                immediate_of: None, ..
            } => f.write_str("Dispatchers.Main"),
            Inner::Main { .. } => f.write_str("Dispatchers.Main.immediate"),
        }
    }
}

impl ContextElement for Dispatcher {}
crate::__context_add!(Dispatcher);

/// A dispatcher misuse: a contract not met, `main()` not installed, a default installed too
/// late. The message names what was expected and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatcherError(String);

impl fmt::Display for DispatcherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DispatcherError {}

/// The dispatcher of the running coroutine; `None` outside coroutines (or in a context without
/// one).
///
/// ```
/// use scopes_runtime::{Dispatchers, current_dispatcher, with_context};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let on = with_context(Dispatchers::io(), async { current_dispatcher() }).await.unwrap();
/// assert!(on.unwrap().same_as(&Dispatchers::io()));
/// assert!(current_dispatcher().is_none(), "outside coroutines");
/// # }
/// ```
pub fn current_dispatcher() -> Option<Dispatcher> {
    crate::frame::with_current(|f| {
        f.and_then(|f| f.job().bare_context().get::<Dispatcher>().cloned())
    })
}

/// Checks that the running coroutine is on `required` or on a view of it.
///
/// ```
/// use scopes_runtime::{require_dispatcher, with_context, Dispatchers};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let on_view = with_context(Dispatchers::io().limited_parallelism(50), async {
///     require_dispatcher(&Dispatchers::io())
/// });
/// assert!(on_view.await.is_ok());
///
/// let on_default = with_context(Dispatchers::default(), async { require_dispatcher(&Dispatchers::io()) });
/// let err = on_default.await.unwrap_err();
/// assert_eq!(err.to_string(), "expected Dispatchers.IO, but running on Dispatchers.Default");
/// # }
/// ```
///
/// # Errors
///
/// If the coroutine runs elsewhere, or outside any coroutine; the message names the expected
/// and the actual dispatcher.
pub fn require_dispatcher(required: &Dispatcher) -> Result<(), DispatcherError> {
    match current_dispatcher() {
        Some(actual) if actual.serves(required) => Ok(()),
        Some(actual) => Err(DispatcherError(format!(
            "expected {required}, but running on {actual}"
        ))),
        None => Err(DispatcherError(format!(
            "expected {required}, but running outside any coroutine's dispatcher"
        ))),
    }
}

/// The name of a coroutine's tokio task, under `--cfg tokio_unstable` with the `tracing`
/// feature (tokio's task builder exists only then): its `CoroutineName`, else `coroutine`, and
/// its id, as tokio-console shows it. `None` otherwise, at no cost.
#[inline]
pub(crate) fn task_name(context: &CoroutineContext) -> Option<String> {
    #[cfg(all(tokio_unstable, feature = "tracing"))]
    {
        use crate::context::CoroutineName;
        use crate::debug::CoroutineId;
        let name = context.get::<CoroutineName>();
        let id = context.get::<CoroutineId>();
        Some(match (name, id) {
            (Some(name), Some(id)) => format!("{name}#{}", id.0),
            (Some(name), None) => name.to_string(),
            (None, Some(id)) => format!("coroutine#{}", id.0),
            (None, None) => "coroutine".to_owned(),
        })
    }
    #[cfg(not(all(tokio_unstable, feature = "tracing")))]
    {
        let _ = context;
        None
    }
}

/// The dispatcher a coroutine with `context` runs on: the context's (borrowed: a launch clones
/// nothing), else the current tokio runtime, else `default()`.
pub(crate) fn dispatcher_for(context: &CoroutineContext) -> Cow<'_, Dispatcher> {
    match context.get::<Dispatcher>() {
        Some(dispatcher) => Cow::Borrowed(dispatcher),
        None => Cow::Owned(match Handle::try_current() {
            Ok(handle) => Dispatchers::from_handle(handle),
            Err(_) => Dispatchers::default(),
        }),
    }
}
