//! The channel behind a rendezvous and a conflated [`produce`](super::produce), where tokio's
//! `mpsc` has no like: a queue under a mutex, the receiver's waker, and a FIFO of waiting
//! senders (each with its value), as the shared flow's emitters.
//!
//! States: `Open`, then `Closed` once the producer ended (its error kept for the receiver,
//! given once) or once the receiver is gone (`receiver_gone`). A waiting sender is in
//! `senders` with its value until the receiver takes the value (a rendezvous) or it enters the
//! queue; the sender's future then finds it taken and removes its entry. Lock order: this
//! channel's mutex only; wakers are woken after it is released.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use super::{Capacity, SendError, TrySendError};
use crate::error::CoroutineError;
use crate::sync::lock_std as lock;

pub(super) struct Channel<T> {
    capacity: Capacity,
    state: Mutex<ChannelState<T>>,
}

struct ChannelState<T> {
    queue: VecDeque<T>,
    /// Senders waiting, in order, with their values.
    senders: VecDeque<WaitingSender<T>>,
    next_sender: u64,
    end: End,
    receiver: Option<Waker>,
    receiver_gone: bool,
}

struct WaitingSender<T> {
    id: u64,
    /// `None` once the receiver took it (a rendezvous) or it entered the queue.
    value: Option<T>,
    waker: Option<Waker>,
}

enum End {
    Open,
    /// The producer ended: normally, or with this error (given to the receiver once).
    Closed(Option<CoroutineError>),
}

impl<T> ChannelState<T> {
    fn refuses(&self) -> bool {
        self.receiver_gone || matches!(self.end, End::Closed(_))
    }
}

impl<T> Channel<T> {
    /// A channel for `Rendezvous` (a limit of 0) or `Conflated`.
    pub(super) fn new(capacity: Capacity) -> Self {
        Channel {
            capacity,
            state: Mutex::new(ChannelState {
                queue: VecDeque::new(),
                senders: VecDeque::new(),
                next_sender: 0,
                end: End::Open,
                receiver: None,
                receiver_gone: false,
            }),
        }
    }

    pub(super) fn close(&self, error: Option<CoroutineError>) {
        let wake: Vec<Waker> = {
            let mut state = lock(&self.state);
            state.end = End::Closed(error);
            // Senders still waiting (clones held elsewhere) get their values back when woken.
            let state = &mut *state;
            let senders = state.senders.iter_mut().filter_map(|s| s.waker.take());
            senders.chain(state.receiver.take()).collect()
        };
        crate::user::wake_all(wake);
    }

    fn limit(&self) -> Option<usize> {
        match self.capacity {
            Capacity::Rendezvous => Some(0),
            Capacity::Buffered(n) => Some(n),
            Capacity::Conflated | Capacity::Unlimited => None,
        }
    }

    /// Moves waiting senders' values into the queue while it has room; their wakers to wake.
    fn admit_locked(&self, state: &mut ChannelState<T>, wake: &mut Vec<Waker>) {
        let Some(limit) = self.limit() else { return };
        for sender in state.senders.iter_mut() {
            if state.queue.len() >= limit {
                break;
            }
            if let Some(value) = sender.value.take() {
                state.queue.push_back(value);
                wake.extend(sender.waker.take());
            }
        }
        state.senders.retain(|s| s.value.is_some());
    }

    pub(super) fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let mut wake = None;
        // A conflated value replaced: the user's, dropped after the lock.
        let mut replaced = None;
        let result = {
            let mut state = lock(&self.state);
            if state.refuses() {
                Err(TrySendError::Closed(value))
            } else {
                match self.capacity {
                    Capacity::Conflated => {
                        replaced = state.queue.pop_front();
                        state.queue.push_back(value);
                        wake = state.receiver.take();
                        Ok(())
                    }
                    Capacity::Unlimited => {
                        state.queue.push_back(value);
                        wake = state.receiver.take();
                        Ok(())
                    }
                    _ => {
                        let limit = self.limit().unwrap_or(0);
                        // A rendezvous hands its value to a receiver that waits for one.
                        let room = state.queue.len() < limit
                            || (state.queue.is_empty() && state.receiver.is_some());
                        if state.senders.is_empty() && room {
                            state.queue.push_back(value);
                            wake = state.receiver.take();
                            Ok(())
                        } else {
                            Err(TrySendError::Full(value))
                        }
                    }
                }
            }
        };
        drop(replaced);
        crate::user::wake_all(wake);
        result
    }

    pub(super) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<T, CoroutineError>>> {
        let mut wake = Vec::new();
        let poll = {
            let mut state = lock(&self.state);
            if let Some(value) = state.queue.pop_front() {
                self.admit_locked(&mut state, &mut wake);
                Poll::Ready(Some(Ok(value)))
            } else if let Some(waiting) = state.senders.iter_mut().find(|s| s.value.is_some()) {
                // A rendezvous: take the first waiting sender's value.
                let value = waiting.value.take().expect("checked");
                wake.extend(waiting.waker.take());
                Poll::Ready(Some(Ok(value)))
            } else {
                match &mut state.end {
                    End::Closed(error) => Poll::Ready(error.take().map(Err)),
                    End::Open => {
                        state.receiver = Some(cx.waker().clone());
                        Poll::Pending
                    }
                }
            }
        };
        crate::user::wake_all(wake);
        poll
    }

    /// The receiver is gone: wakes the waiting senders (their values come back to them), then
    /// drops what the receiver did not take (user values: a panicking drop comes last).
    pub(super) fn receiver_dropped(&self) {
        let (queue, wakers) = {
            let mut state = lock(&self.state);
            state.receiver_gone = true;
            let queue = std::mem::take(&mut state.queue);
            let wakers: Vec<Waker> = state
                .senders
                .iter_mut()
                .filter_map(|s| s.waker.take())
                .collect();
            (queue, wakers)
        };
        crate::user::wake_all(wakers);
        drop(queue);
    }
}

/// A send on a [`Channel`]: waits while the channel is full (for a rendezvous, until the
/// receiver took its value). Dropping it while it waits takes the value back.
pub(super) struct OwnSend<'a, T> {
    channel: &'a Channel<T>,
    phase: SendPhase<T>,
}

// The value is moved in and out, never pinned.
impl<T> Unpin for OwnSend<'_, T> {}

enum SendPhase<T> {
    Start(Option<T>),
    Waiting(u64),
    Done,
}

impl<'a, T> OwnSend<'a, T> {
    pub(super) fn new(channel: &'a Channel<T>, value: T) -> Self {
        OwnSend {
            channel,
            phase: SendPhase::Start(Some(value)),
        }
    }
}

impl<T> Future for OwnSend<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.phase {
            SendPhase::Start(value) => {
                let value = value.take().expect("a started send holds its value");
                match this.channel.try_send(value) {
                    Ok(()) => {
                        this.phase = SendPhase::Done;
                        Poll::Ready(Ok(()))
                    }
                    Err(TrySendError::Closed(value)) => {
                        this.phase = SendPhase::Done;
                        Poll::Ready(Err(SendError(value)))
                    }
                    Err(TrySendError::Full(value)) => {
                        let mut state = lock(&this.channel.state);
                        if state.refuses() {
                            this.phase = SendPhase::Done;
                            return Poll::Ready(Err(SendError(value)));
                        }
                        let id = state.next_sender;
                        state.next_sender += 1;
                        state.senders.push_back(WaitingSender {
                            id,
                            value: Some(value),
                            waker: Some(cx.waker().clone()),
                        });
                        // A rendezvous value is there for the taking.
                        let receiver = state.receiver.take();
                        drop(state);
                        crate::user::wake_all(receiver);
                        this.phase = SendPhase::Waiting(id);
                        Poll::Pending
                    }
                }
            }
            SendPhase::Waiting(id) => {
                let id = *id;
                let mut state = lock(&this.channel.state);
                let gone = state.refuses();
                match state.senders.iter_mut().find(|s| s.id == id) {
                    Some(waiting) if waiting.value.is_some() => {
                        if gone {
                            let value = waiting.value.take().expect("checked");
                            state.senders.retain(|s| s.id != id);
                            this.phase = SendPhase::Done;
                            return Poll::Ready(Err(SendError(value)));
                        }
                        waiting.waker = Some(cx.waker().clone());
                        Poll::Pending
                    }
                    // Taken by the receiver, or let into the queue.
                    _ => {
                        state.senders.retain(|s| s.id != id);
                        this.phase = SendPhase::Done;
                        Poll::Ready(Ok(()))
                    }
                }
            }
            SendPhase::Done => panic!("a send polled after it returned"),
        }
    }
}

impl<T> Drop for OwnSend<'_, T> {
    fn drop(&mut self) {
        let SendPhase::Waiting(id) = self.phase else {
            return;
        };
        let removed = {
            let mut state = lock(&self.channel.state);
            let position = state.senders.iter().position(|s| s.id == id);
            position.and_then(|p| state.senders.remove(p))
        };
        drop(removed);
    }
}
