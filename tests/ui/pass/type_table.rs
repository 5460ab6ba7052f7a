//! Every row of the type table, as arguments and as returns.
#![deny(warnings)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Record {
    pub id: u64,
    pub name: String,
}

#[derive(Serialize, Deserialize)]
pub enum Shape {
    Empty,
    Circle(f32),
    Rect { width: u32, height: u32 },
}

#[derive(Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
}

pub mod nested {
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Marker;
}

#[goproc::plugin_interface]
pub trait Types {
    /// Sixteen arguments, the most a method takes.
    async fn scalars(
        &self,
        a: bool,
        b: u8,
        c: u16,
        d: u32,
        e: u64,
        f: u128,
        g: usize,
        h: i8,
        i: i16,
        j: i32,
        k: i64,
        l: i128,
        m: isize,
        n: f32,
        o: f64,
        p: char,
    ) -> (
        bool,
        u8,
        u16,
        u32,
        u64,
        u128,
        usize,
        i8,
        i16,
        i32,
        i64,
        i128,
        isize,
        f32,
        f64,
        char,
    );
    async fn string(&self, s: String) -> String;
    async fn bytes(&self, v: Vec<u8>, b: serde_bytes::ByteBuf) -> Vec<u8>;
    async fn byte_buf(&self) -> serde_bytes::ByteBuf;
    async fn sequences(
        &self,
        v: Vec<i32>,
        a: [u16; 4],
        d: VecDeque<String>,
        h: HashSet<u32>,
        b: BTreeSet<i8>,
    ) -> Vec<[u8; 2]>;
    async fn options(&self, v: Option<i64>, w: Option<Option<u8>>) -> Option<String>;
    async fn maps(
        &self,
        h: HashMap<String, u64>,
        b: BTreeMap<u32, Vec<String>>,
    ) -> HashMap<u8, Record>;
    async fn tuple(&self, t: (u8, String, f64)) -> (u8, (String, f64));
    async fn unit(&self, u: ()) -> ();
    async fn boxed(&self, v: Box<Record>) -> Box<Shape>;
    async fn user_types(&self, r: Record, s: Shape, m: nested::Marker) -> Page<Record>;
    async fn generic_user_type(&self, p: Page<i64>) -> Page<Option<Shape>>;
    async fn qualified_paths(
        &self,
        v: std::vec::Vec<::std::string::String>,
    ) -> std::option::Option<u8>;
}

fn main() {}
