//! The effect queue: how transitions of one job reach the others without recursion, and how
//! user code they trigger runs as if called from outside.
//!
//! A transition changes one job under its lock and leaves what the rest of the tree must do as
//! [`Effect`]s (cancel this child, tell that parent, finalize that job). User code a transition
//! triggers (an exception handler, completion handlers, and the joiners' wake-ups that must come
//! after them) is a [`Callback`]. Both go into this thread's queue:
//!
//! ```text
//!   mode      what a schedule() does           who runs what
//!   Idle      runs the queue now               effects until none is left, then one callback,
//!                                              then effects again, ... (the outer drain)
//!   Draining  only queues                      the outer drain, further up this stack
//!   Callback  runs the effects now (nested),   the nested drain runs effects only; callbacks
//!             returns when the tree settled    wait for the outer drain
//! ```
//!
//! So a callback runs with no transition half-done, and a `cancel()` inside a handler returns
//! with the cancellation spread through the tree, as it would from outside. The stack stays
//! flat: effects never recurse, and callbacks never nest in callbacks.
//!
//! User code (handlers, reports, wakers, drops) catches its own panics where it runs. A drain
//! runs inside a `catch_unwind` as well, so that even a panic of ours is reported and the drain
//! goes on with the rest of the queue: nothing strands a tree half-cancelled.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::task::Waker;

use super::{Link, Listener};
use crate::context::CoroutineContext;
use crate::error::CoroutineError;
use crate::user;

/// What a transition asks of the tree once the job's lock is released.
pub(super) enum Effect {
    Cancel(Link, CoroutineError),
    ChildFailed { parent: Link, error: CoroutineError },
    Finalize(Link),
}

impl Effect {
    fn run(self) {
        match self {
            Effect::Cancel(job, cause) => job.cancel_with_error(cause),
            Effect::ChildFailed { parent, error } => {
                let _handled = parent.child_failed(&error);
            }
            Effect::Finalize(job) => job.try_finalize(),
        }
    }
}

/// User code a transition triggered, run once the tree has settled.
pub(super) enum Callback {
    /// Give a failure nobody above took to its owner (the exception handler, or the
    /// `Deferred`), then make the job final: the handler has run before anyone sees it final.
    Report(Link, CoroutineError),
    /// Run a final job's completion handlers, then wake its joiners.
    Notify {
        job: Link,
        listeners: Vec<Listener>,
        waiter: Option<Waker>,
        final_error: Option<CoroutineError>,
    },
}

impl Callback {
    fn run(self) {
        match self {
            Callback::Report(job, error) => job.report_and_end(&error),
            Callback::Notify {
                job,
                listeners,
                waiter,
                final_error,
            } => job.notify(listeners, waiter, final_error.as_ref()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Idle,
    Draining,
    Callback,
}

struct Queue {
    effects: RefCell<VecDeque<Effect>>,
    callbacks: RefCell<VecDeque<Callback>>,
    mode: Cell<Mode>,
}

impl Queue {
    const fn new() -> Queue {
        Queue {
            effects: RefCell::new(VecDeque::new()),
            callbacks: RefCell::new(VecDeque::new()),
            mode: Cell::new(Mode::Idle),
        }
    }
}

#[cfg(not(scopes_loom))]
thread_local! {
    /// This thread's queue. It keeps its capacity between drains: completing a coroutine
    /// allocates nothing here.
    static QUEUE: Queue = const { Queue::new() };
}

#[cfg(scopes_loom)]
loom::thread_local! {
    static QUEUE: Queue = Queue::new();
}

/// Runs `effects`, and everything they cause, before returning (unless a drain further up this
/// thread's stack will).
pub(super) fn schedule(effects: impl IntoIterator<Item = Effect>) {
    // One thread-local access to queue them and to learn the mode.
    let mut effects = Some(effects);
    let mode = QUEUE.try_with(|q| {
        q.effects
            .borrow_mut()
            .extend(effects.take().expect("called once"));
        q.mode.get()
    });
    match mode {
        Ok(mode) => run_for(mode),
        Err(_) => {
            for effect in effects.take().expect("not queued") {
                run_effect(effect);
            }
        }
    }
}

/// Adds effects to this thread's queue without running them: for a transition that has many
/// (one per child) and writes them straight in, under its job's lock. `add` must do nothing
/// else. [`drain`] runs them.
pub(super) fn enqueue(add: impl FnOnce(&mut VecDeque<Effect>)) {
    let mut add = Some(add);
    let queued =
        QUEUE.try_with(|q| (add.take().expect("called once"))(&mut q.effects.borrow_mut()));
    if queued.is_err() {
        let mut here = VecDeque::new();
        (add.take().expect("not called: the queue was gone"))(&mut here);
        for effect in here {
            run_effect(effect);
        }
    }
}

/// Runs the queued effects, unless a drain further up this thread's stack is doing it.
pub(super) fn drain() {
    // No queue (the thread is exiting): `enqueue` ran the effects already.
    if let Ok(mode) = QUEUE.try_with(|q| q.mode.get()) {
        run_for(mode);
    }
}

/// Queues user code to run once the tree has settled (now, if nothing is draining).
pub(super) fn defer(callback: Callback) {
    let mut callback = Some(callback);
    let mode = QUEUE.try_with(|q| {
        q.callbacks
            .borrow_mut()
            .push_back(callback.take().expect("called once"));
        q.mode.get()
    });
    match mode {
        Ok(Mode::Idle) => run_all(),
        Ok(_) => {}
        // The thread is exiting: run it in place.
        Err(_) => run_callback(callback.take().expect("not queued")),
    }
}

fn run_for(mode: Mode) {
    match mode {
        Mode::Idle => run_all(),
        Mode::Draining => {}
        Mode::Callback => run_nested(),
    }
}

/// Sets the mode back when a drain ends (also on an unwind, which the `catch_unwind` around each
/// drain should make impossible).
struct SetMode(Mode);

impl Drop for SetMode {
    fn drop(&mut self) {
        let _ = QUEUE.try_with(|q| q.mode.set(self.0));
    }
}

/// The outer drain: effects until none is left, then one callback, and again.
fn run_all() {
    QUEUE.with(|q| q.mode.set(Mode::Draining));
    let _idle = SetMode(Mode::Idle);
    // One `catch_unwind` per drain, not per effect: after a panic the rest is still queued, and
    // the drain goes on with it.
    while let Err(panic) = user::call(drain_all) {
        QUEUE.with(|q| q.mode.set(Mode::Draining));
        report_panic(&panic);
    }
}

fn drain_all() {
    loop {
        while let Some(effect) = QUEUE.with(|q| q.effects.borrow_mut().pop_front()) {
            effect.run();
        }
        let Some(callback) = QUEUE.with(|q| q.callbacks.borrow_mut().pop_front()) else {
            return;
        };
        QUEUE.with(|q| q.mode.set(Mode::Callback));
        callback.run();
        QUEUE.with(|q| q.mode.set(Mode::Draining));
    }
}

/// A drain started by a callback: the effects only; callbacks wait for the outer drain.
fn run_nested() {
    QUEUE.with(|q| q.mode.set(Mode::Draining));
    let _back = SetMode(Mode::Callback);
    while let Err(panic) = user::call(drain_effects) {
        report_panic(&panic);
    }
}

fn drain_effects() {
    while let Some(effect) = QUEUE.with(|q| q.effects.borrow_mut().pop_front()) {
        effect.run();
    }
}

/// Runs one effect in place (the thread's queue is gone), catching a panic.
fn run_effect(effect: Effect) {
    user::call_handler(CoroutineContext::new, ESCAPED, None, || effect.run());
}

fn run_callback(callback: Callback) {
    user::call_handler(CoroutineContext::new, ESCAPED, None, || callback.run());
}

/// What a panic that escaped an effect or a callback is reported as. User code (handlers,
/// reports, wakers, drops) is caught where it runs, so this would be a bug of ours.
const ESCAPED: &str = "a panic escaped while the job tree was being updated";

fn report_panic(panic: &CoroutineError) {
    crate::exception::report_handler_failure(&CoroutineContext::new(), ESCAPED, panic, None);
}
