//! The timers of `delay`, `with_timeout` and deadlines: tokio's `Sleep`, which a test registers as
//! pending foreground work so that `advance_until_idle` knows to wait for it (see
//! `test/scheduler.rs`). Outside tests (and without `test-util`) it is the `Sleep` alone.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tokio::time::Sleep;

pin_project! {
    pub(crate) struct Timer {
        #[pin]
        sleep: Sleep,
        registration: Registration,
    }
}

impl Timer {
    pub(crate) fn after(duration: Duration) -> Timer {
        Timer::of(tokio::time::sleep(duration))
    }

    /// A timer that fires at `deadline`.
    pub(crate) fn at(deadline: tokio::time::Instant) -> Timer {
        Timer::of(tokio::time::sleep_until(deadline))
    }

    fn of(sleep: Sleep) -> Timer {
        let registration = Registration::new(&sleep);
        Timer {
            sleep,
            registration,
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // tokio fires a sleep whose deadline has passed (a zero `delay`, grace or timeout) only
        // at its driver's next tick, up to a millisecond away; it is due now.
        let fired = if this.sleep.deadline() <= tokio::time::Instant::now() {
            Poll::Ready(())
        } else {
            this.sleep.poll(cx)
        };
        if fired.is_ready() {
            this.registration.clear();
        }
        fired
    }
}

/// A timer's entry in its test's list of pending foreground timers; removed when the timer
/// fires or is dropped.
#[cfg(feature = "test-util")]
struct Registration(
    Option<(
        std::sync::Arc<crate::test::TestScheduler>,
        tokio::time::Instant,
        u64,
    )>,
);

#[cfg(feature = "test-util")]
impl Registration {
    fn new(sleep: &Sleep) -> Registration {
        let Some(test) = crate::test::scheduler::current() else {
            return Registration(None);
        };
        if crate::test::in_background() {
            return Registration(None);
        }
        let deadline = sleep.deadline();
        let key = test.register_timer(deadline);
        Registration(Some((test, deadline, key)))
    }

    fn clear(&mut self) {
        if let Some((test, deadline, key)) = self.0.take() {
            test.deregister_timer(deadline, key);
        }
    }
}

#[cfg(feature = "test-util")]
impl Drop for Registration {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(not(feature = "test-util"))]
struct Registration;

#[cfg(not(feature = "test-util"))]
impl Registration {
    fn new(_: &Sleep) -> Registration {
        Registration
    }

    fn clear(&mut self) {}
}
