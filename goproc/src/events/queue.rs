//! The bounded queue of one subscription: a publisher never waits for it.
//! When it is full the oldest event goes, and the next event taken out says
//! how many went before it (as tokio's broadcast channel's `Lagged`).
//!
//! A queue wakes whoever waits on it: its one reader (a local
//! subscription), or, for the subscriptions of one plugin connection, a
//! [`ReadyList`] shared by all of them, so that the connection takes events
//! from its subscriptions in turn.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// The most bytes of events (topics and payloads) one subscription keeps
/// for a reader that does not take them: with events as large as a frame
/// (16 MiB), a count alone would let a slow subscriber hold gigabytes. At
/// least one event is always kept, whatever its size.
pub(crate) const QUEUE_BYTES: usize = 1024 * 1024;

/// What an item weighs against [`QUEUE_BYTES`].
pub(crate) trait Weigh {
    fn weight(&self) -> usize {
        0
    }
}

/// One subscription's queue of `T`.
pub(crate) struct Queue<T> {
    state: Mutex<State<T>>,
    capacity: usize,
}

struct State<T> {
    /// Each item with the events dropped before it upstream.
    items: VecDeque<(T, u64)>,
    /// What the items weigh together.
    bytes: usize,
    /// Events dropped here since the last item was taken.
    dropped: u64,
    closed: bool,
    waiter: Waiter,
}

enum Waiter {
    /// The one reader, when it waits.
    Reader(Option<Waker>),
    /// A list of queues with something to take, as this queue's `id`.
    List(Arc<ReadyList>, u64),
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing in these critical sections panics halfway through a change.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T: Weigh> Queue<T> {
    /// A queue of at most `capacity` items (at least one) read by one reader.
    pub(crate) fn new(capacity: usize) -> Queue<T> {
        Queue::with_waiter(capacity, Waiter::Reader(None))
    }

    /// A queue that, when it gets something to take, puts `id` on `list`.
    pub(crate) fn on_list(capacity: usize, list: Arc<ReadyList>, id: u64) -> Queue<T> {
        Queue::with_waiter(capacity, Waiter::List(list, id))
    }

    fn with_waiter(capacity: usize, waiter: Waiter) -> Queue<T> {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                bytes: 0,
                dropped: 0,
                closed: false,
                waiter,
            }),
            capacity: capacity.max(1),
        }
    }

    /// Adds an item that `lagged` events went before upstream; drops the
    /// oldest item when full. Never waits. A closed queue drops the item.
    pub(crate) fn push(&self, item: T, lagged: u64) {
        let mut state = lock(&self.state);
        if state.closed {
            return;
        }
        let weight = item.weight();
        while !state.items.is_empty()
            && (state.items.len() >= self.capacity || state.bytes + weight > QUEUE_BYTES)
        {
            if let Some((old, before)) = state.items.pop_front() {
                state.bytes -= old.weight();
                state.dropped = state.dropped.saturating_add(before).saturating_add(1);
            }
        }
        let was_empty = state.items.is_empty();
        state.bytes += weight;
        state.items.push_back((item, lagged));
        match &mut state.waiter {
            Waiter::Reader(waker) => {
                if let Some(waker) = waker.take() {
                    drop(state);
                    waker.wake();
                }
            }
            Waiter::List(list, id) => {
                if was_empty {
                    list.mark(*id);
                }
            }
        }
    }

    /// Takes the oldest item, with how many events were dropped before it.
    pub(crate) fn try_take(&self) -> Option<(T, u64)> {
        let mut state = lock(&self.state);
        let taken = Self::take_locked(&mut state);
        // Still something to take: back on the list, behind the others.
        if taken.is_some() && !state.items.is_empty() && !state.closed {
            if let Waiter::List(list, id) = &state.waiter {
                list.mark(*id);
            }
        }
        taken
    }

    fn take_locked(state: &mut State<T>) -> Option<(T, u64)> {
        let (item, before) = state.items.pop_front()?;
        state.bytes -= item.weight();
        let lagged = std::mem::take(&mut state.dropped).saturating_add(before);
        Some((item, lagged))
    }

    /// The next item, or `Ready(None)` once the queue is closed and empty.
    pub(crate) fn poll_take(&self, cx: &mut Context<'_>) -> Poll<Option<(T, u64)>> {
        let mut state = lock(&self.state);
        if let Some(taken) = Self::take_locked(&mut state) {
            return Poll::Ready(Some(taken));
        }
        if state.closed {
            return Poll::Ready(None);
        }
        if let Waiter::Reader(waker) = &mut state.waiter {
            match waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *waker = Some(cx.waker().clone()),
            }
        }
        Poll::Pending
    }

    /// Waits for the next item; `None` once the queue is closed and empty.
    #[cfg(test)]
    pub(crate) async fn take(&self) -> Option<(T, u64)> {
        std::future::poll_fn(|cx| self.poll_take(cx)).await
    }

    /// Ends the queue: what is in it can still be taken, nothing more is
    /// added, and the reader sees the end after the last item.
    pub(crate) fn close(&self) {
        let mut state = lock(&self.state);
        state.closed = true;
        if let Waiter::Reader(waker) = &mut state.waiter {
            if let Some(waker) = waker.take() {
                drop(state);
                waker.wake();
            }
        }
    }

    /// How many items are waiting.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        lock(&self.state).items.len()
    }
}

/// The ids of the queues that have something to take, in the order they
/// got it: a connection takes one item from the first, and the queue goes
/// to the back of the list if it has more, so every subscription gets its
/// turn.
#[derive(Default)]
pub(crate) struct ReadyList {
    state: Mutex<ListState>,
}

#[derive(Default)]
struct ListState {
    ids: VecDeque<u64>,
    waker: Option<Waker>,
}

impl ReadyList {
    fn mark(&self, id: u64) {
        let mut state = lock(&self.state);
        state.ids.push_back(id);
        if let Some(waker) = state.waker.take() {
            drop(state);
            waker.wake();
        }
    }

    /// Takes `id` off the list: its queue is gone (and closed, so it does
    /// not come back).
    pub(crate) fn forget(&self, id: u64) {
        lock(&self.state).ids.retain(|&i| i != id);
    }

    /// The next id whose queue may have something, in turn.
    pub(crate) fn poll_next(&self, cx: &mut Context<'_>) -> Poll<u64> {
        let mut state = lock(&self.state);
        if let Some(id) = state.ids.pop_front() {
            return Poll::Ready(id);
        }
        match &state.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::time::Duration;

    impl Weigh for i32 {}
    impl Weigh for u8 {}
    impl Weigh for &str {}
    impl Weigh for (&str, i32) {}

    /// An item of the given weight.
    struct Sized(usize);

    impl Weigh for Sized {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn large_items_are_dropped_by_bytes_before_the_count_is_reached() {
        let q = Queue::new(256);
        // Four items of 300 KiB: the first goes when the fourth comes
        // (1200 KiB > 1 MiB), though 4 is far below 256.
        for _ in 0..4 {
            q.push(Sized(300 * 1024), 0);
        }
        let (first, lagged) = q.try_take().unwrap();
        assert_eq!((first.0, lagged), (300 * 1024, 1));
        // One item larger than the budget is still kept, alone.
        q.push(Sized(QUEUE_BYTES * 3), 0);
        let (big, lagged) = q.try_take().unwrap();
        assert_eq!((big.0, lagged), (QUEUE_BYTES * 3, 2));
        assert!(q.try_take().is_none());
    }

    #[test]
    fn items_come_out_in_order() {
        let q = Queue::new(4);
        for i in 0..3 {
            q.push(i, 0);
        }
        assert_eq!(q.try_take(), Some((0, 0)));
        assert_eq!(q.try_take(), Some((1, 0)));
        assert_eq!(q.try_take(), Some((2, 0)));
        assert_eq!(q.try_take(), None);
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_the_next_item_says_how_many() {
        let q = Queue::new(3);
        for i in 0..10 {
            q.push(i, 0);
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.try_take(), Some((7, 7)));
        assert_eq!(q.try_take(), Some((8, 0)));
        q.push(10, 0);
        q.push(11, 0);
        // 9, 10, 11 fit: nothing more was dropped.
        assert_eq!(q.try_take(), Some((9, 0)));
        assert_eq!(q.try_take(), Some((10, 0)));
        assert_eq!(q.try_take(), Some((11, 0)));
    }

    #[test]
    fn drops_upstream_add_to_drops_here() {
        let q = Queue::new(2);
        q.push("a", 5); // 5 dropped before `a` upstream
        q.push("b", 1);
        q.push("c", 0); // drops `a`: 1 + its 5
        assert_eq!(q.try_take(), Some(("b", 7)));
        assert_eq!(q.try_take(), Some(("c", 0)));
    }

    #[test]
    fn a_queue_of_capacity_zero_holds_one() {
        let q = Queue::new(0);
        q.push(1, 0);
        q.push(2, 0);
        assert_eq!(q.try_take(), Some((2, 1)));
    }

    #[tokio::test]
    async fn a_reader_waits_for_the_next_item() {
        let q = Arc::new(Queue::new(8));
        let reader = tokio::spawn({
            let q = Arc::clone(&q);
            async move { q.take().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!reader.is_finished());
        q.push(42, 0);
        assert_eq!(reader.await.unwrap(), Some((42, 0)));
    }

    #[tokio::test]
    async fn closing_ends_the_reader_after_what_is_queued() {
        let q = Arc::new(Queue::new(8));
        q.push(1, 0);
        q.close();
        q.push(2, 0); // after the end: dropped
        assert_eq!(q.take().await, Some((1, 0)));
        assert_eq!(q.take().await, None);

        let q = Arc::new(Queue::<u8>::new(8));
        let reader = tokio::spawn({
            let q = Arc::clone(&q);
            async move { q.take().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        q.close();
        assert_eq!(reader.await.unwrap(), None);
    }

    #[tokio::test]
    async fn queues_on_a_list_take_turns() {
        let list = Arc::new(ReadyList::default());
        let a = Queue::on_list(8, Arc::clone(&list), 1);
        let b = Queue::on_list(8, Arc::clone(&list), 2);
        for i in 0..3 {
            a.push(("a", i), 0);
        }
        b.push(("b", 0), 0);
        b.push(("b", 1), 0);
        let mut order = Vec::new();
        loop {
            let next = poll_fn(|cx| match list.poll_next(cx) {
                Poll::Ready(id) => Poll::Ready(Some(id)),
                Poll::Pending => Poll::Ready(None),
            })
            .await;
            let Some(id) = next else { break };
            let q = if id == 1 { &a } else { &b };
            order.push(q.try_take().unwrap().0);
        }
        assert_eq!(
            order,
            [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2)],
            "one item from each queue in turn"
        );
    }

    #[tokio::test]
    async fn a_list_wakes_its_waiter() {
        let list = Arc::new(ReadyList::default());
        let q = Queue::on_list(8, Arc::clone(&list), 7);
        let waiter = tokio::spawn({
            let list = Arc::clone(&list);
            async move { poll_fn(|cx| list.poll_next(cx)).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        q.push(1, 0);
        assert_eq!(waiter.await.unwrap(), 7);
    }
}
