//! Fuzzes the two places a peer's bytes meet the Rust runtime first: the
//! frame reader and the body decoder (goproc::wire). Inputs are valid
//! encodings of every type of the type table (recursive ones included),
//! mutated, spliced and cut, plus random bytes; for each:
//!
//! - the decoder never panics, never overflows the stack, and never makes
//!   an allocation larger than a small multiple of its input;
//! - it accepts exactly what bincode 2.0.1 accepts, with the same value,
//!   except values past the limits of docs/WIRE.md 3.1, which it refuses
//!   naming the limit;
//! - the frame reader, fed mutated streams in random pieces, returns only
//!   frames within the maximum size and otherwise a clear error.
//!
//! `cargo test --test fuzz_wire` runs a budget that fits CI; a longer run:
//! `GOPROC_FUZZ_INPUTS=10000000 cargo test --release --test fuzz_wire -- --nocapture`
//! (`GOPROC_FUZZ_SEED` picks the seed; a failure prints the seed and input).

#[allow(dead_code)]
#[path = "contracts/everything.rs"]
mod everything;
#[allow(dead_code)]
#[path = "common/memory.rs"]
mod memory;
#[path = "common/mutate.rs"]
mod mutate;
#[allow(dead_code)]
#[path = "python/values.rs"]
mod values;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Debug;
use std::pin::Pin;
use std::task::{Context, Poll};

use everything::{Keywords, Page, Pair, Record, Shape, Tree};
use goproc::wire::codec;
use goproc::wire::frame::{FrameBuf, Kind};
use goproc::wire::messages::{ErrorBody, Hello, RequestHead};
use goproc::wire::stream::{FrameReader, ReadError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::io::{AsyncRead, ReadBuf};
use values::Gen;

// ---------------------------------------------------------------------------
// The largest single allocation, per thread
// ---------------------------------------------------------------------------

struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator; the bookkeeping
// touches only a thread-local `Cell` with a const initializer (no allocation).
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        System.alloc_zeroed(layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        System.realloc(ptr, layout, new_size)
    }
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// Runs `f` and returns its result and the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|l| l.set(0));
    let out = f();
    (out, LARGEST.with(|l| l.get()))
}

// ---------------------------------------------------------------------------
// Targets: one per type of the type table
// ---------------------------------------------------------------------------

/// The inputs to try, and how many.
fn budget() -> (u64, usize) {
    let seed = std::env::var("GOPROC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_f022);
    let inputs = std::env::var("GOPROC_FUZZ_INPUTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    (seed, inputs)
}

/// A type under test: seeds (valid encodings) and the check of one input.
struct Target {
    name: &'static str,
    seeds: Vec<Vec<u8>>,
    check: fn(&[u8]) -> Outcome,
}

/// What an input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Decoded,
    Refused,
    /// Refused at a limit of docs/WIRE.md 3.1 that bincode does not have.
    Limit,
}

/// A canonical encoding of a decoded value, to compare two decodes
/// (floats by their bits, maps in key order).
trait Canon {
    fn canon(&self) -> Vec<u8>;
}

macro_rules! canon_by_encoding {
    ($($t:ty),*) => {$(
        impl Canon for $t {
            fn canon(&self) -> Vec<u8> {
                codec::encode(self).expect("encode")
            }
        }
    )*};
}

canon_by_encoding!(
    bool, u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64, char,
    String, Vec<u8>, serde_bytes::ByteBuf, Vec<i32>, [u16; 4], VecDeque<String>, Option<i64>,
    Option<Option<u8>>, BTreeMap<u32, Vec<String>>, (u8, String, f64), (), Box<Record>, Record,
    Shape, Vec<Option<Shape>>, Pair, Page<Record>, Page<i64>, Keywords, Tree,
    (i32, String, Option<Vec<u8>>), (i32, bool), Result<i32, everything::EchoError>,
    RequestHead, ErrorBody, Hello
);

impl Canon for HashMap<String, u64> {
    fn canon(&self) -> Vec<u8> {
        codec::encode(&self.iter().collect::<BTreeMap<_, _>>()).expect("encode")
    }
}

impl Canon for HashMap<u8, Vec<Record>> {
    fn canon(&self) -> Vec<u8> {
        codec::encode(&self.iter().collect::<BTreeMap<_, _>>()).expect("encode")
    }
}

/// Decodes `bytes` as `T` with goproc's decoder and with bincode's, and
/// checks that they agree and that goproc's allocates in proportion.
fn check<T: DeserializeOwned + Canon + Debug>(bytes: &[u8]) -> Outcome {
    let (ours, largest) = largest_allocation(|| codec::decode::<T>(bytes));
    // serde reserves at most 1 MiB up front; past that, growth follows the
    // items actually read, each of which took input bytes.
    let allowed = 128 * bytes.len() + (1 << 20);
    assert!(
        largest <= allowed,
        "decoding {} bytes as {} allocated {largest} bytes at once: {bytes:02x?}",
        bytes.len(),
        std::any::type_name::<T>()
    );
    let theirs = bincode::serde::decode_from_slice::<T, _>(
        bytes,
        bincode::config::standard().with_limit::<{ 64 << 20 }>(),
    )
    .map_err(|e| e.to_string())
    .and_then(|(value, used)| {
        if used == bytes.len() {
            Ok(value)
        } else {
            Err("trailing bytes".into())
        }
    });
    match (ours, theirs) {
        (Ok(a), Ok(b)) => {
            assert_eq!(
                a.canon(),
                b.canon(),
                "{}: {bytes:02x?}: goproc {a:?}, bincode {b:?}",
                std::any::type_name::<T>()
            );
            Outcome::Decoded
        }
        (Err(_), Err(_)) => Outcome::Refused,
        (Err(e), Ok(_)) if e.contains("nesting limit") || e.contains("item budget") => {
            Outcome::Limit
        }
        (ours, theirs) => panic!(
            "{} disagree on {bytes:02x?}: goproc {:?}, bincode {:?}",
            std::any::type_name::<T>(),
            ours.map(|v| format!("{v:?}")),
            theirs.map(|v| format!("{v:?}"))
        ),
    }
}

/// `Vec<()>`: never more units than the body has bytes.
fn check_units(bytes: &[u8]) -> Outcome {
    let (ours, largest) = largest_allocation(|| codec::decode::<Vec<()>>(bytes));
    assert!(largest <= 1 << 20, "{largest} bytes for {bytes:02x?}");
    match ours {
        Ok(units) => {
            assert!(
                units.len() <= bytes.len(),
                "{} units in {bytes:02x?}",
                units.len()
            );
            Outcome::Decoded
        }
        Err(e) if e.contains("item budget") => Outcome::Limit,
        Err(_) => Outcome::Refused,
    }
}

fn seeds<T: Serialize>(n: usize, mut make: impl FnMut(usize) -> T) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| codec::encode(&make(i)).expect("encode"))
        .collect()
}

/// A tree `depth` levels deep, `width` children wide near the top.
fn tree(rng: &mut StdRng, depth: usize) -> Tree {
    if depth <= 1 {
        return Tree::Leaf(rng.random());
    }
    let width = rng.random_range(1..3);
    Tree::Node(
        (0..width)
            .map(|k| {
                if k == 0 {
                    tree(rng, depth - 1)
                } else {
                    Tree::Leaf(7)
                }
            })
            .collect(),
    )
}

/// A shape `depth` enums deep.
fn deep_shape(depth: usize) -> Shape {
    let mut shape = Shape::Empty;
    for _ in 1..depth {
        shape = Shape::Labeled(Box::new(shape), "x".into());
    }
    shape
}

fn targets(seed: u64) -> Vec<Target> {
    let mut g = Gen::new(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    const N: usize = 24;
    macro_rules! target {
        ($t:ty, $make:expr) => {
            target!($t as $t, $make)
        };
        // Seeds made as `$s`, decoded as `$t`: maps are made as `BTreeMap`s,
        // whose order (unlike a `HashMap`'s) is the same in every run.
        ($t:ty as $s:ty, $make:expr) => {
            Target {
                name: stringify!($t),
                seeds: seeds::<$s>(N, $make),
                check: check::<$t>,
            }
        };
    }
    vec![
        target!(bool, |i| g.bool(i)),
        target!(u8, |i| g.u8(i)),
        target!(u16, |i| g.u16(i)),
        target!(u32, |i| g.u32(i)),
        target!(u64, |i| g.u64(i)),
        target!(u128, |i| g.u128(i)),
        target!(usize, |i| g.usize(i)),
        target!(i8, |i| g.i8(i)),
        target!(i16, |i| g.i16(i)),
        target!(i32, |i| g.i32(i)),
        target!(i64, |i| g.i64(i)),
        target!(i128, |i| g.i128(i)),
        target!(isize, |i| g.isize(i)),
        target!(f32, |i| g.f32(i)),
        target!(f64, |i| g.f64(i)),
        target!(char, |i| g.char(i)),
        target!(String, |i| g.string(i)),
        target!(Vec<u8>, |i| g.bytes(i)),
        target!(serde_bytes::ByteBuf, |i| serde_bytes::ByteBuf::from(
            g.bytes(i)
        )),
        target!(Vec<i32>, |i| g.vec_i32(i)),
        target!([u16; 4], |i| g.array(i)),
        target!(VecDeque<String>, |i| g.deque(i)),
        target!(Option<i64>, |i| g.option_i64(i)),
        target!(Option<Option<u8>>, |i| g.option_option(i)),
        target!(HashMap<String, u64> as BTreeMap<String, u64>, |i| g
            .hash_map(i)
            .into_iter()
            .collect()),
        target!(BTreeMap<u32, Vec<String>>, |i| g.btree_map(i)),
        target!((u8, String, f64), |i| g.tuple(i)),
        target!((), |_| ()),
        target!(Box<Record>, |i| Box::new(g.record(i))),
        target!(Record, |i| g.record(i)),
        target!(Shape, |i| if i % 4 == 3 {
            deep_shape(126 + i % 5)
        } else {
            g.shape(i, 0)
        }),
        target!(Vec<Option<Shape>>, |i| g.shapes(i)),
        target!(Pair, |i| g.pair(i)),
        target!(Page<Record>, |i| g.page(i)),
        target!(Page<i64>, |i| g.page_of_ints(i)),
        target!(Keywords, |i| g.keywords(i)),
        target!(HashMap<u8, Vec<Record>> as BTreeMap<u8, Vec<Record>>, |i| g
            .map_of_records(i)
            .into_iter()
            .collect()),
        target!(Tree, |i| tree(
            &mut rng,
            if i % 3 == 0 { 120 + i % 12 } else { i % 9 + 1 }
        )),
        // Not compared with bincode, which loops as many times as a count
        // of zero-sized items claims (2^60 in a 9-byte input).
        Target {
            name: "Vec<()>",
            seeds: seeds::<Vec<()>>(N, |i| vec![(); i % 3]),
            check: check_units,
        },
        target!((i32, String, Option<Vec<u8>>), |i| g.many(i)),
        target!((i32, bool), |i| (g.i32(i), g.bool(i))),
        target!(Result<i32, everything::EchoError>, |i| if i % 2 == 0 {
            Ok(g.i32(i))
        } else {
            Err(everything::EchoError::Refused { reason: g.string(i) })
        }),
        target!(RequestHead, |i| RequestHead {
            contract: g.u32(i),
            method: g.u32(i + 1),
            deadline_ms: g.u64(i),
        }),
        target!(ErrorBody, |i| ErrorBody {
            code: g.u32(i),
            message: g.string(i),
            detail: g.string(i + 1),
        }),
        target!(Hello, |i| Hello {
            protocol_min: g.u32(i),
            protocol_max: g.u32(i + 1),
            token: g.string(i),
            language: g.string(i + 2),
            runtime: g.string(i + 3),
            pid: g.u32(i + 2),
            contracts: Vec::new(),
            requires: Vec::new(),
            schemas: vec![g.string(i + 4)],
        }),
    ]
}

// ---------------------------------------------------------------------------
// The decoder
// ---------------------------------------------------------------------------

#[test]
fn the_decoder_survives_every_input_and_agrees_with_bincode() {
    let (seed, inputs) = budget();
    // A small stack: decoding must end at the nesting limit, far from it.
    let worker = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || fuzz_decoder(seed, inputs))
        .expect("thread");
    let counts = worker.join().expect("no panic, no stack overflow");
    let hwm = memory::Memory::of_self().peak >> 10;
    eprintln!(
        "decoder: {inputs} inputs (seed {seed}): {} decoded, {} refused, {} at a limit; peak \
         memory {hwm} KiB",
        counts[0], counts[1], counts[2]
    );
    assert!(
        counts[0] > inputs as u64 / 20,
        "few inputs decode: {counts:?}"
    );
    assert!(
        counts[1] > inputs as u64 / 5,
        "few inputs are refused: {counts:?}"
    );
    assert!(counts[2] > 0, "no input reached a limit: {counts:?}");
}

fn fuzz_decoder(seed: u64, inputs: usize) -> [u64; 3] {
    let targets = targets(seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xdec0de);
    let mut counts = [0u64; 3];
    for n in 0..inputs {
        let target = &targets[n % targets.len()];
        let mut input = match rng.random_range(0..10) {
            // Pure noise, sometimes long.
            0 => {
                let longest = if rng.random_range(0..8) == 0 {
                    4096
                } else {
                    24
                };
                let len = rng.random_range(0..longest);
                (0..len).map(|_| rng.random()).collect()
            }
            // A valid encoding, untouched.
            1 => target.seeds[rng.random_range(0..target.seeds.len())].clone(),
            _ => target.seeds[rng.random_range(0..target.seeds.len())].clone(),
        };
        if !input.is_empty() && rng.random_range(0..10) > 1 {
            let other = &targets[rng.random_range(0..targets.len())].seeds[0];
            mutate::mutate(&mut rng, &mut input, other);
        }
        let outcome = std::panic::catch_unwind(|| (target.check)(&input)).unwrap_or_else(|_| {
            panic!(
                "{} failed on input {n} (seed {seed}): {input:02x?}",
                target.name
            )
        });
        counts[match outcome {
            Outcome::Decoded => 0,
            Outcome::Refused => 1,
            Outcome::Limit => 2,
        }] += 1;
    }
    counts
}

// ---------------------------------------------------------------------------
// The frame reader
// ---------------------------------------------------------------------------

/// Hands out `data` in pieces of random sizes, then end-of-file.
struct Pieces {
    data: Vec<u8>,
    at: usize,
    rng: StdRng,
}

impl AsyncRead for Pieces {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let left = self.data.len() - self.at;
        let piece = match self.rng.random_range(0..4) {
            0 => 1,
            1 => self.rng.random_range(1..16),
            _ => self.rng.random_range(1..70_000),
        };
        let n = left.min(piece).min(buf.remaining());
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

#[test]
fn the_frame_reader_returns_frames_within_the_limit_or_a_clear_error() {
    const MAX: u32 = 1 << 16;
    let (seed, inputs) = budget();
    let streams = (inputs / 20).max(1_000);
    let mut rng = StdRng::seed_from_u64(seed ^ 0xf4a3e);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let kinds = [
        Kind::Request,
        Kind::Response,
        Kind::Error,
        Kind::Cancel,
        Kind::Ping,
        Kind::Pong,
    ];
    let mut whole = 0u64;
    for n in 0..streams {
        let mut stream = Vec::new();
        for _ in 0..rng.random_range(0..12) {
            let kind = kinds[rng.random_range(0..kinds.len())];
            let mut frame = FrameBuf::new(kind, rng.random());
            let body = if rng.random_range(0..10) == 0 {
                rng.random_range(8_000..70_000)
            } else {
                rng.random_range(0..40)
            };
            frame
                .body_mut()
                .extend((0..body).map(|_| rng.random::<u8>()));
            stream.extend(frame.finish(u32::MAX).expect("finish"));
        }
        if rng.random_range(0..4) > 0 && !stream.is_empty() {
            mutate::mutate(&mut rng, &mut stream, &[]);
        }
        let pieces = Pieces {
            data: stream.clone(),
            at: 0,
            rng: StdRng::seed_from_u64(rng.random()),
        };
        let (result, largest) = largest_allocation(|| {
            runtime.block_on(async move {
                let mut pieces = pieces;
                let mut reader = FrameReader::new(MAX);
                let mut total = 0usize;
                loop {
                    match reader.next(&mut pieces).await {
                        Ok((header, body)) => {
                            assert_eq!(header.body_len, body.len());
                            assert!(body.len() + 9 <= MAX as usize);
                            total += 13 + body.len();
                        }
                        Err(ReadError::Eof) => return Ok(total),
                        Err(ReadError::Malformed(why)) => {
                            assert!(why.contains("frame length") || why.contains("frame kind"));
                            return Err(why);
                        }
                        Err(ReadError::Io(e)) => {
                            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
                            return Err(e.to_string());
                        }
                    }
                }
            })
        });
        assert!(
            largest <= 2 * MAX as usize,
            "stream {n} (seed {seed}): an allocation of {largest} bytes"
        );
        if let Ok(total) = result {
            assert_eq!(total, stream.len(), "stream {n}: every byte read as frames");
            whole += 1;
        }
    }
    eprintln!("frame reader: {streams} streams (seed {seed}), {whole} read to the end");
    assert!(whole > streams as u64 / 10);
}
