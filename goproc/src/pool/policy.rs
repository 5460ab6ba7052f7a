//! When and how often a pool restarts a crashed instance.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How a pool replaces instances that exit.
///
/// After an instance exits, the pool waits `initial_backoff`, doubling up to
/// `max_backoff` on every further exit in a row, and restarts it; an
/// instance that stayed up longer than `max_backoff` starts over from
/// `initial_backoff`. More than `max_restarts` restarts of one instance
/// within `window` make the pool give up on that instance, with
/// [`crate::Error::RestartLimit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// The wait before the first restart.
    pub initial_backoff: Duration,
    /// The longest wait between restarts.
    pub max_backoff: Duration,
    /// How many restarts of one instance `window` may hold.
    pub max_restarts: u32,
    /// The window `max_restarts` counts in.
    pub window: Duration,
}

impl Default for RestartPolicy {
    /// 10 ms, doubling up to 5 s; at most 10 restarts a minute per instance.
    fn default() -> Self {
        RestartPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(5),
            max_restarts: 10,
            window: Duration::from_secs(60),
        }
    }
}

impl RestartPolicy {
    /// Never restart: an instance that exits stays down.
    pub fn never() -> Self {
        RestartPolicy {
            max_restarts: 0,
            ..RestartPolicy::default()
        }
    }
}

/// The restart history of one instance.
#[derive(Debug)]
pub(crate) struct Backoff {
    policy: RestartPolicy,
    recent: VecDeque<Instant>,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(policy: RestartPolicy) -> Self {
        Backoff {
            policy,
            recent: VecDeque::new(),
            next: policy.initial_backoff,
        }
    }

    /// An instance exited after running for `ran`: how long to wait before
    /// restarting it, or `None` when the limit is reached.
    pub(crate) fn after_exit(&mut self, ran: Duration, now: Instant) -> Option<Duration> {
        if ran > self.policy.max_backoff {
            self.next = self.policy.initial_backoff;
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > self.policy.window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.policy.max_restarts as usize {
            return None;
        }
        self.recent.push_back(now);
        let wait = self.next;
        self.next = (self.next * 2).min(self.policy.max_backoff);
        Some(wait)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum_and_gives_up_past_the_limit() {
        let policy = RestartPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_restarts: 4,
            window: Duration::from_secs(60),
        };
        let mut b = Backoff::new(policy);
        let now = Instant::now();
        let quick = Duration::from_millis(1);
        let waits: Vec<_> = (0..5).map(|_| b.after_exit(quick, now)).collect();
        let ms = |n| Some(Duration::from_millis(n));
        assert_eq!(waits, vec![ms(10), ms(20), ms(40), ms(40), None]);
    }

    #[test]
    fn an_instance_that_ran_long_starts_over_and_old_restarts_leave_the_window() {
        let policy = RestartPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_restarts: 2,
            window: Duration::from_secs(1),
        };
        let mut b = Backoff::new(policy);
        let t0 = Instant::now();
        let quick = Duration::from_millis(1);
        assert_eq!(b.after_exit(quick, t0), Some(Duration::from_millis(10)));
        assert_eq!(b.after_exit(quick, t0), Some(Duration::from_millis(20)));
        assert_eq!(b.after_exit(quick, t0), None);
        let later = t0 + Duration::from_secs(2);
        assert_eq!(
            b.after_exit(Duration::from_secs(1), later),
            Some(Duration::from_millis(10))
        );
    }

    #[test]
    fn never_means_no_restart() {
        let mut b = Backoff::new(RestartPolicy::never());
        assert_eq!(b.after_exit(Duration::ZERO, Instant::now()), None);
    }
}
