//! The deadlines of this side's calls, so that one timer per connection,
//! armed for the earliest, does what a timer per call would.
//!
//! Calls made with the same timeout expire in the order they were made, so
//! their deadlines arrive sorted: they go in a FIFO, pushed and popped at
//! its ends. A deadline earlier than the FIFO's last (a shorter timeout)
//! goes in a heap instead. Entries of calls that ended are dropped when
//! they reach the front, or all at once when they pile up behind a call
//! that stays (so they never outnumber the calls in flight by much).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use tokio::time::Instant;

/// A call's deadline, and its id.
type Entry = (Instant, u64);

#[derive(Default)]
pub(super) struct Deadlines {
    /// Deadlines in the order they come, which is also the order they fall.
    sorted: VecDeque<Entry>,
    /// Deadlines that came earlier than the last of `sorted`.
    early: BinaryHeap<Reverse<Entry>>,
    /// The deadline the timer is armed for.
    armed: Option<Instant>,
}

impl Deadlines {
    /// Records that call `id` expires at `at`; whether the timer must be
    /// armed anew (`at` comes before the deadline it waits for).
    pub(super) fn push(&mut self, id: u64, at: Instant) -> bool {
        match self.sorted.back() {
            Some(&(last, _)) if at < last => self.early.push(Reverse((at, id))),
            _ => self.sorted.push_back((at, id)),
        }
        if self.armed.is_some_and(|armed| armed <= at) {
            return false;
        }
        self.armed = Some(at);
        true
    }

    /// How many entries are kept, those of calls that ended included.
    pub(super) fn len(&self) -> usize {
        self.sorted.len() + self.early.len()
    }

    /// Call `id` ended: its entry goes if it is first in line, and so do
    /// the entries behind it of calls that ended too (`live` says which
    /// are still under way).
    pub(super) fn ended(&mut self, id: u64, live: impl Fn(u64) -> bool) {
        if self.sorted.front().is_some_and(|&(_, first)| first == id) {
            self.sorted.pop_front();
            while self.sorted.front().is_some_and(|&(_, first)| !live(first)) {
                self.sorted.pop_front();
            }
        }
        if self
            .early
            .peek()
            .is_some_and(|Reverse((_, first))| *first == id)
        {
            self.early.pop();
        }
    }

    /// Keeps only the entries of calls still under way.
    pub(super) fn retain(&mut self, live: impl Fn(u64) -> bool) {
        self.sorted.retain(|&(_, id)| live(id));
        self.early.retain(|Reverse((_, id))| live(*id));
    }

    /// Takes the entries due at `now`, calling `visit(id, true)` for each
    /// (the call may have ended); then returns the next deadline of a call
    /// still under way, which the timer is armed for. `visit(id, false)`
    /// says whether call `id` is still under way.
    pub(super) fn expire(
        &mut self,
        now: Instant,
        mut visit: impl FnMut(u64, bool) -> bool,
    ) -> Option<Instant> {
        while let Some(&(at, id)) = self.sorted.front() {
            if at > now && visit(id, false) {
                break;
            }
            self.sorted.pop_front();
            if at <= now {
                visit(id, true);
            }
        }
        while let Some(&Reverse((at, id))) = self.early.peek() {
            if at > now && visit(id, false) {
                break;
            }
            self.early.pop();
            if at <= now {
                visit(id, true);
            }
        }
        let first = self.sorted.front().map(|&(at, _)| at);
        let early = self.early.peek().map(|Reverse((at, _))| *at);
        self.armed = match (first, early) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.armed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::time::Duration;

    #[test]
    fn deadlines_in_any_order_expire_in_time_order_and_arm_the_earliest() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut d = Deadlines::default();
        assert!(d.push(1, at(100)), "the first deadline arms the timer");
        assert!(!d.push(2, at(100)), "a later one does not");
        assert!(!d.push(3, at(150)));
        assert!(d.push(4, at(50)), "an earlier one arms it anew");
        let live: HashSet<u64> = [1, 2, 3, 4].into();
        let mut due = Vec::new();
        let mut visit = |id, is_due| {
            if is_due {
                due.push(id);
            }
            live.contains(&id)
        };
        assert_eq!(d.expire(at(60), &mut visit), Some(at(100)));
        assert_eq!(d.expire(at(120), &mut visit), Some(at(150)));
        assert_eq!(due, [4, 1, 2]);
        // Calls that ended are skipped when the next deadline is chosen.
        let next = d.expire(at(130), |_, _| false);
        assert_eq!(next, None);
        assert_eq!(d.len(), 0);
        assert!(d.push(5, at(500)), "with nothing armed, any deadline arms");
    }

    #[test]
    fn ended_calls_leave_the_front_at_once_and_the_rest_on_retain() {
        let t0 = Instant::now();
        let mut d = Deadlines::default();
        for id in 1..=4 {
            d.push(id, t0 + Duration::from_millis(id));
        }
        // Call 2 ended before 1: its entry waits behind 1's.
        let mut live: HashSet<u64> = [1, 3, 4].into();
        d.ended(2, |id| live.contains(&id));
        assert_eq!(d.len(), 4);
        live.remove(&1);
        d.ended(1, |id| live.contains(&id));
        assert_eq!(d.len(), 2, "1 and 2 are gone");
        live.remove(&4);
        d.retain(|id| live.contains(&id));
        assert_eq!(d.len(), 1);
    }
}
