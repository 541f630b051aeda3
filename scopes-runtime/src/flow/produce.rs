//! `produce`: a child coroutine that sends values into a channel, read as a `Stream`.
//!
//! kotlinx's `produce` with Rust's ownership: the producer is a child coroutine of the scope;
//! dropping the receiving stream cancels it (kotlinx needs an explicit `cancel()` or
//! `consume`); its failure is the stream's last item (`Err`) and, as for any child, its
//! scope's failure too.
//!
//! # Why our own channel
//!
//! tokio's `mpsc` has no rendezvous (its least capacity is one) and no conflation, and a
//! closed tokio channel cannot carry the producer's error to the receiver. The channel here
//! is a queue under a mutex, the receiver's waker, and a FIFO of waiting senders (each with
//! its value), as the shared flow's emitters.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::Stream;

use crate::coroutine::{Coroutine, CoroutineStart};
use crate::error::{CoroutineError, LaunchResult};
use crate::job::Job;
use crate::scope::CoroutineScope;
use crate::sync::lock_std as lock;

/// How many values a channel holds before a sender waits (kotlinx's channel capacities).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// None: each send waits until the receiver took its value (kotlinx's `RENDEZVOUS`).
    Rendezvous,
    /// Up to `n` values (`BUFFERED` is 64 in kotlinx: [`Capacity::BUFFERED`]).
    Buffered(usize),
    /// The latest value only: a send never waits and replaces what the receiver has not
    /// taken (`CONFLATED`).
    Conflated,
    /// Any number: a send never waits (`UNLIMITED`).
    Unlimited,
}

impl Capacity {
    /// kotlinx's default buffered capacity.
    pub const BUFFERED: Capacity = Capacity::Buffered(64);
}

/// Launches `body` as a child coroutine of `scope` that sends values through the
/// [`ChannelSender`] it is given; returns the receiving end as a `Stream` of
/// `Result<T, CoroutineError>`: the values, then the producer's failure (or cancellation) as
/// a last `Err` item, or the end of the stream when the producer returned normally.
///
/// Dropping the stream cancels the producer (its cleanup runs). A failure of the producer is
/// also its scope's failure, as any child's.
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::{CoroutineScope, Scope};
/// use scopes_runtime::flow::{Capacity, produce};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// let squares = produce(&scope, Capacity::Rendezvous, |tx| async move {
///     for n in 1..=3u32 {
///         tx.send(n * n).await?;
///     }
///     Ok::<(), scopes_runtime::CoroutineError>(())
/// });
/// let got: Vec<u32> = squares.map(Result::unwrap).collect().await;
/// assert_eq!(got, [1, 4, 9]);
/// # }
/// ```
pub fn produce<T, F, Fut>(scope: &impl CoroutineScope, capacity: Capacity, body: F) -> Produced<T>
where
    T: Send + 'static,
    F: FnOnce(ChannelSender<T>) -> Fut + Send + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: LaunchResult,
{
    if let Capacity::Buffered(0) = capacity {
        return produce(scope, Capacity::Rendezvous, body);
    }
    let channel = Arc::new(Channel {
        capacity,
        state: Mutex::new(ChannelState {
            queue: VecDeque::new(),
            senders: VecDeque::new(),
            next_sender: 0,
            end: End::Open,
            receiver: None,
            receiver_gone: false,
        }),
    });
    let sender = ChannelSender {
        channel: channel.clone(),
    };
    let producer: Coroutine = scope.launch_with((), CoroutineStart::Default, body(sender));
    let closing = channel.clone();
    // However the producer ends (its body's result, a panic, a cancellation), after its
    // children: the receiver then sees the values and how it ended.
    let handle = producer.job().invoke_on_completion(move |error| {
        closing.close(error.cloned());
    });
    drop(handle);
    Produced {
        channel,
        producer: producer.job().clone(),
    }
}

struct Channel<T> {
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

impl<T> Channel<T> {
    fn close(&self, error: Option<CoroutineError>) {
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
}

/// The sending end given to a [`produce`] body. Cheap to clone.
pub struct ChannelSender<T> {
    channel: Arc<Channel<T>>,
}

impl<T> Clone for ChannelSender<T> {
    fn clone(&self) -> Self {
        ChannelSender {
            channel: self.channel.clone(),
        }
    }
}

/// The receiver is gone (the stream was dropped): the value comes back.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the receiving stream is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

impl<T> From<SendError<T>> for CoroutineError {
    fn from(_: SendError<T>) -> Self {
        CoroutineError::cancelled("the receiving stream is gone", None)
    }
}

impl<T: Send + 'static> ChannelSender<T> {
    /// Sends `value`, waiting while the channel is full (for a rendezvous, until the receiver
    /// took it). Dropping the future while it waits takes the value back.
    ///
    /// # Errors
    ///
    /// If the receiving stream is gone; `?` on it ends the producer as cancelled (it is being
    /// cancelled anyway).
    pub fn send(&self, value: T) -> Sending<T> {
        Sending {
            channel: self.channel.clone(),
            phase: SendPhase::Start(Some(value)),
        }
    }

    /// Sends `value` if that needs no wait.
    ///
    /// # Errors
    ///
    /// The value back, if the channel is full or the receiver is gone.
    pub fn try_send(&self, value: T) -> Result<(), SendError<T>> {
        let mut wake = None;
        // A conflated value replaced: the user's, dropped after the lock.
        let mut replaced = None;
        let result = {
            let mut state = lock(&self.channel.state);
            if state.receiver_gone || matches!(state.end, End::Closed(_)) {
                Err(SendError(value))
            } else {
                match self.channel.capacity {
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
                        let limit = self.channel.limit().unwrap_or(0);
                        if state.senders.is_empty() && state.queue.len() < limit {
                            state.queue.push_back(value);
                            wake = state.receiver.take();
                            Ok(())
                        } else {
                            Err(SendError(value))
                        }
                    }
                }
            }
        };
        drop(replaced);
        crate::user::wake_all(wake);
        result
    }
}

/// The future of [`ChannelSender::send`].
#[must_use = "a send does nothing unless awaited"]
pub struct Sending<T> {
    channel: Arc<Channel<T>>,
    phase: SendPhase<T>,
}

// The value is moved in and out, never pinned.
impl<T> Unpin for Sending<T> {}

enum SendPhase<T> {
    Start(Option<T>),
    Waiting(u64),
    Done,
}

impl<T: Send + 'static> Future for Sending<T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.phase {
            SendPhase::Start(value) => {
                let value = value.take().expect("a started send holds its value");
                let sender = ChannelSender {
                    channel: this.channel.clone(),
                };
                match sender.try_send(value) {
                    Ok(()) => {
                        this.phase = SendPhase::Done;
                        Poll::Ready(Ok(()))
                    }
                    Err(SendError(value)) => {
                        let mut state = lock(&this.channel.state);
                        if state.receiver_gone || matches!(state.end, End::Closed(_)) {
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
                let gone = state.receiver_gone || matches!(state.end, End::Closed(_));
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

impl<T> Drop for Sending<T> {
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

impl<T> fmt::Debug for Sending<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sending").finish_non_exhaustive()
    }
}

/// The receiving stream of [`produce`]: the producer's values as `Ok`, then its failure as a
/// last `Err` (or the end). Dropping it cancels the producer.
#[must_use = "dropping the stream cancels the producer"]
pub struct Produced<T> {
    channel: Arc<Channel<T>>,
    producer: Job,
}

impl<T> Produced<T> {
    /// The producer's job (to cancel it, or join it).
    pub fn producer(&self) -> &Job {
        &self.producer
    }
}

impl<T: Send + 'static> Stream for Produced<T> {
    type Item = Result<T, CoroutineError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut wake = Vec::new();
        let poll = {
            let mut state = lock(&self.channel.state);
            if let Some(value) = state.queue.pop_front() {
                self.channel.admit_locked(&mut state, &mut wake);
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
}

impl<T> Drop for Produced<T> {
    fn drop(&mut self) {
        let (queue, wakers) = {
            let mut state = lock(&self.channel.state);
            state.receiver_gone = true;
            let queue = std::mem::take(&mut state.queue);
            // Waiting senders get their values back when woken.
            let wakers: Vec<Waker> = state
                .senders
                .iter_mut()
                .filter_map(|s| s.waker.take())
                .collect();
            (queue, wakers)
        };
        drop(queue);
        crate::user::wake_all(wakers);
        self.producer.cancel();
    }
}

impl<T> fmt::Debug for Produced<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Produced")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}
