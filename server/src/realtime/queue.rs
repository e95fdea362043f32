//! A connection's outgoing queue: bounded, many senders (the hub's fan-out and the
//! connection's own replies), one receiver (its writer).
//!
//! Every connection has one for its whole life, and most of that life it is empty, so it is
//! built to hold nothing while empty: one shared block of ~120 bytes, and the items in a
//! `VecDeque` that grows with a burst and is given back once drained. tokio's bounded channel,
//! which it replaces, allocates ~1.2 KB per connection up front (its state padded to cache
//! lines, and a first block of 32 items) and keeps it while idle.
//!
//! The lock is held only to push or pop one item; wakers are woken after it is released.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

/// A queue holding at most `capacity` items (at least one).
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        capacity: capacity.max(1),
        state: Mutex::new(State {
            items: VecDeque::new(),
            receiver: None,
            waiting_senders: Vec::new(),
            senders: 1,
            closed: false,
        }),
    });
    (Sender { shared: shared.clone() }, Receiver { shared })
}

/// A drained queue keeps its buffer up to this many items; past it the buffer is given back.
const KEPT_WHEN_EMPTY: usize = 8;

struct Shared<T> {
    capacity: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    items: VecDeque<T>,
    /// The receiver, when it waits for an item.
    receiver: Option<Waker>,
    /// Senders waiting for room (in practice only the connection's own reader).
    waiting_senders: Vec<Waker>,
    /// Live senders; none left ends the receiver once it has drained the queue.
    senders: usize,
    /// The receiver is gone: every send fails.
    closed: bool,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        // Nothing panics while the lock is held; a poisoned lock still holds a whole queue.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Why an item could not be queued; the item comes back.
pub enum TrySendError<T> {
    /// The queue holds `capacity` items.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrySendError::Full(_) => "Full(..)",
            TrySendError::Closed(_) => "Closed(..)",
        })
    }
}

/// The sending side; clones share the queue.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("capacity", &self.shared.capacity).finish_non_exhaustive()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.lock().senders += 1;
        Self { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let receiver = {
            let mut state = self.shared.lock();
            state.senders -= 1;
            if state.senders == 0 { state.receiver.take() } else { None }
        };
        if let Some(receiver) = receiver {
            receiver.wake();
        }
    }
}

impl<T> Sender<T> {
    /// Queues the item without waiting.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        let receiver = {
            let mut state = self.shared.lock();
            if state.closed {
                return Err(TrySendError::Closed(item));
            }
            if state.items.len() >= self.shared.capacity {
                return Err(TrySendError::Full(item));
            }
            state.items.push_back(item);
            state.receiver.take()
        };
        if let Some(receiver) = receiver {
            receiver.wake();
        }
        Ok(())
    }

    /// Queues the item, waiting for room; the item comes back if the receiver is gone.
    pub async fn send(&self, item: T) -> Result<(), T> {
        let mut item = Some(item);
        std::future::poll_fn(|cx| {
            let Some(next) = item.take() else { return Poll::Ready(Ok(())) };
            match self.try_send(next) {
                Ok(()) => Poll::Ready(Ok(())),
                Err(TrySendError::Closed(next)) => Poll::Ready(Err(next)),
                Err(TrySendError::Full(next)) => {
                    let mut state = self.shared.lock();
                    // Room may have been made since `try_send` let go of the lock.
                    if state.closed || state.items.len() < self.shared.capacity {
                        cx.waker().wake_by_ref();
                    } else if !state.waiting_senders.iter().any(|w| w.will_wake(cx.waker())) {
                        state.waiting_senders.push(cx.waker().clone());
                    }
                    item = Some(next);
                    Poll::Pending
                }
            }
        })
        .await
    }
}

/// The receiving side.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("capacity", &self.shared.capacity).finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// The next item; `None` once every sender is gone and the queue is drained.
    /// Cancel-safe: an item is taken only by the poll that returns it.
    pub async fn recv(&mut self) -> Option<T> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item if one is queued.
    pub fn try_recv(&mut self) -> Option<T> {
        self.take(None).map(|(item, waiting)| {
            wake_all(waiting);
            item
        })
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        match self.take(Some(cx.waker())) {
            Some((item, waiting)) => {
                wake_all(waiting);
                Poll::Ready(Some(item))
            }
            None if self.shared.lock().senders == 0 => Poll::Ready(None),
            None => Poll::Pending,
        }
    }

    /// Pops the front item, with the senders to wake now that there is room; with nothing
    /// queued, registers `waker` (if given) to be woken by the next send.
    fn take(&mut self, waker: Option<&Waker>) -> Option<(T, Vec<Waker>)> {
        let mut state = self.shared.lock();
        let Some(item) = state.items.pop_front() else {
            if let Some(waker) = waker
                && state.senders > 0
                && !state.receiver.as_ref().is_some_and(|w| w.will_wake(waker))
            {
                state.receiver = Some(waker.clone());
            }
            return None;
        };
        if state.items.is_empty() && state.items.capacity() > KEPT_WHEN_EMPTY {
            state.items = VecDeque::new();
        }
        Some((item, std::mem::take(&mut state.waiting_senders)))
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (items, waiting) = {
            let mut state = self.shared.lock();
            state.closed = true;
            (std::mem::take(&mut state.items), std::mem::take(&mut state.waiting_senders))
        };
        // Outside the lock: an item's drop may be arbitrary code.
        drop(items);
        wake_all(waiting);
    }
}

fn wake_all(wakers: Vec<Waker>) {
    for waker in wakers {
        waker.wake();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn items_come_out_in_order_and_a_full_queue_refuses_the_next() {
        let (tx, mut rx) = channel(2);
        tx.try_send(1).unwrap();
        tx.try_send(2).unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.try_recv(), Some(1));
        tx.try_send(3).unwrap();
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn the_receiver_ends_once_every_sender_is_gone_and_the_queue_is_drained() {
        let (tx, mut rx) = channel(4);
        let other = tx.clone();
        tx.try_send("a").unwrap();
        drop(tx);
        other.try_send("b").unwrap();
        drop(other);
        assert_eq!(rx.recv().await, Some("a"));
        assert_eq!(rx.recv().await, Some("b"));
        assert_eq!(rx.recv().await, None);
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_send_and_by_the_last_sender_leaving() {
        let (tx, mut rx) = channel::<u32>(4);
        let waiting = tokio::spawn(async move { (rx.recv().await, rx.recv().await) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.try_send(7).unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(tx);
        let got = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("woken").unwrap();
        assert_eq!(got, (Some(7), None));
    }

    #[tokio::test]
    async fn send_waits_for_room_and_fails_once_the_receiver_is_gone() {
        let (tx, mut rx) = channel(1);
        tx.send(1).await.unwrap();
        let tx = Arc::new(tx);
        let sending = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(2).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!sending.is_finished(), "a full queue makes send wait");
        assert_eq!(rx.recv().await, Some(1));
        tokio::time::timeout(Duration::from_secs(5), sending).await.expect("woken").unwrap().unwrap();
        assert_eq!(rx.try_recv(), Some(2));

        tx.send(3).await.unwrap();
        let blocked = tokio::spawn({
            let tx = tx.clone();
            async move { tx.send(4).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(rx);
        let back = tokio::time::timeout(Duration::from_secs(5), blocked).await.expect("woken").unwrap();
        assert_eq!(back, Err(4));
        assert!(matches!(tx.try_send(5), Err(TrySendError::Closed(5))));
    }

    #[tokio::test]
    async fn a_drained_queue_gives_its_buffer_back_after_a_burst() {
        let (tx, mut rx) = channel(1000);
        for i in 0..500 {
            tx.try_send(i).unwrap();
        }
        assert!(tx.shared.lock().items.capacity() >= 500);
        for i in 0..500 {
            assert_eq!(rx.recv().await, Some(i));
        }
        assert_eq!(tx.shared.lock().items.capacity(), 0, "nothing held once drained");
        tx.try_send(1).unwrap();
        assert_eq!(rx.try_recv(), Some(1));
        assert!(tx.shared.lock().items.capacity() <= KEPT_WHEN_EMPTY, "a small buffer is kept");
    }

    #[test]
    fn the_shared_block_is_small() {
        // What every connection carries for its queue while idle (tokio's channel: ~1.2 KB).
        // With the `Arc`'s two counts: one 128-byte allocation.
        assert!(std::mem::size_of::<Shared<super::super::hub::Out>>() + 16 <= 128);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_senders_on_other_threads_lose_nothing_and_keep_their_order() {
        let (tx, mut rx) = channel(16);
        let mut tasks = Vec::new();
        for s in 0..4u64 {
            let tx = tx.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..10_000u64 {
                    tx.send(s * 1_000_000 + i).await.unwrap();
                    if i % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            }));
        }
        drop(tx);
        let mut last = [None::<u64>; 4];
        let mut n = 0;
        while let Some(v) = rx.recv().await {
            let (s, i) = ((v / 1_000_000) as usize, v % 1_000_000);
            assert!(last[s].is_none_or(|l| l + 1 == i), "each sender's items in order");
            last[s] = Some(i);
            n += 1;
        }
        assert_eq!(n, 40_000);
        for t in tasks {
            t.await.unwrap();
        }
    }
}
