//! The streams of a connection's calls (docs/WIRE.md, "Streams"): what a
//! side receives (items queued under the credit it granted) and what it
//! sends (credit the peer granted). Credit is counted in bytes of frames,
//! so a peer can make this side hold at most a window and one item per
//! stream, whatever the consumer's speed.

use std::collections::{HashMap, VecDeque};
use std::task::{Poll, Waker};

use crate::wire::frame::HEADER_LEN;
use crate::wire::messages::ErrorBody;

/// Whose call a stream belongs to: the ids of the two sides' calls are
/// numbered apart (docs/WIRE.md, "Calls").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Whose {
    /// One of this side's calls: its answer stream comes in, its argument
    /// stream goes out.
    Mine,
    /// One of the peer's calls this side serves: its argument stream comes
    /// in, its answer stream goes out.
    Peers,
}

/// The most credit a side may hold unused (docs/WIRE.md).
const MAX_CREDIT: i64 = u32::MAX as i64;

/// What a stream item costs in credit: its whole frame.
pub(crate) fn item_cost(body_len: usize) -> u64 {
    (HEADER_LEN + body_len) as u64
}

/// How a stream this side receives ended, by its sender's word.
#[derive(Debug)]
pub(crate) enum InEnd {
    /// It ended (ARG_END, empty).
    Done,
    /// Its sender's source failed (ARG_END with an error).
    Failed(ErrorBody),
}

/// A stream coming in.
pub(crate) struct Inbound {
    items: VecDeque<Vec<u8>>,
    /// What the sender may still send, as this side granted it.
    credit: i64,
    /// Bytes taken by the consumer since the last grant.
    taken: u64,
    window: u32,
    end: Option<InEnd>,
    waker: Option<Waker>,
}

/// The next thing an incoming stream has for its consumer.
pub(crate) enum Next {
    /// An item, and the credit to grant back, if it is time to.
    Item(Vec<u8>, Option<u32>),
    /// The sender ended the stream (argument streams only: an answer
    /// stream ends with its call's answer).
    End(InEnd),
}

/// A stream going out.
#[derive(Default)]
pub(crate) struct Outbound {
    credit: i64,
    /// The receiver stopped wanting items (its call was answered or
    /// cancelled).
    stopped: bool,
    waker: Option<Waker>,
}

/// The streams of one connection, both ways.
#[derive(Default)]
pub(crate) struct Streams {
    inbound: HashMap<(Whose, u64), Inbound>,
    outbound: HashMap<(Whose, u64), Outbound>,
}

/// Why an incoming item broke the rules.
pub(crate) struct OverCredit {
    pub(crate) cost: u64,
}

impl Streams {
    /// Starts receiving a stream, having granted `window` bytes.
    pub(crate) fn open_inbound(&mut self, whose: Whose, id: u64, window: u32) {
        self.inbound.insert(
            (whose, id),
            Inbound {
                items: VecDeque::new(),
                credit: i64::from(window),
                taken: 0,
                window,
                end: None,
                waker: None,
            },
        );
    }

    /// Starts sending a stream; it has no credit until the receiver grants some.
    pub(crate) fn open_outbound(&mut self, whose: Whose, id: u64) {
        self.outbound.insert((whose, id), Outbound::default());
    }

    pub(crate) fn close_inbound(&mut self, whose: Whose, id: u64) {
        self.inbound.remove(&(whose, id));
    }

    pub(crate) fn close_outbound(&mut self, whose: Whose, id: u64) {
        self.outbound.remove(&(whose, id));
    }

    pub(crate) fn has_inbound(&self, whose: Whose, id: u64) -> bool {
        self.inbound.contains_key(&(whose, id))
    }

    /// An item arrived. One for a stream this side does not receive (any
    /// more) is dropped; one the sender had no credit for breaks the rules.
    pub(crate) fn item(
        &mut self,
        whose: Whose,
        id: u64,
        body: Vec<u8>,
    ) -> Result<Option<Waker>, OverCredit> {
        let Some(stream) = self.inbound.get_mut(&(whose, id)) else {
            return Ok(None);
        };
        if stream.end.is_some() {
            // After ARG_END: the stream is over; like a stray, dropped.
            return Ok(None);
        }
        let cost = item_cost(body.len());
        if stream.credit <= 0 {
            return Err(OverCredit { cost });
        }
        stream.credit -= cost as i64;
        stream.items.push_back(body);
        Ok(stream.waker.take())
    }

    /// The sender ended an argument stream.
    pub(crate) fn end(&mut self, whose: Whose, id: u64, end: InEnd) -> Option<Waker> {
        let stream = self.inbound.get_mut(&(whose, id))?;
        stream.end.get_or_insert(end);
        stream.waker.take()
    }

    /// The next item for the consumer, or how the stream ended; `Pending`
    /// remembers `waker`. `None`: the stream is not open (closed, or its
    /// connection failed).
    pub(crate) fn poll_next(&mut self, whose: Whose, id: u64, waker: &Waker) -> Poll<Option<Next>> {
        let Some(stream) = self.inbound.get_mut(&(whose, id)) else {
            return Poll::Ready(None);
        };
        if let Some(item) = stream.items.pop_front() {
            stream.taken += item_cost(item.len());
            let grant = if stream.taken >= u64::from(stream.window / 2).max(1) {
                let grant = u32::try_from(stream.taken).unwrap_or(u32::MAX);
                stream.taken -= u64::from(grant);
                stream.credit += i64::from(grant);
                Some(grant)
            } else {
                None
            };
            return Poll::Ready(Some(Next::Item(item, grant)));
        }
        if let Some(end) = stream.end.take() {
            self.inbound.remove(&(whose, id));
            return Poll::Ready(Some(Next::End(end)));
        }
        stream.waker = Some(waker.clone());
        Poll::Pending
    }

    /// The receiver granted `n` more bytes. `Err`: more than 2^32 - 1
    /// would be unused.
    pub(crate) fn grant(&mut self, whose: Whose, id: u64, n: u32) -> Result<Option<Waker>, i64> {
        let Some(stream) = self.outbound.get_mut(&(whose, id)) else {
            return Ok(None);
        };
        let credit = stream.credit + i64::from(n);
        if credit > MAX_CREDIT {
            return Err(credit);
        }
        stream.credit = credit;
        Ok(stream.waker.take())
    }

    /// Whether an item may be sent now: `Ready(true)` with credit left,
    /// `Ready(false)` when the receiver stopped wanting items (or the
    /// stream is gone); `Pending` remembers `waker`.
    pub(crate) fn poll_credit(&mut self, whose: Whose, id: u64, waker: &Waker) -> Poll<bool> {
        let Some(stream) = self.outbound.get_mut(&(whose, id)) else {
            return Poll::Ready(false);
        };
        if stream.stopped {
            return Poll::Ready(false);
        }
        if stream.credit > 0 {
            return Poll::Ready(true);
        }
        stream.waker = Some(waker.clone());
        Poll::Pending
    }

    /// An item of `body_len` bytes is being sent; whether another may
    /// follow at once (credit is left and the receiver still wants items).
    pub(crate) fn spend(&mut self, whose: Whose, id: u64, body_len: usize) -> bool {
        match self.outbound.get_mut(&(whose, id)) {
            Some(stream) => {
                stream.credit -= item_cost(body_len) as i64;
                stream.credit > 0 && !stream.stopped
            }
            None => false,
        }
    }

    /// The receiver of an outgoing stream wants no more (its call was
    /// answered or cancelled): the sender stops.
    pub(crate) fn stop_outbound(&mut self, whose: Whose, id: u64) -> Option<Waker> {
        let stream = self.outbound.get_mut(&(whose, id))?;
        stream.stopped = true;
        stream.waker.take()
    }

    /// The connection failed: every stream's consumer and sender wakes and
    /// finds its stream gone.
    pub(crate) fn fail_all(&mut self, wakers: &mut Vec<Waker>) {
        wakers.extend(self.inbound.drain().filter_map(|(_, s)| s.waker));
        wakers.extend(self.outbound.drain().filter_map(|(_, s)| s.waker));
    }

    /// Forgets the streams of one of the peer's calls (cancelled).
    pub(crate) fn forget_peers(&mut self, id: u64, wakers: &mut Vec<Waker>) {
        wakers.extend(
            self.inbound
                .remove(&(Whose::Peers, id))
                .and_then(|s| s.waker),
        );
        wakers.extend(self.stop_outbound(Whose::Peers, id));
    }

    /// Streams open, both ways (for tests and leak checks).
    #[cfg(test)]
    pub(crate) fn open(&self) -> usize {
        self.inbound.len() + self.outbound.len()
    }
}
