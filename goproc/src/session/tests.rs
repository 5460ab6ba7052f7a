//! The session alone: scripted frame sequences, then random interleavings
//! of everything that can happen to a connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use proptest::prelude::*;

use super::*;
use crate::wire::frame::{parse_header, HEADER_LEN};

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counter() -> (Arc<Count>, Waker) {
    let count = Arc::new(Count::default());
    (count.clone(), Waker::from(count))
}

fn session() -> Session<&'static str> {
    Session::new(Side::Host, "calc".into(), 1 << 20)
}

fn header(kind: Kind, id: u64, body_len: usize) -> FrameHeader {
    FrameHeader { kind, id, body_len }
}

fn frame(kind: Kind, id: u64, body: Vec<u8>) -> (FrameHeader, Vec<u8>) {
    (header(kind, id, body.len()), body)
}

fn error_body(code: u32, message: &str) -> Vec<u8> {
    codec::encode(&ErrorBody {
        code,
        message: message.into(),
        detail: String::new(),
    })
    .unwrap()
}

fn receive<H>(s: &mut Session<H>, (h, b): (FrameHeader, Vec<u8>)) -> Result<Incoming<H>, End> {
    s.receive(h, b)
}

fn broken_reason<H>(result: Result<Incoming<H>, End>) -> String {
    match result {
        Err(End::Broken(Error::Protocol { reason, .. })) => reason,
        Err(other) => panic!("expected a broken rule, got {other:?}"),
        Ok(_) => panic!("expected a broken rule, the frame was taken"),
    }
}

#[test]
fn an_answer_wakes_its_caller_and_is_taken_once() {
    let mut s = session();
    let id = s.begin_call().unwrap();
    let (count, waker) = counter();
    assert!(s.poll_answer(id, &waker).is_pending());
    let woke = receive(&mut s, frame(Kind::Response, id, vec![6]));
    match woke {
        Ok(Incoming::Wake(Some(w))) => w.wake(),
        _ => panic!("the answer should wake the caller"),
    }
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    match s.poll_answer(id, &waker) {
        Poll::Ready(Some(Reply::Ok(body))) => assert_eq!(body, [6]),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.calls_under_way(), 0, "a taken answer leaves no entry");
}

#[test]
fn the_first_answer_wins_and_later_or_stray_ones_are_dropped_quietly() {
    let mut s = session();
    let id = s.begin_call().unwrap();
    assert!(matches!(
        receive(&mut s, frame(Kind::Response, id, vec![1])),
        Ok(Incoming::Wake(None))
    ));
    // A second answer, an error answer and an answer to an unknown call.
    assert!(receive(&mut s, frame(Kind::Response, id, vec![2])).is_ok());
    assert!(receive(&mut s, frame(Kind::Error, id, error_body(4, "late"))).is_ok());
    assert!(receive(&mut s, frame(Kind::Response, 99, vec![3])).is_ok());
    // Even an undecodable ERROR to a call nobody waits for is dropped unread.
    assert!(receive(&mut s, frame(Kind::Error, 98, vec![0xff; 3])).is_ok());
    let (_, waker) = counter();
    match s.poll_answer(id, &waker) {
        Poll::Ready(Some(Reply::Ok(body))) => assert_eq!(body, [1]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_error_answer_reaches_its_caller_typed_and_a_malformed_one_breaks_the_rules() {
    let mut s = session();
    let id = s.begin_call().unwrap();
    receive(&mut s, frame(Kind::Error, id, error_body(5, "cancelled"))).unwrap();
    let (_, waker) = counter();
    match s.poll_answer(id, &waker) {
        Poll::Ready(Some(Reply::Err(e))) => assert_eq!((e.code, &*e.message), (5, "cancelled")),
        other => panic!("{other:?}"),
    }
    let id = s.begin_call().unwrap();
    let reason = broken_reason(receive(&mut s, frame(Kind::Error, id, vec![0xff])));
    assert!(reason.contains("does not decode"), "{reason}");
}

#[test]
fn an_abandoned_call_is_forgotten_and_says_whether_the_peer_must_be_told() {
    let mut s = session();
    let waiting = s.begin_call().unwrap();
    let answered = s.begin_call().unwrap();
    receive(&mut s, frame(Kind::Response, answered, vec![])).unwrap();
    assert!(s.abandon(waiting), "still waiting: the peer gets a CANCEL");
    assert!(!s.abandon(answered), "answered already: nothing to cancel");
    assert_eq!(s.calls_under_way(), 0);
    // Its late answer is dropped.
    assert!(matches!(
        receive(&mut s, frame(Kind::Response, waiting, vec![])),
        Ok(Incoming::Wake(None))
    ));
}

#[test]
fn requests_are_served_cancelled_and_a_reused_running_id_breaks_the_rules() {
    let mut s = session();
    match receive(&mut s, frame(Kind::Request, 7, vec![0, 0, 0])) {
        Ok(Incoming::Serve { id, body }) => assert_eq!((id, body), (7, vec![0, 0, 0])),
        _ => panic!("a request is served"),
    }
    s.serving(7, "handler 7");
    let reason = broken_reason(receive(&mut s, frame(Kind::Request, 7, vec![0, 0, 0])));
    assert!(reason.contains("reuses id 7"), "{reason}");
    match receive(&mut s, frame(Kind::Cancel, 7, vec![])) {
        Ok(Incoming::Stop(Some("handler 7"))) => {}
        _ => panic!("a CANCEL stops the running handler"),
    }
    assert!(!s.served(7), "a cancelled call's answer is not sent");
    // Once cancelled, the id is free again; a CANCEL for nothing is fine.
    assert!(matches!(
        receive(&mut s, frame(Kind::Request, 7, vec![0, 0, 0])),
        Ok(Incoming::Serve { .. })
    ));
    assert!(matches!(
        receive(&mut s, frame(Kind::Cancel, 8, vec![])),
        Ok(Incoming::Stop(None))
    ));
}

#[test]
fn a_ping_is_answered_with_a_pong_of_the_same_id() {
    let mut s = session();
    match receive(&mut s, frame(Kind::Ping, 42, vec![])) {
        Ok(Incoming::Answer(pong)) => {
            let head: &[u8; HEADER_LEN] = pong[..HEADER_LEN].try_into().unwrap();
            let h = parse_header(head, u32::MAX).unwrap();
            assert_eq!((h.kind, h.id, h.body_len), (Kind::Pong, 42, 0));
        }
        _ => panic!("a ping is answered"),
    }
}

#[test]
fn after_shutdown_new_requests_are_refused_with_code_7_and_running_ones_finish() {
    let mut s = Session::<&str>::new(Side::Plugin, "host".into(), 1 << 20);
    s.serving(1, "running");
    assert!(matches!(
        receive(&mut s, frame(Kind::Shutdown, 0, vec![])),
        Ok(Incoming::ShutdownRequested)
    ));
    assert!(s.is_draining());
    match receive(&mut s, frame(Kind::Request, 2, vec![0, 0, 0])) {
        Ok(Incoming::Answer(error)) => {
            let body: ErrorBody = codec::decode(&error[HEADER_LEN..]).unwrap();
            assert_eq!(body.code, 7);
            assert!(
                body.message.contains("the plugin is shutting down"),
                "{}",
                body.message
            );
        }
        _ => panic!("a request while draining is refused"),
    }
    assert!(s.served(1), "the running call still answers");
    assert_eq!(s.handlers_running(), 0);
}

#[test]
fn frames_that_break_the_rules_end_the_session_naming_the_rule() {
    let cases: Vec<((FrameHeader, Vec<u8>), &str)> = vec![
        (frame(Kind::Cancel, 1, vec![0]), "must have an empty body"),
        (frame(Kind::Shutdown, 3, vec![]), "must carry id 0"),
        (frame(Kind::Hello, 0, vec![]), "unexpected HELLO frame"),
        (frame(Kind::StreamItem, 1, vec![]), "reserved"),
    ];
    for (f, says) in cases {
        let reason = broken_reason(receive(&mut session(), f));
        assert!(reason.contains(says), "{reason} should say {says}");
    }
    assert!(matches!(
        receive(&mut session(), frame(Kind::Close, 0, vec![])),
        Err(End::PeerClosed)
    ));
}

#[test]
fn failing_fails_every_waiting_call_keeps_arrived_answers_and_refuses_new_calls() {
    let mut s = session();
    let waiting = s.begin_call().unwrap();
    let answered = s.begin_call().unwrap();
    let (count, waker) = counter();
    assert!(s.poll_answer(waiting, &waker).is_pending());
    receive(&mut s, frame(Kind::Response, answered, vec![9])).unwrap();
    s.serving(5, "handler");
    let failed = s.fail_all(Error::Closed {
        peer: "calc".into(),
        reason: "gone".into(),
    });
    assert_eq!(failed.handlers, ["handler"]);
    for w in failed.wakers {
        w.wake();
    }
    assert_eq!(count.0.load(Ordering::SeqCst), 1);
    assert!(matches!(s.poll_answer(waiting, &waker), Poll::Ready(None)));
    assert!(matches!(
        s.poll_answer(answered, &waker),
        Poll::Ready(Some(Reply::Ok(_)))
    ));
    let err = s.begin_call().unwrap_err();
    assert!(err.to_string().contains("gone"), "{err}");
    assert_eq!(s.calls_under_way(), 0);
}

#[test]
fn refusing_new_calls_lets_calls_in_flight_finish() {
    let mut s = session();
    let id = s.begin_call().unwrap();
    s.refuse_new_calls(Error::Closed {
        peer: "calc".into(),
        reason: "shutting down".into(),
    });
    assert!(s.begin_call().is_err());
    receive(&mut s, frame(Kind::Response, id, vec![])).unwrap();
    let (_, waker) = counter();
    assert!(matches!(s.poll_answer(id, &waker), Poll::Ready(Some(_))));
}

/// One thing that may happen to a connection.
#[derive(Debug, Clone)]
enum Step {
    /// This side calls.
    Call,
    /// The caller of the n-th call polls (and so waits).
    Poll(usize),
    /// The caller of the n-th call gives up.
    Abandon(usize),
    /// The peer answers the n-th call (RESPONSE, or ERROR).
    Answer(usize, bool),
    /// The peer answers a call id this side never made.
    Stray(u64),
    /// The peer calls with id n.
    Request(u64),
    /// The handler of the peer's call n keeps running.
    KeepServing(u64),
    /// The handler of the peer's call n finishes.
    Finish(u64),
    /// The peer cancels its call n.
    Cancel(u64),
    /// The peer pings.
    Ping(u64),
    /// The peer asks for a shutdown.
    Shutdown,
    /// This side refuses new calls.
    Refuse,
    /// The connection ends.
    Fail,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Call),
        3 => (0usize..16).prop_map(Step::Poll),
        2 => (0usize..16).prop_map(Step::Abandon),
        4 => (0usize..16, any::<bool>()).prop_map(|(n, ok)| Step::Answer(n, ok)),
        1 => (1000u64..1010).prop_map(Step::Stray),
        3 => (0u64..6).prop_map(Step::Request),
        2 => (0u64..6).prop_map(Step::KeepServing),
        2 => (0u64..6).prop_map(Step::Finish),
        2 => (0u64..6).prop_map(Step::Cancel),
        1 => (0u64..4).prop_map(Step::Ping),
        1 => Just(Step::Shutdown),
        1 => Just(Step::Refuse),
        1 => Just(Step::Fail),
    ]
}

/// A caller as the driver has it: its id, whether it gave up, and whether
/// it holds its answer.
struct Caller {
    id: u64,
    count: Arc<Count>,
    waker: Waker,
    done: bool,
    answers_sent: usize,
    /// It polled and found no answer yet, so it sleeps until woken.
    asleep: bool,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Whatever happens, in whatever order: no call waits forever once the
    /// connection ends, an answer is never lost and never taken twice, the
    /// first answer wins, a waiting caller is woken by its answer, and no
    /// entry is left behind once every caller is done.
    #[test]
    fn any_interleaving_leaves_no_call_waiting_and_no_entry_behind(
        steps in proptest::collection::vec(step(), 1..80)
    ) {
        let mut s = Session::<u64>::new(Side::Host, "peer".into(), 1 << 20);
        let mut callers: Vec<Caller> = Vec::new();
        let mut failed = false;
        for step in steps {
            match step {
                Step::Call => {
                    if let Ok(id) = s.begin_call() {
                        prop_assert!(callers.iter().all(|c| c.id != id), "ids are unique");
                        let (count, waker) = counter();
                        callers.push(Caller { id, count, waker, done: false, answers_sent: 0, asleep: false });
                    }
                }
                Step::Poll(n) => {
                    if let Some(c) = callers.get_mut(n).filter(|c| !c.done) {
                        match s.poll_answer(c.id, &c.waker) {
                            Poll::Ready(Some(reply)) => {
                                prop_assert!(c.answers_sent > 0, "an answer that was never sent");
                                // The first answer wins: RESPONSE bodies carry their rank.
                                if let Reply::Ok(body) = reply {
                                    prop_assert!(body.is_empty() || body == [0u8], "{body:?}");
                                }
                                c.done = true;
                            }
                            Poll::Ready(None) => {
                                prop_assert!(failed, "a call failed while the connection lived");
                                c.done = true;
                            }
                            Poll::Pending => {
                                prop_assert!(!failed || c.answers_sent == 0);
                                c.asleep = true;
                            }
                        }
                    }
                }
                Step::Abandon(n) => {
                    if let Some(c) = callers.get_mut(n).filter(|c| !c.done) {
                        s.abandon(c.id);
                        c.done = true;
                    }
                }
                Step::Answer(n, ok) => {
                    if let Some(c) = callers.get_mut(n) {
                        let rank = c.answers_sent.min(255) as u8;
                        let f = if ok {
                            frame(Kind::Response, c.id, vec![rank])
                        } else {
                            frame(Kind::Error, c.id, error_body(4, "failed"))
                        };
                        let before = c.count.0.load(Ordering::SeqCst);
                        match receive(&mut s, f) {
                            Ok(Incoming::Wake(w)) => {
                                if let Some(w) = w { w.wake(); }
                            }
                            _ => prop_assert!(false, "an answer is always taken"),
                        }
                        let first = c.answers_sent == 0;
                        if first && c.asleep && !c.done && !failed {
                            prop_assert_eq!(
                                c.count.0.load(Ordering::SeqCst), before + 1,
                                "a sleeping caller is woken by its answer"
                            );
                        }
                        c.answers_sent += 1;
                    }
                }
                Step::Stray(id) => {
                    prop_assert!(matches!(
                        receive(&mut s, frame(Kind::Response, id, vec![1])),
                        Ok(Incoming::Wake(None))
                    ));
                }
                Step::Request(id) => {
                    match receive(&mut s, frame(Kind::Request, id, vec![0, 0, 0])) {
                        Ok(Incoming::Serve { id: got, .. }) => prop_assert_eq!(got, id),
                        Ok(Incoming::Answer(_)) => prop_assert!(s.is_draining()),
                        Err(End::Broken(_)) => {
                            // Only a reused running id breaks the rules: the
                            // test then starts a new connection.
                            s = Session::new(Side::Host, "peer".into(), 1 << 20);
                            callers.clear();
                            failed = false;
                        }
                        _ => prop_assert!(false, "unexpected outcome of a request"),
                    }
                }
                Step::KeepServing(id) => {
                    if !failed {
                        s.serving(id, id);
                    }
                }
                Step::Finish(id) => { s.served(id); }
                Step::Cancel(id) => {
                    match receive(&mut s, frame(Kind::Cancel, id, vec![])) {
                        Ok(Incoming::Stop(h)) => prop_assert!(h.is_none_or(|h| h == id)),
                        _ => prop_assert!(false, "a cancel is always taken"),
                    }
                }
                Step::Ping(id) => {
                    prop_assert!(matches!(receive(&mut s, frame(Kind::Ping, id, vec![])), Ok(Incoming::Answer(_))));
                }
                Step::Shutdown => {
                    prop_assert!(matches!(receive(&mut s, frame(Kind::Shutdown, 0, vec![])), Ok(Incoming::ShutdownRequested)));
                }
                Step::Refuse => s.refuse_new_calls(Error::Closed { peer: "peer".into(), reason: "refusing".into() }),
                Step::Fail => {
                    let out = s.fail_all(Error::Closed { peer: "peer".into(), reason: "ended".into() });
                    for w in out.wakers { w.wake(); }
                    prop_assert_eq!(s.handlers_running(), 0, "no handler outlives the connection");
                    failed = true;
                }
            }
        }
        // The connection ends: every caller still waiting finishes at once.
        let out = s.fail_all(Error::Closed { peer: "peer".into(), reason: "ended".into() });
        for w in out.wakers { w.wake(); }
        for c in callers.iter_mut().filter(|c| !c.done) {
            match s.poll_answer(c.id, &c.waker) {
                Poll::Ready(Some(_)) => prop_assert!(c.answers_sent > 0, "an answer that was never sent"),
                Poll::Ready(None) => {}
                Poll::Pending => prop_assert!(false, "call {} waits forever", c.id),
            }
            c.done = true;
        }
        prop_assert_eq!(s.calls_under_way(), 0, "entries left behind");
    }
}
