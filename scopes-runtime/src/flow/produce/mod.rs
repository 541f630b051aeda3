//! `produce`: a child coroutine that sends values into a channel, read as a `Stream`.
//!
//! kotlinx's `produce` with Rust's ownership: the producer is a child coroutine of the scope;
//! dropping the receiving stream cancels it (kotlinx needs an explicit `cancel()` or
//! `consume`); its failure is the stream's last item (`Err`) and, as for any child, its
//! scope's failure too.
//!
//! # The channels
//!
//! `Buffered(n)` and `Unlimited` are tokio's `mpsc::channel(n)` and `mpsc::unbounded_channel`,
//! which have exactly their semantics. A closed tokio channel cannot carry the producer's
//! error, so the end travels beside it ([`Ending`]): when the producer's job completes (after
//! its children), its error is put there and the receiver woken; the receiver then closes its
//! `mpsc` end, takes what is still buffered, and ends with the error. tokio has no rendezvous
//! (its least capacity is one) and no conflation: those two run on a channel of our own
//! ([`channel`]).
//!
//! One consequence of the `mpsc` channels: a [`ChannelSender`] clone held outside the
//! producer (in a task that is not its child) and waiting on a full `Buffered` channel when
//! the producer ends is refused at the receiver's next poll (or its drop), not at once.

mod channel;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures::Stream;
use futures::task::AtomicWaker;
use tokio::sync::mpsc;

use self::channel::{Channel, OwnSend};
use crate::coroutine::{Coroutine, CoroutineStart};
use crate::error::{CoroutineError, LaunchResult};
use crate::job::Job;
use crate::scope::CoroutineScope;
use crate::sync::lock_std as lock;

/// How many values a channel holds before a sender waits (kotlinx's channel capacities).
///
/// ```
/// use futures::StreamExt;
/// use scopes_runtime::{Scope, flow::{Capacity, produce}};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let scope = Scope::new(());
/// // Buffered(2): the producer runs up to 2 values ahead of the consumer.
/// let mut squares = produce(&scope, Capacity::Buffered(2), |tx| async move {
///     for n in 1..=3u32 {
///         tx.send(n * n).await?;
///     }
///     Ok::<_, scopes_runtime::CoroutineError>(())
/// });
/// let mut got = Vec::new();
/// while let Some(v) = squares.next().await {
///     got.push(v.unwrap());
/// }
/// assert_eq!(got, [1, 4, 9]);
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// None: each send waits until the receiver took its value (kotlinx's `RENDEZVOUS`).
    Rendezvous,
    /// Up to `n` values (`BUFFERED` is 64 in kotlinx: [`Capacity::BUFFERED`]). `Buffered(0)`
    /// is a rendezvous.
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
    let ending = Arc::new(Ending::default());
    let (pipe, receiver) = match capacity {
        Capacity::Buffered(0) | Capacity::Rendezvous | Capacity::Conflated => {
            let own = Arc::new(Channel::new(match capacity {
                Capacity::Conflated => Capacity::Conflated,
                _ => Capacity::Rendezvous,
            }));
            (Pipe::Own(own.clone()), Receiver::Own(own))
        }
        Capacity::Buffered(n) => {
            let (tx, rx) = mpsc::channel(n.min(tokio::sync::Semaphore::MAX_PERMITS));
            (Pipe::Bounded(tx), Receiver::Bounded(rx))
        }
        Capacity::Unlimited => {
            let (tx, rx) = mpsc::unbounded_channel();
            (Pipe::Unbounded(tx), Receiver::Unbounded(rx))
        }
    };
    let sender = ChannelSender {
        pipe,
        ending: ending.clone(),
    };
    let producer: Coroutine = scope.launch_with((), CoroutineStart::Default, body(sender));
    let own = match &receiver {
        Receiver::Own(channel) => Some(channel.clone()),
        _ => None,
    };
    let closing = ending.clone();
    // However the producer ends (its body's result, a panic, a cancellation), after its
    // children: the receiver then sees the values and how it ended.
    let handle = producer.job().invoke_on_completion(move |error| match own {
        Some(channel) => channel.close(error.cloned()),
        None => closing.close(error.cloned()),
    });
    drop(handle);
    Produced {
        receiver,
        ending,
        phase: ReceivePhase::Open,
        producer: producer.job().clone(),
    }
}

/// How the producer ended, beside an `mpsc` channel that cannot carry it.
#[derive(Default)]
struct Ending {
    closed: AtomicBool,
    error: Mutex<Option<CoroutineError>>,
    receiver: AtomicWaker,
}

impl Ending {
    fn close(&self, error: Option<CoroutineError>) {
        *lock(&self.error) = error;
        self.closed.store(true, Ordering::Release);
        self.receiver.wake();
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn take_error(&self) -> Option<CoroutineError> {
        lock(&self.error).take()
    }
}

enum Pipe<T> {
    Own(Arc<Channel<T>>),
    Bounded(mpsc::Sender<T>),
    Unbounded(mpsc::UnboundedSender<T>),
}

impl<T> Clone for Pipe<T> {
    fn clone(&self) -> Self {
        match self {
            Pipe::Own(channel) => Pipe::Own(channel.clone()),
            Pipe::Bounded(tx) => Pipe::Bounded(tx.clone()),
            Pipe::Unbounded(tx) => Pipe::Unbounded(tx.clone()),
        }
    }
}

/// The sending end given to a [`produce`] body. Cheap to clone.
pub struct ChannelSender<T> {
    pipe: Pipe<T>,
    ending: Arc<Ending>,
}

impl<T> Clone for ChannelSender<T> {
    fn clone(&self) -> Self {
        ChannelSender {
            pipe: self.pipe.clone(),
            ending: self.ending.clone(),
        }
    }
}

impl<T> fmt::Debug for ChannelSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelSender").finish_non_exhaustive()
    }
}

/// The receiver is gone (the stream was dropped) or the producer has ended: the value comes
/// back.
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

/// Why [`ChannelSender::try_send`] did not send: the value back, and the reason.
#[derive(Clone, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel has no room now (a rendezvous: no receiver is waiting); a `send` would
    /// wait. Through `?` it is a failure of the producer ("the channel is full").
    Full(T),
    /// The receiving stream is gone or the producer has ended. Through `?` it ends the
    /// producer as cancelled, as [`SendError`] does.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("the channel is full"),
            TrySendError::Closed(_) => f.write_str("the receiving stream is gone"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

impl<T> From<TrySendError<T>> for CoroutineError {
    fn from(error: TrySendError<T>) -> Self {
        match error {
            TrySendError::Full(_) => CoroutineError::failed("the channel is full"),
            TrySendError::Closed(value) => SendError(value).into(),
        }
    }
}

impl<T: Send + 'static> ChannelSender<T> {
    /// Sends `value`, waiting while the channel is full (for a rendezvous, until the receiver
    /// took it). Dropping the future while it waits takes the value back (and drops it), unless
    /// the receiver took it in the same moment: a rendezvous send dropped after the receiver
    /// took its value (before the sender ran again) has delivered it, so do not send it again
    /// on the strength of the drop alone (kotlinx has the same window).
    ///
    /// # Errors
    ///
    /// If the receiving stream is gone or the producer has ended; `?` on it ends the producer
    /// as cancelled (it is being cancelled anyway).
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        match &self.pipe {
            Pipe::Own(channel) => OwnSend::new(channel, value).await,
            Pipe::Bounded(tx) => {
                if self.ending.is_closed() {
                    return Err(SendError(value));
                }
                tx.send(value).await.map_err(|error| SendError(error.0))
            }
            Pipe::Unbounded(tx) => self.send_unbounded(tx, value),
        }
    }

    /// Sends `value` if that needs no wait (a rendezvous: if the receiver waits for a value).
    ///
    /// # Errors
    ///
    /// The value back: [`TrySendError::Full`] if the channel has no room,
    /// [`TrySendError::Closed`] if the receiver is gone or the producer has ended.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match &self.pipe {
            Pipe::Own(channel) => channel.try_send(value),
            Pipe::Bounded(tx) => {
                if self.ending.is_closed() {
                    return Err(TrySendError::Closed(value));
                }
                tx.try_send(value).map_err(|error| match error {
                    mpsc::error::TrySendError::Full(value) => TrySendError::Full(value),
                    mpsc::error::TrySendError::Closed(value) => TrySendError::Closed(value),
                })
            }
            Pipe::Unbounded(tx) => self
                .send_unbounded(tx, value)
                .map_err(|SendError(value)| TrySendError::Closed(value)),
        }
    }

    fn send_unbounded(&self, tx: &mpsc::UnboundedSender<T>, value: T) -> Result<(), SendError<T>> {
        if self.ending.is_closed() {
            return Err(SendError(value));
        }
        tx.send(value).map_err(|error| SendError(error.0))
    }
}

enum Receiver<T> {
    Own(Arc<Channel<T>>),
    Bounded(mpsc::Receiver<T>),
    Unbounded(mpsc::UnboundedReceiver<T>),
}

impl<T> Receiver<T> {
    fn poll_mpsc(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self {
            Receiver::Bounded(rx) => rx.poll_recv(cx),
            Receiver::Unbounded(rx) => rx.poll_recv(cx),
            Receiver::Own(_) => unreachable!("the own channel is polled as a whole"),
        }
    }

    fn close_mpsc(&mut self) {
        match self {
            Receiver::Bounded(rx) => rx.close(),
            Receiver::Unbounded(rx) => rx.close(),
            Receiver::Own(_) => {}
        }
    }
}

/// Where an `mpsc`-backed receiver is: `Open` (the producer runs), `Draining` (it ended: the
/// `mpsc` end is closed and the buffered values are being taken), `Ended` (the end was
/// given).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReceivePhase {
    Open,
    Draining,
    Ended,
}

/// The receiving stream of [`produce`]: the producer's values as `Ok`, then its failure as a
/// last `Err` (or the end). Dropping it cancels the producer.
#[must_use = "dropping the stream cancels the producer"]
pub struct Produced<T> {
    receiver: Receiver<T>,
    ending: Arc<Ending>,
    phase: ReceivePhase,
    producer: Job,
}

impl<T> Produced<T> {
    /// The producer's job (to cancel it, or join it).
    pub fn producer(&self) -> &Job {
        &self.producer
    }
}

// No field is pinned: the receivers are polled through `&mut`.
impl<T> Unpin for Produced<T> {}

impl<T: Send + 'static> Stream for Produced<T> {
    type Item = Result<T, CoroutineError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Receiver::Own(channel) = &this.receiver {
            return channel.poll_recv(cx);
        }
        loop {
            match this.phase {
                ReceivePhase::Ended => return Poll::Ready(None),
                ReceivePhase::Draining => match this.receiver.poll_mpsc(cx) {
                    Poll::Ready(Some(value)) => return Poll::Ready(Some(Ok(value))),
                    Poll::Ready(None) => {
                        this.phase = ReceivePhase::Ended;
                        return Poll::Ready(this.ending.take_error().map(Err));
                    }
                    // Senders that had a permit before the close are still sending.
                    Poll::Pending => return Poll::Pending,
                },
                ReceivePhase::Open => {
                    if let Poll::Ready(Some(value)) = this.receiver.poll_mpsc(cx) {
                        return Poll::Ready(Some(Ok(value)));
                    }
                    // Nothing now (or every sender dropped): wait for the producer's end too.
                    this.ending.receiver.register(cx.waker());
                    if !this.ending.is_closed() {
                        return Poll::Pending;
                    }
                    this.receiver.close_mpsc();
                    this.phase = ReceivePhase::Draining;
                }
            }
        }
    }
}

impl<T> Drop for Produced<T> {
    fn drop(&mut self) {
        // First, so that a value whose drop panics below cannot keep the producer running.
        self.producer.cancel();
        match &self.receiver {
            Receiver::Own(channel) => channel.receiver_dropped(),
            // The `mpsc` receiver's own drop refuses senders and drops what it buffered.
            Receiver::Bounded(_) | Receiver::Unbounded(_) => {}
        }
    }
}

impl<T> fmt::Debug for Produced<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Produced")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}
