//! How a `scopes::test` test takes dispatchers over (feature `test-util`).
//!
//! Inside a test, a coroutine for any dispatcher scopes made runs on the test's scheduler:
//! `default()` and `io()` (the test's, the process's, another runtime's or another test's),
//! every `main()`, and every view of those (through a *twin*: a view on the test's scheduler
//! with the same limit, made on first use). Two stay real: a runtime handed in with
//! `from_handle` (other than the process default's and the test's own), and `unconfined()`,
//! which runs in place anyway. The dispatcher in the coroutine's context stays the one it
//! named, so names, hops and contracts read as in production; comparisons (`same_as`, and so
//! `serves`) go through `canonical`, so that the process's `io()` is the test's `io()`.

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
            Inner::Main { .. } => Some(Redirect::Queue),
            Inner::Unconfined => None,
            Inner::Limited { view, parent, .. } => {
                if is_on(view, test) {
                    return None;
                }
                let base = match parent {
                    // A root pool (`io()`).
                    None => Base::Test(test.clone()),
                    Some(parent) => match (view.base(), parent.in_test(test)?) {
                        // A view of a view is capped by its parent's twin.
                        (Base::View(_), Redirect::View(parent)) => Base::View(parent),
                        // A view of a runtime or of `io()` has a count of its own.
                        _ => Base::Test(test.clone()),
                    },
                };
                Some(Redirect::View(test.twin(view, base)))
            }
        }
    }

    /// The dispatcher of `test` that this one stands for in comparisons: its `default()` for
    /// any `default()` (and the runtimes it takes over), its `main()` for any `main()`, its
    /// `io()` for any `io()`; views and the rest are themselves.
    pub(super) fn canonical_in_test(&self, test: &Arc<TestScheduler>) -> Cow<'_, Dispatcher> {
        match &*self.inner {
            Inner::Runtime { .. } if self.in_test(test).is_some() => Cow::Owned(test.default()),
            Inner::Main {
                immediate_of: None, ..
            } => Cow::Owned(test.main()),
            Inner::Limited { parent: None, .. } => Cow::Owned(test.io()),
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
