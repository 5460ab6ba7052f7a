//! Random values of every type in the Everything contract, with the edge
//! cases (integer limits, varint boundaries, special floats, astral and
//! boundary characters, a leading byte-order mark) mixed in often.
//!
//! Included with `#[path]` by the TypeScript tests, next to `mod everything`.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::everything::{Keywords, Marker, Page, Pair, Record, Shape, Tree};

/// A seeded generator; the seed is printed by the tests so a failure can be replayed.
pub struct Gen {
    rng: StdRng,
}

/// Boundaries where the varint encoding changes width.
const VARINT_EDGES: [u128; 12] = [
    0,
    1,
    250,
    251,
    252,
    0xffff,
    0x1_0000,
    0xffff_ffff,
    0x1_0000_0000,
    u64::MAX as u128,
    u64::MAX as u128 + 1,
    u128::MAX,
];

macro_rules! unsigned {
    ($name:ident, $t:ty) => {
        /// A value of this type: an edge case one time in four.
        pub fn $name(&mut self) -> $t {
            if self.rng.random_ratio(1, 4) {
                let e = VARINT_EDGES[self.rng.random_range(0..VARINT_EDGES.len())];
                return <$t>::try_from(e).unwrap_or(<$t>::MAX);
            }
            // A random width, so small and large values are both common.
            let bits = self.rng.random_range(0..=<$t>::BITS);
            let v: u128 = self.rng.random();
            let v = if bits == 0 { 0 } else { v >> (128 - bits) };
            v as $t
        }
    };
}

macro_rules! signed {
    ($name:ident, $t:ty, $u:ident) => {
        /// A value of this type: a limit or varint edge often.
        pub fn $name(&mut self) -> $t {
            match self.rng.random_range(0..8) {
                0 => <$t>::MIN,
                1 => <$t>::MAX,
                2 => -1,
                _ => self.$u() as $t,
            }
        }
    };
}

impl Gen {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Gen {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A number in `range`.
    pub fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    pub fn bool(&mut self) -> bool {
        self.rng.random()
    }

    unsigned!(u8, u8);
    unsigned!(u16, u16);
    unsigned!(u32, u32);
    unsigned!(u64, u64);
    unsigned!(u128, u128);
    signed!(i8, i8, u8);
    signed!(i16, i16, u16);
    signed!(i32, i32, u32);
    signed!(i64, i64, u64);
    signed!(i128, i128, u128);

    pub fn usize(&mut self) -> usize {
        self.u64() as usize
    }

    pub fn isize(&mut self) -> isize {
        self.i64() as isize
    }

    /// Any f32 bit pattern except NaN payloads (one NaN, the canonical one).
    pub fn f32(&mut self) -> f32 {
        const SPECIAL: [f32; 9] = [
            0.0,
            -0.0,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            1.5,
        ];
        if self.rng.random_ratio(1, 4) {
            return SPECIAL[self.below(SPECIAL.len())];
        }
        let v = f32::from_bits(self.rng.random());
        if v.is_nan() {
            f32::NAN
        } else {
            v
        }
    }

    /// Any f64 bit pattern except NaN payloads.
    pub fn f64(&mut self) -> f64 {
        const SPECIAL: [f64; 10] = [
            0.0,
            -0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::MIN,
            5e-324,
            -0.25,
        ];
        if self.rng.random_ratio(1, 4) {
            return SPECIAL[self.below(SPECIAL.len())];
        }
        let v = f64::from_bits(self.rng.random());
        if v.is_nan() {
            f64::NAN
        } else {
            v
        }
    }

    /// A finite f64 (inside structs compared with `==`).
    pub fn finite_f64(&mut self) -> f64 {
        let v = self.f64();
        if v.is_finite() {
            v
        } else {
            1.25
        }
    }

    /// A char from every UTF-8 width, with boundary and astral ones often.
    pub fn char(&mut self) -> char {
        const EDGES: [char; 12] = [
            '\0',
            '\u{7f}',
            '\u{80}',
            '\u{7ff}',
            '\u{800}',
            '\u{d7ff}',
            '\u{e000}',
            '\u{feff}',
            '\u{ffff}',
            '\u{10000}',
            '\u{1f600}',
            '\u{10ffff}',
        ];
        let range = match self.below(5) {
            0 => return EDGES[self.below(EDGES.len())],
            1 => 0x20..0x7f,
            2 => 0x80..0x800,
            3 => 0x800..0x10000,
            _ => 0x10000..0x110000,
        };
        loop {
            if let Some(c) = char::from_u32(self.rng.random_range(range.clone())) {
                return c;
            }
        }
    }

    /// A string of up to 40 chars, sometimes several hundred, sometimes
    /// starting with a byte-order mark.
    pub fn string(&mut self) -> String {
        let n = if self.rng.random_ratio(1, 10) {
            self.rng.random_range(80..400)
        } else {
            self.below(40)
        };
        let mut s = String::new();
        if self.rng.random_ratio(1, 10) {
            s.push('\u{feff}');
        }
        for _ in 0..n {
            s.push(self.char());
        }
        s
    }

    pub fn bytes(&mut self) -> Vec<u8> {
        let n = if self.rng.random_ratio(1, 10) {
            self.rng.random_range(250..2000)
        } else {
            self.below(20)
        };
        (0..n).map(|_| self.rng.random()).collect()
    }

    pub fn vec<T>(&mut self, max: usize, mut item: impl FnMut(&mut Self) -> T) -> Vec<T> {
        let n = self.below(max + 1);
        (0..n).map(|_| item(self)).collect()
    }

    pub fn option<T>(&mut self, item: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.bool() {
            Some(item(self))
        } else {
            None
        }
    }

    pub fn array(&mut self) -> [u16; 4] {
        [self.u16(), self.u16(), self.u16(), self.u16()]
    }

    pub fn deque(&mut self) -> VecDeque<String> {
        self.vec(6, Self::string).into()
    }

    pub fn hash_map(&mut self) -> HashMap<String, u64> {
        let n = self.below(6);
        (0..n).map(|_| (self.string(), self.u64())).collect()
    }

    pub fn btree_map(&mut self) -> BTreeMap<u32, Vec<String>> {
        let n = self.below(6);
        (0..n)
            .map(|_| (self.u32(), self.vec(3, Self::string)))
            .collect()
    }

    pub fn tuple(&mut self) -> (u8, String, f64) {
        (self.u8(), self.string(), self.f64())
    }

    pub fn shape(&mut self) -> Shape {
        self.shape_at(0)
    }

    fn shape_at(&mut self, depth: usize) -> Shape {
        let pick = if depth > 2 {
            self.below(4)
        } else {
            self.below(5)
        };
        match pick {
            0 => Shape::Empty,
            1 => Shape::Circle(self.f32_finite()),
            2 => Shape::Rect {
                width: self.u32(),
                height: self.u32(),
            },
            3 => Shape::Polygon(self.vec(5, |g| (g.i32(), g.i32()))),
            _ => Shape::Labeled(Box::new(self.shape_at(depth + 1)), self.string()),
        }
    }

    /// A tree up to four levels deep, nodes of up to four children.
    pub fn tree(&mut self) -> Tree {
        self.tree_at(0)
    }

    fn tree_at(&mut self, depth: usize) -> Tree {
        if depth >= 3 || self.rng.random_ratio(1, 3) {
            Tree::Leaf(self.u8())
        } else {
            Tree::Node(self.vec(4, |g| g.tree_at(depth + 1)))
        }
    }

    /// Between 0 and 4 unit values: a request body of the head (3 bytes)
    /// and a one-byte count has an item budget of 4.
    pub fn units(&mut self) -> Vec<()> {
        vec![(); self.below(5)]
    }

    fn f32_finite(&mut self) -> f32 {
        let v = self.f32();
        if v.is_finite() {
            v
        } else {
            -2.5
        }
    }

    pub fn record(&mut self) -> Record {
        Record {
            id: self.u64(),
            name: self.string(),
            score: self.finite_f64(),
            flags: self.vec(8, Self::bool),
            nickname: self.option(Self::string),
            shape: self.shape(),
            blob: self.bytes(),
        }
    }

    pub fn pair(&mut self) -> Pair {
        Pair(self.i16(), self.u16())
    }

    pub fn marker(&mut self) -> Marker {
        Marker
    }

    pub fn page(&mut self) -> Page<Record> {
        Page {
            items: self.vec(3, Self::record),
            next: self.option(Self::u32),
        }
    }

    pub fn page_of_ints(&mut self) -> Page<i64> {
        Page {
            items: self.vec(10, Self::i64),
            next: self.option(Self::u32),
        }
    }

    pub fn keywords(&mut self) -> Keywords {
        Keywords {
            from: self.u8(),
            class: self.i8(),
            delete: self.bool(),
            r#type: self.string(),
            lambda: self.option(Self::char),
        }
    }

    pub fn map_of_records(&mut self) -> HashMap<u8, Vec<Record>> {
        let n = self.below(4);
        (0..n)
            .map(|_| (self.u8(), self.vec(2, Self::record)))
            .collect()
    }

    pub fn many(&mut self) -> (i32, String, Option<Vec<u8>>) {
        (self.i32(), self.string(), self.option(Self::bytes))
    }
}
