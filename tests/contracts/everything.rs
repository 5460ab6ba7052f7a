//! A contract that uses every row of the type table (DESIGN.md, README):
//! each method echoes its argument, so a plugin in any language proves it
//! decodes and re-encodes that type byte for byte.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// A struct with named fields of several kinds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    pub name: String,
    pub score: f64,
    pub flags: Vec<bool>,
    pub nickname: Option<String>,
    pub shape: Shape,
    #[serde(with = "serde_bytes")]
    pub blob: Vec<u8>,
}

/// An enum with unit, tuple and struct variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Shape {
    Empty,
    Circle(f32),
    Rect { width: u32, height: u32 },
    Polygon(Vec<(i32, i32)>),
    Labeled(Box<Shape>, String),
}

/// A tree that nests through a sequence: recursion without a `Box`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Tree {
    Leaf(u8),
    Node(Vec<Tree>),
}

/// A tuple struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair(pub i16, pub u16);

/// A unit struct.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Marker;

/// A generic struct, used with a user type and with a scalar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<u32>,
}

/// Field and variant names that are keywords in Python or TypeScript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keywords {
    pub from: u8,
    pub class: i8,
    pub delete: bool,
    pub r#type: String,
    pub lambda: Option<char>,
}

/// A domain error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EchoError {
    Refused { reason: String },
    Unlucky(u8),
}

/// Echoes one value of each mapped type.
#[goproc::plugin_interface]
pub trait Everything {
    async fn echo_bool(&self, v: bool) -> bool;
    async fn echo_u8(&self, v: u8) -> u8;
    async fn echo_u16(&self, v: u16) -> u16;
    async fn echo_u32(&self, v: u32) -> u32;
    async fn echo_u64(&self, v: u64) -> u64;
    async fn echo_u128(&self, v: u128) -> u128;
    async fn echo_usize(&self, v: usize) -> usize;
    async fn echo_i8(&self, v: i8) -> i8;
    async fn echo_i16(&self, v: i16) -> i16;
    async fn echo_i32(&self, v: i32) -> i32;
    async fn echo_i64(&self, v: i64) -> i64;
    async fn echo_i128(&self, v: i128) -> i128;
    async fn echo_isize(&self, v: isize) -> isize;
    async fn echo_f32(&self, v: f32) -> f32;
    async fn echo_f64(&self, v: f64) -> f64;
    async fn echo_char(&self, v: char) -> char;
    async fn echo_string(&self, v: String) -> String;
    async fn echo_bytes(&self, v: Vec<u8>) -> Vec<u8>;
    async fn echo_byte_buf(&self, v: serde_bytes::ByteBuf) -> serde_bytes::ByteBuf;
    async fn echo_vec(&self, v: Vec<i32>) -> Vec<i32>;
    async fn echo_array(&self, v: [u16; 4]) -> [u16; 4];
    async fn echo_deque(&self, v: VecDeque<String>) -> VecDeque<String>;
    async fn echo_option(&self, v: Option<i64>) -> Option<i64>;
    async fn echo_option_option(&self, v: Option<Option<u8>>) -> Option<Option<u8>>;
    async fn echo_hash_map(&self, v: HashMap<String, u64>) -> HashMap<String, u64>;
    async fn echo_btree_map(&self, v: BTreeMap<u32, Vec<String>>) -> BTreeMap<u32, Vec<String>>;
    async fn echo_tuple(&self, v: (u8, String, f64)) -> (u8, String, f64);
    async fn echo_unit(&self, v: ()) -> ();
    async fn echo_boxed(&self, v: Box<Record>) -> Box<Record>;
    async fn echo_record(&self, v: Record) -> Record;
    async fn echo_shape(&self, v: Shape) -> Shape;
    async fn echo_shapes(&self, v: Vec<Option<Shape>>) -> Vec<Option<Shape>>;
    async fn echo_pair(&self, v: Pair) -> Pair;
    async fn echo_marker(&self, v: Marker) -> Marker;
    async fn echo_page(&self, v: Page<Record>) -> Page<Record>;
    async fn echo_page_of_ints(&self, v: Page<i64>) -> Page<i64>;
    async fn echo_keywords(&self, v: Keywords) -> Keywords;
    async fn echo_map_of_records(&self, v: HashMap<u8, Vec<Record>>) -> HashMap<u8, Vec<Record>>;
    /// Several arguments, echoed as a tuple.
    async fn echo_many(
        &self,
        a: i32,
        b: String,
        c: Option<Vec<u8>>,
    ) -> (i32, String, Option<Vec<u8>>);
    /// No arguments, no answer.
    async fn nothing(&self);
    /// A recursive type nested through a `Vec`.
    async fn echo_tree(&self, v: Tree) -> Tree;
    /// How many unit values arrived: items that take no bytes on the wire.
    async fn count_units(&self, v: Vec<()>) -> u64;
    /// `Ok(v)` when `fail` is false, otherwise the domain error `Refused`.
    async fn checked(&self, v: i32, fail: bool) -> Result<i32, EchoError>;
}
