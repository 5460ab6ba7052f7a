//! The session alone: scripted frame sequences, then random interleavings
//! of everything that can happen to a connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Poll, Wake, Waker};
use std::time::Duration;

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
    Session::new(Side::Host, "calc".into(), 1 << 20, 3, true)
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
    let id = s.begin_call(Asked::Request).unwrap();
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
    let id = s.begin_call(Asked::Request).unwrap();
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
fn a_pong_answers_only_a_ping_and_a_response_only_a_request() {
    let mut s = session();
    let request = s.begin_call(Asked::Request).unwrap();
    let ping = s.begin_call(Asked::Ping).unwrap();
    // The wrong kinds are dropped as strays...
    assert!(matches!(
        receive(&mut s, frame(Kind::Pong, request, vec![])),
        Ok(Incoming::Wake(None))
    ));
    assert!(matches!(
        receive(&mut s, frame(Kind::Response, ping, vec![])),
        Ok(Incoming::Wake(None))
    ));
    assert!(matches!(
        receive(&mut s, frame(Kind::Error, ping, vec![0xff])),
        Ok(Incoming::Wake(None))
    ));
    assert!(s.is_waiting(request) && s.is_waiting(ping));
    // ...and the right ones are taken.
    receive(&mut s, frame(Kind::Pong, ping, vec![])).unwrap();
    receive(&mut s, frame(Kind::Response, request, vec![4])).unwrap();
    assert!(!s.is_waiting(request) && !s.is_waiting(ping));
}

#[test]
fn an_error_answer_reaches_its_caller_typed_and_a_malformed_one_breaks_the_rules() {
    let mut s = session();
    let id = s.begin_call(Asked::Request).unwrap();
    receive(&mut s, frame(Kind::Error, id, error_body(5, "cancelled"))).unwrap();
    let (_, waker) = counter();
    match s.poll_answer(id, &waker) {
        Poll::Ready(Some(Reply::Err(e))) => assert_eq!((e.code, &*e.message), (5, "cancelled")),
        other => panic!("{other:?}"),
    }
    let id = s.begin_call(Asked::Request).unwrap();
    let reason = broken_reason(receive(&mut s, frame(Kind::Error, id, vec![0xff])));
    assert!(reason.contains("does not decode"), "{reason}");
}

#[test]
fn an_abandoned_call_is_forgotten_and_says_whether_the_peer_must_be_told() {
    let mut s = session();
    let waiting = s.begin_call(Asked::Request).unwrap();
    let answered = s.begin_call(Asked::Request).unwrap();
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
fn a_call_past_its_deadline_expires_unless_its_answer_came_first() {
    let t0 = Instant::now();
    let at = |ms| t0 + Duration::from_millis(ms);
    let mut s = session();
    let (late, arm) = s.begin_call_until(Asked::Request, Some(at(10))).unwrap();
    assert!(arm, "the first deadline arms the connection's timer");
    let (early, arm) = s.begin_call_until(Asked::Request, Some(at(10))).unwrap();
    assert!(!arm, "the same deadline does not");
    let (undated, _) = s.begin_call_until(Asked::Request, None).unwrap();
    let (count, waker) = counter();
    assert!(s.poll_call(late, &waker).is_pending());
    let mut wakers = Vec::new();
    assert_eq!(
        s.expire(at(5), &mut wakers),
        Some(at(10)),
        "nothing due yet"
    );
    assert!(wakers.is_empty());

    // `early`'s answer came before the deadline was seen: it wins.
    receive(&mut s, frame(Kind::Response, early, vec![1])).unwrap();
    assert_eq!(s.expire(at(10), &mut wakers), None);
    wakers.into_iter().for_each(Waker::wake);
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        1,
        "the expired caller is woken"
    );
    assert!(matches!(
        s.poll_call(early, &waker),
        Poll::Ready(Settled::Answered(Reply::Ok(_)))
    ));
    assert!(matches!(
        s.poll_call(late, &waker),
        Poll::Ready(Settled::Expired)
    ));
    // Its caller gives up: the peer is told, and a late answer is dropped.
    assert!(s.abandon(late));
    assert!(matches!(
        receive(&mut s, frame(Kind::Response, late, vec![])),
        Ok(Incoming::Wake(None))
    ));
    assert!(
        s.poll_call(undated, &waker).is_pending(),
        "no deadline, no expiry"
    );
    assert_eq!(s.calls_under_way(), 1);

    // An expired call the connection then fails reads as failed.
    let (expired, _) = s.begin_call_until(Asked::Request, Some(at(20))).unwrap();
    s.expire(at(30), &mut Vec::new());
    let _ = s.fail_all(Error::Closed {
        peer: "calc".into(),
        reason: "gone".into(),
    });
    assert!(matches!(
        s.poll_call(expired, &waker),
        Poll::Ready(Settled::Failed)
    ));
}

#[test]
fn deadline_entries_of_ended_calls_do_not_pile_up() {
    let t0 = Instant::now();
    let mut s = session();
    let (_, waker) = counter();
    // One call that stays, and many that end behind it.
    let (stays, _) = s
        .begin_call_until(Asked::Request, Some(t0 + Duration::from_secs(60)))
        .unwrap();
    for _ in 0..10_000 {
        let (id, _) = s
            .begin_call_until(Asked::Request, Some(t0 + Duration::from_secs(60)))
            .unwrap();
        receive(&mut s, frame(Kind::Response, id, vec![])).unwrap();
        assert!(s.poll_call(id, &waker).is_ready());
        assert!(s.deadlines.len() <= 2 * (s.calls.len() + 1) + 65);
    }
    assert!(s.abandon(stays));
    assert_eq!(s.deadlines.len(), 0, "the last call's end clears the line");
}

#[test]
fn requests_are_served_cancelled_and_a_reused_running_id_breaks_the_rules() {
    let mut s = session();
    match receive(
        &mut s,
        frame(Kind::Request, 7, vec![1, 2, 0xfb, 0xdc, 0x05, 9]),
    ) {
        Ok(Incoming::Serve(Request {
            id,
            head,
            deadline,
            body,
            args_at,
        })) => {
            assert_eq!((id, head.contract, head.method), (7, 1, 2));
            assert_eq!(deadline, Some(std::time::Duration::from_millis(1500)));
            assert_eq!(&body[args_at..], [9], "the arguments follow the head");
        }
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
        Ok(Incoming::Serve(_))
    ));
    assert!(matches!(
        receive(&mut s, frame(Kind::Cancel, 8, vec![])),
        Ok(Incoming::Stop(None))
    ));
}

/// The ERROR frame in `incoming`, decoded.
fn refusal<H>(incoming: Result<Incoming<H>, End>) -> ErrorBody {
    match incoming {
        Ok(Incoming::Answer(error)) => codec::decode(&error[HEADER_LEN..]).unwrap(),
        _ => panic!("the request should be refused with an ERROR"),
    }
}

#[test]
fn a_request_with_a_bad_head_or_to_a_side_serving_nothing_is_refused_and_the_session_lives() {
    let mut s = session();
    let bad = refusal(receive(&mut s, frame(Kind::Request, 1, vec![0xfd])));
    assert_eq!(bad.code, 3);
    assert!(
        bad.message.contains("head does not decode"),
        "{}",
        bad.message
    );
    let mut plugin = Session::<&str>::new(Side::Plugin, "host".into(), 1 << 20, 3, false);
    let none = refusal(receive(&mut plugin, frame(Kind::Request, 1, vec![0, 0, 0])));
    assert_eq!(none.code, 1);
    assert!(
        none.message
            .contains("the plugin serves no contracts to host"),
        "{}",
        none.message
    );
    assert_eq!(s.calls_under_way() + plugin.calls_under_way(), 0);
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
    let mut s = Session::<&str>::new(Side::Plugin, "host".into(), 1 << 20, 3, true);
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
        (frame(Kind::StreamCredit, 1, vec![0]), "grants 0 bytes"),
        (
            frame(Kind::Event, 1, vec![0, 0]),
            "EVENT frames go from the host",
        ),
    ];
    for (f, says) in cases {
        let reason = broken_reason(receive(&mut session(), f));
        assert!(reason.contains(says), "{reason} should say {says}");
    }
    // Stream and event frames do not exist before version 3.
    let mut v2 = Session::<&str>::new(Side::Host, "old".into(), 1 << 20, 2, true);
    let reason = broken_reason(receive(&mut v2, frame(Kind::StreamItem, 1, vec![])));
    assert!(reason.contains("need protocol version 3"), "{reason}");
    let mut plugin = Session::<&str>::new(Side::Plugin, "host".into(), 1 << 20, 3, true);
    let reason = broken_reason(receive(&mut plugin, frame(Kind::Subscribe, 1, vec![])));
    assert!(reason.contains("from a plugin to its host"), "{reason}");
    assert!(matches!(
        receive(&mut session(), frame(Kind::Close, 0, vec![])),
        Err(End::PeerClosed)
    ));
}

#[test]
fn failing_fails_every_waiting_call_keeps_arrived_answers_and_refuses_new_calls() {
    let mut s = session();
    let waiting = s.begin_call(Asked::Request).unwrap();
    let answered = s.begin_call(Asked::Request).unwrap();
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
    let err = s.begin_call(Asked::Request).unwrap_err();
    assert!(err.to_string().contains("gone"), "{err}");
    assert_eq!(s.calls_under_way(), 0);
}

#[test]
fn refusing_new_calls_lets_calls_in_flight_finish() {
    let mut s = session();
    let id = s.begin_call(Asked::Request).unwrap();
    s.refuse_new_calls(Error::Closed {
        peer: "calc".into(),
        reason: "shutting down".into(),
    });
    assert!(s.begin_call(Asked::Request).is_err());
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
        let mut s = Session::<u64>::new(Side::Host, "peer".into(), 1 << 20, 3, true);
        let mut callers: Vec<Caller> = Vec::new();
        let mut failed = false;
        for step in steps {
            match step {
                Step::Call => {
                    if let Ok(id) = s.begin_call(Asked::Request) {
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
                        Ok(Incoming::Serve(request)) => prop_assert_eq!(request.id, id),
                        Ok(Incoming::Answer(_)) => prop_assert!(s.is_draining()),
                        Err(End::Broken(_)) => {
                            // Only a reused running id breaks the rules: the
                            // test then starts a new connection.
                            s = Session::new(Side::Host, "peer".into(), 1 << 20, 3, true);
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

/// The item frames of one stream: a body of `len` bytes costs `13 + len`.
fn item(kind: Kind, id: u64, len: usize) -> (FrameHeader, Vec<u8>) {
    frame(kind, id, vec![7; len])
}

#[test]
fn an_answer_stream_queues_items_under_credit_and_ends_with_the_answer() {
    let mut s = session();
    let id = s.begin_call(Asked::Request).unwrap();
    // A 100-byte window: items of 37 bytes cost 50; the third overdraws.
    s.open_my_streams(id, Some(100), false);
    let (count, waker) = counter();
    assert!(s.poll_stream(id, &waker).is_pending());
    // The item hands the consumer's waker to the driver, which wakes it.
    assert!(matches!(
        receive(&mut s, item(Kind::StreamItem, id, 37)),
        Ok(Incoming::Wake(Some(_)))
    ));
    assert_eq!(count.0.load(Ordering::SeqCst), 0);
    receive(&mut s, item(Kind::StreamItem, id, 37)).unwrap();
    let reason = broken_reason(receive(&mut s, item(Kind::StreamItem, id, 1)));
    assert!(reason.contains("without credit left"), "{reason}");

    let mut s = session();
    let id = s.begin_call(Asked::Request).unwrap();
    s.open_my_streams(id, Some(100), false);
    receive(&mut s, item(Kind::StreamItem, id, 37)).unwrap();
    receive(&mut s, item(Kind::StreamItem, id, 37)).unwrap();
    receive(&mut s, frame(Kind::Response, id, vec![])).unwrap();
    // Taking the first item (50 of 100 bytes) grants them back.
    match s.poll_stream(id, &waker) {
        Poll::Ready(StreamNext::Item(body, grant)) => {
            assert_eq!(body.len(), 37);
            assert_eq!(grant, Some(50));
        }
        _ => panic!("the first item"),
    }
    // The granted credit is usable: a third item is accepted.
    receive(&mut s, item(Kind::StreamItem, id, 37)).unwrap();
    assert!(matches!(
        s.poll_stream(id, &waker),
        Poll::Ready(StreamNext::Item(..))
    ));
    assert!(matches!(
        s.poll_stream(id, &waker),
        Poll::Ready(StreamNext::Item(..))
    ));
    // The answer comes after every item before it.
    assert!(matches!(
        s.poll_stream(id, &waker),
        Poll::Ready(StreamNext::End(Some(Reply::Ok(_))))
    ));
    assert_eq!(s.streams.open(), 0, "nothing is left behind");
}

#[test]
fn stray_stream_frames_are_dropped_and_credit_frames_add_up() {
    let mut s = session();
    // No such call: items, credit and ends are dropped quietly.
    for f in [
        item(Kind::StreamItem, 9, 3),
        item(Kind::ArgItem, 9, 3),
        frame(Kind::ArgEnd, 9, vec![]),
        frame(Kind::ArgCredit, 9, vec![5]),
        frame(Kind::StreamCredit, 9, vec![5]),
    ] {
        assert!(matches!(receive(&mut s, f), Ok(Incoming::Wake(None))));
    }
    // A call with an argument stream sends only against credit.
    let id = s.begin_call(Asked::Request).unwrap();
    s.open_my_streams(id, None, true);
    let (_, waker) = counter();
    assert!(s.poll_credit(Whose::Mine, id, &waker).is_pending());
    receive(&mut s, frame(Kind::ArgCredit, id, vec![20])).unwrap();
    assert_eq!(s.poll_credit(Whose::Mine, id, &waker), Poll::Ready(true));
    s.spend(Whose::Mine, id, 10); // costs 23: credit -3
    assert!(s.poll_credit(Whose::Mine, id, &waker).is_pending());
    // More than 2^32 - 1 unused is refused.
    let mut big = Vec::new();
    crate::wire::codec::encode_into(&u32::MAX, &mut big).unwrap();
    receive(&mut s, frame(Kind::ArgCredit, id, big.clone())).unwrap();
    let reason = broken_reason(receive(&mut s, frame(Kind::ArgCredit, id, big)));
    assert!(reason.contains("more than 2^32 - 1"), "{reason}");
}

#[test]
fn an_answer_stops_the_argument_stream_and_a_cancel_forgets_the_peers() {
    let mut s = session();
    let id = s.begin_call(Asked::Request).unwrap();
    s.open_my_streams(id, None, true);
    receive(&mut s, frame(Kind::ArgCredit, id, vec![100])).unwrap();
    let (_, waker) = counter();
    receive(&mut s, frame(Kind::Response, id, vec![1])).unwrap();
    assert_eq!(s.poll_credit(Whose::Mine, id, &waker), Poll::Ready(false));

    // The peer's call 4 sends its argument stream; a CANCEL forgets it.
    s.open_peers_streams(4, Some(1000), true);
    receive(&mut s, item(Kind::ArgItem, 4, 2)).unwrap();
    receive(&mut s, frame(Kind::ArgEnd, 4, vec![])).unwrap();
    assert!(matches!(
        s.poll_arg(4, &waker),
        Poll::Ready(Some(Next::Item(..)))
    ));
    assert!(matches!(
        s.poll_arg(4, &waker),
        Poll::Ready(Some(Next::End(InEnd::Done)))
    ));
    s.open_peers_streams(5, Some(1000), true);
    receive(&mut s, frame(Kind::Cancel, 5, vec![])).unwrap();
    assert!(matches!(s.poll_arg(5, &waker), Poll::Ready(None)));
    assert_eq!(s.poll_credit(Whose::Peers, 5, &waker), Poll::Ready(false));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Credit bounds what a receiver holds: whatever the item sizes, the
    /// window and the consumer's pace, the bytes of items queued and not
    /// taken never pass the window plus one item; an honest sender (one
    /// that sends only while it has credit) is never refused, and a sender
    /// that sends without credit is cut off at once.
    #[test]
    fn credit_bounds_what_a_receiver_holds(
        window in 1u32..20_000,
        ops in proptest::collection::vec((0u8..3, 0usize..6_000), 1..300),
    ) {
        let mut s = session();
        let id = s.begin_call(Asked::Request).unwrap();
        s.open_my_streams(id, Some(window), false);
        let (_, waker) = counter();
        // The sender's credit as it sees it, and what waits at the receiver.
        let mut credit = i64::from(window);
        let mut queued: Vec<u64> = Vec::new();
        let mut largest = 0u64;
        for (op, size) in ops {
            let cost = (HEADER_LEN + size) as u64;
            match op {
                // The consumer takes an item, and the session may grant.
                0 => match s.poll_stream(id, &waker) {
                    Poll::Ready(StreamNext::Item(body, grant)) => {
                        prop_assert_eq!((HEADER_LEN + body.len()) as u64, queued.remove(0));
                        credit += i64::from(grant.unwrap_or(0));
                    }
                    Poll::Pending => prop_assert!(queued.is_empty()),
                    Poll::Ready(StreamNext::End(_)) => prop_assert!(false, "the call has no answer"),
                },
                // An honest sender: it sends only with credit left.
                1 if credit <= 0 => {}
                // A sender, honest or not.
                _ => {
                    let got = receive(&mut s, frame(Kind::StreamItem, id, vec![0; size]));
                    if credit > 0 {
                        prop_assert!(got.is_ok(), "an item sent with credit was refused");
                        credit -= cost as i64;
                        queued.push(cost);
                        largest = largest.max(cost);
                    } else {
                        prop_assert!(broken_reason(got).contains("without credit left"));
                        return Ok(());
                    }
                }
            }
            let held: u64 = queued.iter().sum();
            prop_assert!(
                held <= u64::from(window) + largest,
                "{held} bytes held with a window of {window}"
            );
        }
    }
}
