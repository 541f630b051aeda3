//! How a `scopes::test` test takes dispatchers over (feature `test-util`).
//!
//! Inside a test, a coroutine for any dispatcher scopes made runs on the test's scheduler:
//! `default()` and `io()` straight on its ready queue (so that seeds reorder them as freely as
//! anything), every `main()` too, and every view (through a *twin*: a view on the test's
//! scheduler with the same limit and order, made on first use). Two stay real: a runtime handed
//! in with `from_handle` (other than the process's and the test's own), and `unconfined()`,
//! which runs in place anyway. The dispatcher in the coroutine's context stays the one it
//! named, so names, hops and contracts read as in production; `same_as` maps any `main()` to
//! the test's (`canonical_in_test`).

use std::borrow::Cow;
use std::sync::Arc;

use super::limited::{Base, Limited};
use super::{Dispatcher, Inner, is_process_default};
use crate::test::TestScheduler;

/// Where a coroutine for a dispatcher runs inside a test.
pub(crate) enum Redirect {
    /// The test's ready queue.
    Queue,
    /// A view of the test (which queues its workers there).
    View(Arc<Limited>),
}

impl Dispatcher {
    /// Where a coroutine for this dispatcher runs inside `test`; `None`: where it would
    /// anyway (a runtime of the user's, `unconfined()`, a view already on this test).
    pub(crate) fn in_test(&self, test: &Arc<TestScheduler>) -> Option<Redirect> {
        match &*self.inner {
            Inner::Runtime { handle, name } => {
                (name.is_some() || handle.id() == test.handle().id() || is_process_default(handle))
                    .then_some(Redirect::Queue)
            }
            Inner::Default | Inner::Main { .. } => Some(Redirect::Queue),
            Inner::Placed(placed) => match &placed.parent {
                // `io()`: its limit is moot on one thread.
                None => Some(Redirect::Queue),
                Some(parent) => {
                    let base = match parent.in_test(test)? {
                        // A view of a view is capped by its parent's twin.
                        Redirect::View(parent) => Base::View(parent),
                        // A view of `default()` or `io()` has a count of its own.
                        Redirect::Queue => Base::Test(test.clone()),
                    };
                    Some(Redirect::View(test.twin(self, base, placed.parallelism)))
                }
            },
            Inner::Unconfined => None,
            Inner::Limited { view, parent, .. } => {
                if is_on(view, test) {
                    return None;
                }
                let base = match (view.base(), parent.as_ref()?.in_test(test)?) {
                    (Base::View(_), Redirect::View(parent)) => Base::View(parent),
                    _ => Base::Test(test.clone()),
                };
                Some(Redirect::View(test.twin(self, base, view.parallelism())))
            }
        }
    }

    /// The dispatcher of `test` that this one stands for in comparisons: its `main()` for any
    /// `main()` (one made in another test, or a real one kept from before); the rest are
    /// themselves (`default()` is the test's wherever it was made).
    pub(super) fn canonical_in_test(&self, test: &Arc<TestScheduler>) -> Cow<'_, Dispatcher> {
        match &*self.inner {
            Inner::Main {
                immediate_of: None, ..
            } => Cow::Owned(test.main()),
            _ => Cow::Borrowed(self),
        }
    }
}

/// True if `view` runs on `test`'s scheduler (through its parents, for a view of a view).
fn is_on(view: &Limited, test: &Arc<TestScheduler>) -> bool {
    match view.base() {
        Base::Test(scheduler) => Arc::ptr_eq(scheduler, test),
        Base::View(parent) => is_on(parent, test),
        Base::Runtime(_) | Base::Blocking(_) => false,
    }
}
