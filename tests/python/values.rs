//! Random values of every type in the Everything contract, edge values first
//! (used by the Python golden and round-trip tests).

use std::collections::{BTreeMap, HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::everything::{Keywords, Marker, Page, Pair, Record, Shape, Tree};

/// f32 NaNs, which [`Gen::f32`] never makes: signalling ones (the top bit
/// of the payload clear) with the smallest, a middle and the largest
/// payload, a negative one, and quiet ones.
pub const F32_NANS: [u32; 8] = [
    0x7f80_0001,
    0x7fa0_0000,
    0x7fbf_ffff,
    0xff80_0001,
    0x7fc0_0000,
    0x7fc0_0001,
    0xffc0_1234,
    0x7fff_ffff,
];

/// f64 NaNs, which [`Gen::f64`] never makes, likewise.
pub const F64_NANS: [u64; 6] = [
    0x7ff0_0000_0000_0001,
    0x7ff4_0000_0000_0000,
    0xfff0_0000_0000_0001,
    0x7ff8_0000_0000_0000,
    0x7ff8_0000_2000_0001,
    0xffff_ffff_ffff_ffff,
];

/// A seeded generator; `i` is the index of the value in its series, and the
/// first indices give edge values.
pub struct Gen {
    rng: StdRng,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Gen {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub fn bool(&mut self, _i: usize) -> bool {
        self.rng.random()
    }

    /// An integer: the edges first, then values of every magnitude (varints
    /// change width at 251, 2^16, 2^32, 2^64).
    fn int<T>(&mut self, i: usize, edges: &[T]) -> T
    where
        T: Copy,
        rand::distr::StandardUniform: rand::distr::Distribution<T>,
    {
        if i < edges.len() {
            edges[i]
        } else {
            self.rng.random()
        }
    }

    /// Shifts a random value right by a random amount, so small and large
    /// magnitudes are equally common.
    fn shift(&mut self) -> u32 {
        self.rng.random_range(0..128)
    }

    pub fn u8(&mut self, i: usize) -> u8 {
        self.int(i, &[0, 1, 127, 128, 250, 251, 255])
    }
    pub fn u16(&mut self, i: usize) -> u16 {
        let s = self.shift() % 16;
        self.int(i, &[0, 250, 251, 252, 255, 256, u16::MAX]) >> s
    }
    pub fn u32(&mut self, i: usize) -> u32 {
        let s = self.shift() % 32;
        self.int(i, &[0, 250, 251, 65535, 65536, u32::MAX]) >> s
    }
    pub fn u64(&mut self, i: usize) -> u64 {
        let s = self.shift() % 64;
        self.int(
            i,
            &[0, 250, 251, 65536, 1 << 32, u32::MAX as u64 + 1, u64::MAX],
        ) >> s
    }
    pub fn u128(&mut self, i: usize) -> u128 {
        let s = self.shift();
        self.int(
            i,
            &[
                0,
                250,
                251,
                u64::MAX as u128,
                u64::MAX as u128 + 1,
                u128::MAX,
            ],
        ) >> s
    }
    pub fn usize(&mut self, i: usize) -> usize {
        self.u64(i) as usize
    }
    pub fn i8(&mut self, i: usize) -> i8 {
        self.int(i, &[0, -1, 1, i8::MIN, i8::MAX])
    }
    pub fn i16(&mut self, i: usize) -> i16 {
        let s = self.shift() % 16;
        self.int(i, &[0, -1, 1, -126, 125, -125, 126, i16::MIN, i16::MAX]) >> s
    }
    pub fn i32(&mut self, i: usize) -> i32 {
        let s = self.shift() % 32;
        self.int(i, &[0, -1, 1, i32::MIN, i32::MAX, -32768, 32767, 32768]) >> s
    }
    pub fn i64(&mut self, i: usize) -> i64 {
        let s = self.shift() % 64;
        self.int(i, &[0, -1, 1, i64::MIN, i64::MAX, i32::MIN as i64 - 1]) >> s
    }
    pub fn i128(&mut self, i: usize) -> i128 {
        let s = self.shift();
        self.int(i, &[0, -1, 1, i128::MIN, i128::MAX, i64::MIN as i128 - 1]) >> s
    }
    pub fn isize(&mut self, i: usize) -> isize {
        self.i64(i) as isize
    }

    /// Any f32 but NaN (whose payload bits a float round trip may change).
    pub fn f32(&mut self, i: usize) -> f32 {
        let edges = [
            0.0,
            -0.0,
            1.5,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MIN_POSITIVE,
            f32::from_bits(1),
            f32::MAX,
            f32::MIN,
        ];
        if i < edges.len() {
            return edges[i];
        }
        loop {
            let v = f32::from_bits(self.rng.random());
            if !v.is_nan() {
                return v;
            }
        }
    }

    /// Any f64 but NaN.
    pub fn f64(&mut self, i: usize) -> f64 {
        let edges = [
            0.0,
            -0.0,
            -0.25,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::from_bits(1),
            f64::MAX,
            f64::MIN,
        ];
        if i < edges.len() {
            return edges[i];
        }
        loop {
            let v = f64::from_bits(self.rng.random());
            if !v.is_nan() {
                return v;
            }
        }
    }

    pub fn char(&mut self, i: usize) -> char {
        let edges = [
            'a',
            '\0',
            'é',
            '\u{7ff}',
            '\u{800}',
            '\u{feff}',
            '\u{ffff}',
            '\u{10000}',
            char::MAX,
        ];
        if i < edges.len() {
            return edges[i];
        }
        match self.rng.random_range(0..3) {
            0 => self.rng.random_range('\0'..='\u{7f}'),
            _ => self.rng.random(),
        }
    }

    pub fn string(&mut self, i: usize) -> String {
        let edges = [
            "",
            "hé",
            "\u{feff}bom first",
            "日本語テキスト",
            "emoji 🦀🐍",
            "\0nul",
        ];
        if i < edges.len() {
            return edges[i].to_string();
        }
        let len = self.rng.random_range(0..20);
        (0..len).map(|k| self.char(edges.len() + k + i)).collect()
    }

    pub fn bytes(&mut self, i: usize) -> Vec<u8> {
        if i == 0 {
            return Vec::new();
        }
        // Sometimes longer than 250 bytes, so the length takes a wide varint.
        let len = if self.rng.random_range(0..8) == 0 {
            self.rng.random_range(251..2000)
        } else {
            self.rng.random_range(0..40)
        };
        (0..len).map(|_| self.rng.random()).collect()
    }

    fn len(&mut self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.rng.random_range(0..6)
        }
    }

    pub fn vec_i32(&mut self, i: usize) -> Vec<i32> {
        let n = if i == 1 { 300 } else { self.len(i) };
        (0..n).map(|k| self.i32(k + i)).collect()
    }
    pub fn array(&mut self, i: usize) -> [u16; 4] {
        [
            self.u16(i),
            self.u16(i + 1),
            self.u16(i + 2),
            self.u16(i + 3),
        ]
    }
    pub fn deque(&mut self, i: usize) -> VecDeque<String> {
        let n = self.len(i);
        (0..n).map(|k| self.string(k + i)).collect()
    }
    pub fn option_i64(&mut self, i: usize) -> Option<i64> {
        if i == 0 || self.rng.random_range(0..4) == 0 {
            None
        } else {
            Some(self.i64(i))
        }
    }
    pub fn option_option(&mut self, i: usize) -> Option<Option<u8>> {
        match (i, self.rng.random_range(0..3)) {
            (0, _) | (_, 0) => None,
            (1, _) | (_, 1) => Some(None),
            _ => Some(Some(self.u8(i))),
        }
    }
    pub fn hash_map(&mut self, i: usize) -> HashMap<String, u64> {
        let n = self.len(i);
        (0..n)
            .map(|k| (self.string(k + i), self.u64(k + i)))
            .collect()
    }
    pub fn btree_map(&mut self, i: usize) -> BTreeMap<u32, Vec<String>> {
        let n = self.len(i);
        (0..n)
            .map(|k| (self.u32(k + i), self.deque(k + i).into()))
            .collect()
    }
    pub fn tuple(&mut self, i: usize) -> (u8, String, f64) {
        (self.u8(i), self.string(i), self.f64(i))
    }
    pub fn shape(&mut self, i: usize, depth: usize) -> Shape {
        let pick = if i < 5 {
            i
        } else {
            self.rng.random_range(0..5)
        };
        match pick {
            0 => Shape::Empty,
            1 => Shape::Circle(self.f32(i)),
            2 => Shape::Rect {
                width: self.u32(i),
                height: self.u32(i + 1),
            },
            3 => {
                let n = self.len(i);
                Shape::Polygon(
                    (0..n)
                        .map(|k| (self.i32(k + i), self.i32(k + i + 7)))
                        .collect(),
                )
            }
            _ if depth < 3 => {
                Shape::Labeled(Box::new(self.shape(i + 1, depth + 1)), self.string(i))
            }
            _ => Shape::Empty,
        }
    }
    pub fn shapes(&mut self, i: usize) -> Vec<Option<Shape>> {
        let n = self.len(i);
        (0..n)
            .map(|k| {
                if self.rng.random() {
                    Some(self.shape(k + i, 0))
                } else {
                    None
                }
            })
            .collect()
    }
    pub fn record(&mut self, i: usize) -> Record {
        let n = self.len(i);
        Record {
            id: self.u64(i),
            name: self.string(i),
            score: self.f64(i),
            flags: (0..n).map(|k| self.bool(k)).collect(),
            nickname: if self.rng.random() {
                Some(self.string(i + 1))
            } else {
                None
            },
            shape: self.shape(i, 0),
            blob: self.bytes(i),
        }
    }
    pub fn pair(&mut self, i: usize) -> Pair {
        Pair(self.i16(i), self.u16(i))
    }
    pub fn page(&mut self, i: usize) -> Page<Record> {
        let n = self.len(i);
        Page {
            items: (0..n).map(|k| self.record(k + i)).collect(),
            next: if self.rng.random() {
                Some(self.u32(i))
            } else {
                None
            },
        }
    }
    pub fn page_of_ints(&mut self, i: usize) -> Page<i64> {
        let n = self.len(i);
        Page {
            items: (0..n).map(|k| self.i64(k + i)).collect(),
            next: if self.rng.random() {
                Some(self.u32(i))
            } else {
                None
            },
        }
    }
    pub fn keywords(&mut self, i: usize) -> Keywords {
        Keywords {
            from: self.u8(i),
            class: self.i8(i),
            delete: self.bool(i),
            r#type: self.string(i),
            lambda: if self.rng.random() {
                Some(self.char(i))
            } else {
                None
            },
        }
    }
    pub fn map_of_records(&mut self, i: usize) -> HashMap<u8, Vec<Record>> {
        let n = self.len(i);
        (0..n)
            .map(|k| {
                let m = self.len(k + 1) % 3;
                (self.u8(k + i), (0..m).map(|j| self.record(j + k)).collect())
            })
            .collect()
    }
    pub fn many(&mut self, i: usize) -> (i32, String, Option<Vec<u8>>) {
        let c = if self.rng.random() {
            Some(self.bytes(i))
        } else {
            None
        };
        (self.i32(i), self.string(i), c)
    }
    pub fn marker(&mut self, _i: usize) -> Marker {
        Marker
    }
    /// A tree up to four levels deep, nodes of up to five children; the
    /// first values are a leaf, an empty node and a node of one leaf.
    pub fn tree(&mut self, i: usize, depth: usize) -> Tree {
        match i {
            0 => return Tree::Leaf(self.u8(0)),
            1 => return Tree::Node(Vec::new()),
            2 => return Tree::Node(vec![Tree::Leaf(self.u8(2))]),
            _ => {}
        }
        if depth >= 3 || self.rng.random_ratio(1, 3) {
            Tree::Leaf(self.u8(i))
        } else {
            let n = self.len(i);
            Tree::Node((0..n).map(|k| self.tree(k + i + 3, depth + 1)).collect())
        }
    }
    /// Between 0 and 4 unit values (0 to 4 in turn first): a request body
    /// of the head (3 bytes) and a one-byte count has an item budget of 4
    /// (docs/WIRE.md section 3.1).
    pub fn units(&mut self, i: usize) -> Vec<()> {
        let n = if i < 5 {
            i
        } else {
            self.rng.random_range(0..5)
        };
        vec![(); n]
    }
}
