//! The future of `MutableSharedFlow::emit`: it tries to emit, else waits in the flow's FIFO of
//! emitters with its value, and takes the value back if dropped while it waits.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::{After, Emitter, Shared};
use crate::sync::lock_std as lock;

/// The future of [`MutableSharedFlow::emit`](super::MutableSharedFlow::emit).
#[must_use = "an emit does nothing unless awaited"]
pub struct Emit<T> {
    shared: Arc<Shared<T>>,
    phase: EmitPhase<T>,
}

// The value is moved in and out, never pinned.
impl<T> Unpin for Emit<T> {}

impl<T> Emit<T> {
    pub(super) fn new(shared: Arc<Shared<T>>, value: T) -> Self {
        Emit {
            shared,
            phase: EmitPhase::Start(Some(value)),
        }
    }
}

enum EmitPhase<T> {
    /// Not polled yet: the value is still here.
    Start(Option<T>),
    /// Waiting in the flow's queue of emitters, with this id.
    Queued(u64),
    Done,
}

impl<T: Clone + Send + 'static> Future for Emit<T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let mut after = After::new();
        let poll = {
            let mut state = lock(&this.shared.state);
            match &mut this.phase {
                EmitPhase::Start(value) => {
                    let value = value.take().expect("a started emit holds its value");
                    match this.shared.try_emit_locked(&mut state, value, &mut after) {
                        Ok(()) => {
                            this.phase = EmitPhase::Done;
                            Poll::Ready(())
                        }
                        Err(value) => {
                            let id = state.next_emitter;
                            state.next_emitter += 1;
                            state.emitters.push_back(Emitter {
                                id,
                                value,
                                waker: Some(cx.waker().clone()),
                            });
                            // A rendezvous value is there for the taking.
                            state.wake_subscribers(&mut after);
                            this.phase = EmitPhase::Queued(id);
                            Poll::Pending
                        }
                    }
                }
                EmitPhase::Queued(id) => {
                    let id = *id;
                    match state.emitters.iter_mut().find(|e| e.id == id) {
                        Some(emitter) => {
                            emitter.waker = Some(cx.waker().clone());
                            Poll::Pending
                        }
                        // Delivered: it left the queue.
                        None => {
                            this.phase = EmitPhase::Done;
                            Poll::Ready(())
                        }
                    }
                }
                EmitPhase::Done => Poll::Ready(()),
            }
        };
        after.run();
        poll
    }
}

impl<T> Drop for Emit<T> {
    fn drop(&mut self) {
        let EmitPhase::Queued(id) = self.phase else {
            return;
        };
        // Cancelled while waiting: the value leaves the queue. At a rendezvous, the
        // subscribers that took it already go back for the next emitter's value, and are woken
        // for it: nothing else would wake them.
        let mut after = After::new();
        {
            let mut state = lock(&self.shared.state);
            let Some(position) = state.emitters.iter().position(|e| e.id == id) else {
                return;
            };
            after
                .dropped
                .extend(state.emitters.remove(position).map(|e| e.value));
            if position == 0 && self.shared.capacity == 0 {
                let tail = state.tail();
                for subscriber in state.subscribers.iter_mut() {
                    // (A rendezvous has no buffer: nobody took anything ahead.)
                    subscriber.index = subscriber.index.min(tail);
                    subscriber.pending = 0;
                }
                state.rescan_slowest();
                state.wake_subscribers(&mut after);
            }
        }
        after.run();
    }
}

impl<T> fmt::Debug for Emit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match self.phase {
            EmitPhase::Start(_) => "start",
            EmitPhase::Queued(_) => "waiting",
            EmitPhase::Done => "done",
        };
        f.debug_struct("Emit").field("phase", &phase).finish()
    }
}
