//! The Rust reference implementation of the `Everything` contract: echoes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use crate::everything::*;

pub struct Echo;

impl Everything for Echo {
    async fn echo_bool(&self, v: bool) -> bool {
        v
    }
    async fn echo_u8(&self, v: u8) -> u8 {
        v
    }
    async fn echo_u16(&self, v: u16) -> u16 {
        v
    }
    async fn echo_u32(&self, v: u32) -> u32 {
        v
    }
    async fn echo_u64(&self, v: u64) -> u64 {
        v
    }
    async fn echo_u128(&self, v: u128) -> u128 {
        v
    }
    async fn echo_usize(&self, v: usize) -> usize {
        v
    }
    async fn echo_i8(&self, v: i8) -> i8 {
        v
    }
    async fn echo_i16(&self, v: i16) -> i16 {
        v
    }
    async fn echo_i32(&self, v: i32) -> i32 {
        v
    }
    async fn echo_i64(&self, v: i64) -> i64 {
        v
    }
    async fn echo_i128(&self, v: i128) -> i128 {
        v
    }
    async fn echo_isize(&self, v: isize) -> isize {
        v
    }
    async fn echo_f32(&self, v: f32) -> f32 {
        v
    }
    async fn echo_f64(&self, v: f64) -> f64 {
        v
    }
    async fn echo_char(&self, v: char) -> char {
        v
    }
    async fn echo_string(&self, v: String) -> String {
        v
    }
    async fn echo_bytes(&self, v: Vec<u8>) -> Vec<u8> {
        v
    }
    async fn echo_byte_buf(&self, v: serde_bytes::ByteBuf) -> serde_bytes::ByteBuf {
        v
    }
    async fn echo_vec(&self, v: Vec<i32>) -> Vec<i32> {
        v
    }
    async fn echo_array(&self, v: [u16; 4]) -> [u16; 4] {
        v
    }
    async fn echo_deque(&self, v: VecDeque<String>) -> VecDeque<String> {
        v
    }
    async fn echo_option(&self, v: Option<i64>) -> Option<i64> {
        v
    }
    async fn echo_option_option(&self, v: Option<Option<u8>>) -> Option<Option<u8>> {
        v
    }
    async fn echo_hash_map(&self, v: HashMap<String, u64>) -> HashMap<String, u64> {
        v
    }
    async fn echo_btree_map(&self, v: BTreeMap<u32, Vec<String>>) -> BTreeMap<u32, Vec<String>> {
        v
    }
    async fn echo_tuple(&self, v: (u8, String, f64)) -> (u8, String, f64) {
        v
    }
    async fn echo_unit(&self, v: ()) -> () {
        v
    }
    async fn echo_boxed(&self, v: Box<Record>) -> Box<Record> {
        v
    }
    async fn echo_record(&self, v: Record) -> Record {
        v
    }
    async fn echo_shape(&self, v: Shape) -> Shape {
        v
    }
    async fn echo_shapes(&self, v: Vec<Option<Shape>>) -> Vec<Option<Shape>> {
        v
    }
    async fn echo_pair(&self, v: Pair) -> Pair {
        v
    }
    async fn echo_marker(&self, v: Marker) -> Marker {
        v
    }
    async fn echo_page(&self, v: Page<Record>) -> Page<Record> {
        v
    }
    async fn echo_page_of_ints(&self, v: Page<i64>) -> Page<i64> {
        v
    }
    async fn echo_keywords(&self, v: Keywords) -> Keywords {
        v
    }
    async fn echo_map_of_records(&self, v: HashMap<u8, Vec<Record>>) -> HashMap<u8, Vec<Record>> {
        v
    }
    async fn echo_many(
        &self,
        a: i32,
        b: String,
        c: Option<Vec<u8>>,
    ) -> (i32, String, Option<Vec<u8>>) {
        (a, b, c)
    }
    async fn nothing(&self) {}
    async fn echo_tree(&self, v: Tree) -> Tree {
        v
    }
    async fn count_units(&self, v: Vec<()>) -> u64 {
        v.len() as u64
    }
    async fn checked(&self, v: i32, fail: bool) -> Result<i32, EchoError> {
        if fail {
            Err(EchoError::Refused {
                reason: format!("refused {v}"),
            })
        } else {
            Ok(v)
        }
    }
}
