//! A subscriber of a shared flow: a `Stream` that takes the values from its index on, and
//! takes several at once while it is not the slowest (`TAKE_AHEAD`).

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::Stream;

use super::{After, Shared};
use crate::sync::lock_std as lock;

/// A subscriber of a [`SharedFlow`](super::SharedFlow): see
/// [`MutableSharedFlow::subscribe`](super::MutableSharedFlow::subscribe).
#[must_use = "a subscription does nothing unless polled (it counts as a subscriber meanwhile)"]
pub struct SharedSubscription<T> {
    shared: Arc<Shared<T>>,
    key: Option<usize>,
    /// Values taken ahead, at most `TAKE_AHEAD`: a subscriber that is not the slowest frees no
    /// room by taking, so it may take several values under one lock without changing what any
    /// emitter or overflow rule sees (drops only ever touch values before the slowest one).
    ahead: VecDeque<T>,
}

// Values are moved in and out, never pinned.
impl<T> Unpin for SharedSubscription<T> {}

impl<T> SharedSubscription<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, key: usize) -> Self {
        SharedSubscription {
            shared,
            key: Some(key),
            ahead: VecDeque::new(),
        }
    }
}

/// How many values a subscriber that is not the slowest takes under one lock.
const TAKE_AHEAD: u64 = 16;

impl<T: Clone + Send + 'static> Stream for SharedSubscription<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let Some(key) = self.key else {
            return Poll::Ready(None);
        };
        if let Some(value) = self.ahead.pop_front() {
            return Poll::Ready(Some(value));
        }
        let shared = self.shared.clone();
        let mut after = After::new();
        let mut ahead = VecDeque::new();
        let poll = {
            let mut guard = lock(&shared.state);
            let state = &mut *guard;
            let live = state.handles > 0;
            let subscriber = state
                .subscribers
                .get_mut(key)
                .expect("a subscription's slot lives until it is dropped");
            let index = subscriber.index;
            // Its own values taken ahead are delivered (this poll found none left): the flow
            // counts it where it is now, which may free room (and let emitters in).
            let counted_at = subscriber.at();
            subscriber.pending = 0;
            if counted_at != index {
                state.moved_on(counted_at);
                shared.trim_locked(state, &mut after);
            }
            let (tail, head) = (state.tail(), state.head);
            let subscriber = state
                .subscribers
                .get_mut(key)
                .expect("a subscription's slot lives until it is dropped");
            let slowest = state.slowest.is_none_or(|slowest| index <= slowest);
            if index < tail && !slowest {
                // Not the slowest: take what is there, up to `TAKE_AHEAD`, with one lock.
                let end = tail.min(index + TAKE_AHEAD);
                let from = (index - head) as usize;
                let to = (end - head) as usize;
                ahead.extend(state.buffer.range(from..to).cloned());
                subscriber.index = end;
                subscriber.pending = end - index - 1;
                Poll::Ready(ahead.pop_front())
            } else if index < tail {
                let value = state.buffer[(index - head) as usize].clone();
                subscriber.index += 1;
                state.moved_on(index);
                shared.trim_locked(state, &mut after);
                Poll::Ready(Some(value))
            } else if shared.capacity == 0 && index == tail && !state.emitters.is_empty() {
                let value = state.emitters[0].value.clone();
                subscriber.index += 1;
                state.moved_on(index);
                shared.complete_rendezvous_locked(state, &mut after);
                Poll::Ready(Some(value))
            } else if !live {
                Poll::Ready(None)
            } else {
                subscriber.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        };
        after.run();
        self.ahead = ahead;
        if let Poll::Ready(None) = poll {
            self.end();
        }
        poll
    }
}

impl<T> SharedSubscription<T> {
    fn end(&mut self) {
        let Some(key) = self.key.take() else {
            return;
        };
        let mut after = After::new();
        {
            let mut state = lock(&self.shared.state);
            state.subscribers.remove(key);
            state.rescan_slowest();
            let count = state.subscribers.len();
            state.count.set_value(count);
            // What it held back may go, and waiting emitters may get in (or, at a
            // rendezvous it was the last to hold, complete).
            self.shared.trim_locked(&mut state, &mut after);
            self.shared
                .complete_rendezvous_locked(&mut state, &mut after);
            state.wake_subscribers(&mut after);
        }
        after.run();
    }
}

impl<T> Drop for SharedSubscription<T> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<T> fmt::Debug for SharedSubscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedSubscription")
            .field("ended", &self.key.is_none())
            .finish()
    }
}
