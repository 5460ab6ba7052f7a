//! The contract model: fingerprint stability and every rejection, with its
//! message and the tokens it points at.

use super::{canonical_text, fingerprint, parse_contract, parse_contract_partial, Contract};

/// `examples/calculator/contract.rs`, as the macro sees it.
const CALCULATOR: &str = r#"
    /// A calculator that lives in another process.
    pub trait Calculator {
        /// Adds two numbers.
        async fn add(&self, a: i64, b: i64) -> i64;
        /// Divides `a` by `b`; dividing by zero is a domain error, not a crash.
        async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError>;
        /// Sums a list of numbers.
        async fn sum(&self, values: Vec<f64>) -> f64;
        /// Greets someone by name.
        async fn greet(&self, name: String) -> String;
    }
"#;

const CALCULATOR_TEXT: &str = "goproc-contract/1
trait Calculator
fn add(i64,i64) -> i64
fn divide(i64,i64) -> result<i64,MathError>
fn sum(seq<f64>) -> f64
fn greet(string) -> string
";

/// Computed once from [`CALCULATOR_TEXT`] and checked in: if this changes,
/// every deployed plugin of every contract is refused by new hosts.
const CALCULATOR_FINGERPRINT: &str =
    "e051df6903642709854962042d75a8496cc5821d7d26e059d3e0376cdff122df";

fn parse(src: &str) -> Contract {
    let item: syn::ItemTrait = syn::parse_str(src).expect("test source is a trait");
    match parse_contract(&item) {
        Ok(c) => c,
        Err(e) => panic!("contract rejected: {e}"),
    }
}

fn fp(src: &str) -> String {
    parse(src).fingerprint
}

/// Every error of a rejected contract: (message, the source text it points at).
fn errors(src: &str) -> Vec<(String, String)> {
    let item: syn::ItemTrait = match syn::parse_str(src) {
        Ok(item) => item,
        Err(e) => panic!("test source is not a trait ({e}):\n{src}"),
    };
    match parse_contract(&item) {
        Ok(_) => panic!("contract accepted:\n{src}"),
        Err(e) => e
            .into_iter()
            .map(|e| {
                let text = e.span().source_text().unwrap_or_default();
                (e.to_string(), text)
            })
            .collect(),
    }
}

/// Asserts exactly one error, whose message contains each of `parts` and
/// which points at `at`.
#[track_caller]
fn rejects(src: &str, at: &str, parts: &[&str]) {
    let errs = errors(src);
    assert_eq!(errs.len(), 1, "expected one error, got {errs:#?}");
    let (msg, text) = &errs[0];
    for part in parts {
        assert!(msg.contains(part), "message {msg:?} lacks {part:?}");
    }
    assert_eq!(text, at, "error points at the wrong tokens ({msg})");
}

/// A trait with one method whose signature is `sig`.
fn method(sig: &str) -> String {
    format!("trait T {{ {sig} }}")
}

#[test]
fn calculator_fingerprint_is_stable() {
    let c = parse(CALCULATOR);
    assert_eq!(c.canonical_text(), CALCULATOR_TEXT);
    assert_eq!(c.fingerprint, CALCULATOR_FINGERPRINT);
    assert_eq!(
        fingerprint("Calculator", false, &c.methods),
        CALCULATOR_FINGERPRINT
    );
    assert_eq!(
        canonical_text("Calculator", false, &c.methods),
        CALCULATOR_TEXT
    );
}

#[test]
fn the_fingerprint_is_lowercase_hex_sha256() {
    let f = fp(CALCULATOR);
    assert_eq!(f.len(), 64);
    assert!(f
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
}

#[test]
fn what_does_not_change_the_wire_does_not_change_the_fingerprint() {
    let base = fp(CALCULATOR);
    // Argument names, docs, other attributes, visibility, paths, Box, raw
    // identifiers and spelling of equal wire shapes.
    let respelled = r#"
        #[allow(dead_code)]
        trait r#Calculator {
            #[allow(clippy::all)]
            async fn add(&self, left: i64, right: ::core::primitive::i64) -> Box<i64>;
            async fn divide(&self, x: std::boxed::Box<i64>, y: (i64)) -> ::std::result::Result<i64, errors::MathError>;
            async fn r#sum(&self, numbers: std::vec::Vec<f64>) -> f64;
            async fn greet(&self, r#who: std::string::String) -> String;
        }
    "#;
    assert_eq!(fp(respelled), base);

    let deque = fp("trait S { async fn f(&self, v: VecDeque<String>) -> BTreeMap<u8, u8>; }");
    let vec = fp("trait S { async fn f(&self, v: Vec<String>) -> HashMap<u8, u8>; }");
    assert_eq!(deque, vec);
    let bytes = fp("trait S { async fn f(&self, v: Vec<u8>) -> serde_bytes::ByteBuf; }");
    let buf = fp("trait S { async fn f(&self, v: ByteBuf) -> Vec<u8>; }");
    assert_eq!(bytes, buf);
    let unit = fp("trait S { async fn f(&self); }");
    let explicit_unit = fp("trait S { async fn f(&self) -> (); }");
    assert_eq!(unit, explicit_unit);
}

#[test]
fn every_edit_of_the_shape_changes_the_fingerprint() {
    let base = fp(CALCULATOR);
    let edits: &[(&str, &str, &str)] = &[
        ("rename the trait", "trait Calculator", "trait Calculator2"),
        ("rename a method", "fn greet(", "fn hello("),
        (
            "change an argument type",
            "a: i64, b: i64) -> i64",
            "a: i32, b: i64) -> i64",
        ),
        (
            "change a return type",
            "values: Vec<f64>) -> f64",
            "values: Vec<f64>) -> f32",
        ),
        (
            "add an argument",
            "name: String)",
            "name: String, loud: bool)",
        ),
        (
            "remove an argument",
            "(&self, a: i64, b: i64) -> i64",
            "(&self, a: i64) -> i64",
        ),
        ("change a domain error", "MathError>", "String>"),
        ("drop Result", "Result<i64, MathError>", "i64"),
        ("Vec<f64> to [f64; 3]", "Vec<f64>", "[f64; 3]"),
        ("Vec<f64> to Option<f64>", "Vec<f64>", "Option<f64>"),
        (
            "i64 to isize (same bytes, another shape)",
            "a: i64, b: i64) -> i64",
            "a: i64, b: i64) -> isize",
        ),
        (
            "add a method at the end",
            "async fn greet(&self, name: String) -> String;",
            "async fn greet(&self, name: String) -> String; async fn ping(&self);",
        ),
        (
            "add a method in front",
            "async fn add(",
            "async fn ping(&self); async fn add(",
        ),
        (
            "remove a method",
            "async fn sum(&self, values: Vec<f64>) -> f64;",
            "",
        ),
    ];
    for (what, from, to) in edits {
        assert!(
            CALCULATOR.contains(from),
            "{what}: {from:?} not in the source"
        );
        let edited = CALCULATOR.replacen(from, to, 1);
        assert_ne!(fp(&edited), base, "{what} left the fingerprint unchanged");
    }

    let reordered = r#"
        trait Calculator {
            async fn divide(&self, a: i64, b: i64) -> Result<i64, MathError>;
            async fn add(&self, a: i64, b: i64) -> i64;
            async fn sum(&self, values: Vec<f64>) -> f64;
            async fn greet(&self, name: String) -> String;
        }
    "#;
    assert_ne!(fp(reordered), base, "reordering methods renumbers them");

    // Generic arguments of user types are part of the shape.
    assert_ne!(
        fp("trait S { async fn f(&self) -> Page<u32>; }"),
        fp("trait S { async fn f(&self) -> Page<u64>; }")
    );
    // The user type's name is, its definition is not (the macro cannot see it).
    assert_ne!(
        fp("trait S { async fn f(&self) -> Point; }"),
        fp("trait S { async fn f(&self) -> Vector; }")
    );
}

#[test]
fn the_model_records_methods_in_order_with_their_shapes() {
    let c = parse(CALCULATOR);
    assert_eq!(c.name, "Calculator");
    let names: Vec<String> = c.methods.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names, ["add", "divide", "sum", "greet"]);
    assert_eq!(c.docs, ["A calculator that lives in another process."]);
    assert_eq!(c.methods[0].docs, ["Adds two numbers."]);
    let args: Vec<String> = c.methods[0]
        .args
        .iter()
        .map(|a| a.name.to_string())
        .collect();
    assert_eq!(args, ["a", "b"]);
    assert!(c.methods[0].domain_result().is_none());
    let (ok, err) = c.methods[1]
        .domain_result()
        .expect("divide returns a Result");
    assert_eq!(
        (ok.to_string(), err.to_string()),
        ("i64".into(), "MathError".into())
    );
}

#[test]
fn a_partial_contract_keeps_the_methods_without_mistakes() {
    let item: syn::ItemTrait = syn::parse_str(
        "trait S { async fn good(&self) -> u8; fn bad(&self); async fn also_good(&self); }",
    )
    .expect("a trait");
    let (c, errs) = parse_contract_partial(&item, false);
    assert_eq!(errs.map_err(|e| e.into_iter().count()), Err(1));
    let names: Vec<String> = c.methods.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names, ["good", "also_good"]);
}

#[test]
fn a_generic_trait_is_one_error_and_its_generic_methods_are_left_out() {
    let item: syn::ItemTrait = syn::parse_str(
        "trait S<T> { async fn put(&self, v: Vec<T>); async fn len(&self) -> u64; }",
    )
    .expect("a trait");
    let (c, errs) = parse_contract_partial(&item, false);
    assert_eq!(errs.map_err(|e| e.into_iter().count()), Err(1));
    let names: Vec<String> = c.methods.iter().map(|m| m.name.to_string()).collect();
    assert_eq!(names, ["len"]);
}

#[test]
fn several_mistakes_are_all_reported() {
    let errs = errors("trait S { fn a(&self); async fn b(&mut self); type C; }");
    assert_eq!(errs.len(), 3, "{errs:#?}");
}

// The trait header.

#[test]
fn rejects_an_unsafe_trait() {
    rejects("unsafe trait S {}", "unsafe", &["cannot be `unsafe`"]);
}

#[test]
fn rejects_an_auto_trait() {
    rejects("auto trait S {}", "auto", &["cannot be an auto trait"]);
}

#[test]
fn rejects_a_generic_trait() {
    rejects(
        "trait S<T> { async fn len(&self) -> u64; }",
        "<T>",
        &["cannot be generic", "one contract per concrete type"],
    );
    rejects(
        "trait S where Self: Sized { async fn len(&self) -> u64; }",
        "where Self: Sized",
        &["cannot be generic"],
    );
}

#[test]
fn rejects_supertraits() {
    rejects(
        "trait S: Clone + Named { async fn len(&self) -> u64; }",
        "Clone + Named",
        &["cannot have supertraits", "already `Send + Sync + 'static`"],
    );
}

// Items other than methods.

#[test]
fn rejects_an_associated_type() {
    rejects(
        "trait S { type Key; }",
        "type Key;",
        &["associated types", "name the concrete type"],
    );
}

#[test]
fn rejects_an_associated_const() {
    rejects(
        "trait S { const N: usize; }",
        "const N: usize;",
        &["associated consts", "use a method that returns the value"],
    );
}

#[test]
fn rejects_a_macro_in_the_trait() {
    rejects(
        "trait S { methods!(); }",
        "methods!();",
        &["macro inside a contract", "write the methods out"],
    );
}

// Method signatures.

#[test]
fn rejects_a_method_that_is_not_async() {
    rejects(
        &method("fn add(&self, a: i64) -> i64;"),
        "fn add",
        &["`add` must be `async fn`", "write `async fn add`"],
    );
}

#[test]
fn rejects_const_unsafe_and_extern_methods() {
    rejects(
        &method("const async fn f(&self);"),
        "const",
        &["cannot be `const`"],
    );
    rejects(
        &method("async unsafe fn f(&self);"),
        "unsafe",
        &["cannot be `unsafe`"],
    );
    rejects(
        &method("async extern \"C\" fn f(&self);"),
        "extern \"C\"",
        &["cannot declare an ABI"],
    );
}

#[test]
fn rejects_a_variadic_method() {
    rejects(
        &method("async fn f(&self, ...);"),
        "...",
        &["cannot be variadic"],
    );
}

#[test]
fn rejects_a_generic_method() {
    rejects(
        &method("async fn put<T>(&self, v: T);"),
        "<T>",
        &["`put` cannot be generic", "one method per concrete type"],
    );
    rejects(
        &method("async fn put(&self, v: u8) where u8: Copy;"),
        "where u8: Copy",
        &["`put` cannot be generic"],
    );
}

#[test]
fn rejects_a_default_body() {
    rejects(
        &method("async fn f(&self) -> u8 { 1 }"),
        "{ 1 }",
        &["cannot have a default body", "remove the body"],
    );
}

#[test]
fn rejects_names_the_generated_code_uses() {
    for name in super::RESERVED_METHOD_NAMES {
        rejects(
            &method(&format!("async fn {name}(&self);")),
            name,
            &["already uses", "rename the method", "with_timeout"],
        );
    }
    // Raw identifiers do not escape the check.
    rejects(
        &method("async fn r#new(&self);"),
        "r#new",
        &["`new` is a name"],
    );
}

#[test]
fn rejects_a_method_declared_twice() {
    rejects(
        "trait S { async fn f(&self); async fn r#f(&self, x: u8); }",
        "r#f",
        &["`f` is declared twice"],
    );
}

// Receivers.

#[test]
fn rejects_receivers_other_than_ref_self() {
    rejects(
        &method("async fn f(&mut self);"),
        "&mut self",
        &["not `&mut self`", "`Mutex`", "write `&self`"],
    );
    rejects(
        &method("async fn f(self);"),
        "self",
        &["not `self`", "write `&self`"],
    );
    rejects(
        &method("async fn f(mut self);"),
        "mut self",
        &["not `self`"],
    );
    rejects(
        &method("async fn f(self: Box<Self>);"),
        "self: Box<Self>",
        &["not a typed receiver", "write `&self`"],
    );
    rejects(
        &method("async fn f(&'a self);"),
        "'a",
        &["plain `&self`, without a lifetime"],
    );
}

#[test]
fn rejects_a_method_without_receiver() {
    rejects(
        &method("async fn version() -> u8;"),
        "()",
        &[
            "`version` needs a `&self` receiver",
            "async fn version(&self, ...)",
        ],
    );
    rejects(
        &method("async fn version(x: u8) -> u8;"),
        "(x: u8)",
        &["needs a `&self` receiver"],
    );
}

// Arguments.

#[test]
fn rejects_arguments_that_are_not_plain_names() {
    for (pattern, at) in [
        ("(a, b): (i32, i32)", "(a, b)"),
        ("_: u8", "_"),
        ("ref a: u8", "ref a"),
        ("a @ _: u8", "a @ _"),
        ("Point { x }: Point", "Point { x }"),
    ] {
        rejects(
            &method(&format!("async fn f(&self, {pattern});")),
            at,
            &["must be a plain name, like `value: T`"],
        );
    }
}

#[test]
fn rejects_a_mut_argument() {
    rejects(
        &method("async fn f(&self, mut a: u8);"),
        "mut",
        &["without `mut`"],
    );
}

#[test]
fn rejects_an_argument_named_twice() {
    rejects(
        &method("async fn f(&self, a: u8, r#a: u16);"),
        "r#a",
        &["named twice"],
    );
}

#[test]
fn rejects_more_than_sixteen_arguments() {
    let args: Vec<String> = (0..17).map(|i| format!("a{i}: u8")).collect();
    rejects(
        &method(&format!("async fn f(&self, {});", args.join(", "))),
        "a16: u8",
        &["more than 16 arguments", "group them in a struct"],
    );
    let sixteen: Vec<String> = (0..16).map(|i| format!("a{i}: u8")).collect();
    let c = parse(&method(&format!(
        "async fn f(&self, {});",
        sixteen.join(", ")
    )));
    assert_eq!(c.methods[0].args.len(), 16);
}

// Types, in argument and in return position.

#[test]
fn rejects_types_that_cannot_cross_a_process_boundary() {
    let cases: &[(&str, &str, &str)] = &[
        ("&str", "&str", "`String` for `&str`"),
        ("&'a [u8]", "&'a [u8]", "use an owned type"),
        (
            "impl Into<String>",
            "impl Into<String>",
            "`impl Trait` cannot cross",
        ),
        ("Box<dyn Fn()>", "dyn Fn()", "trait object"),
        ("*const u8", "*const u8", "raw pointer"),
        ("fn(u8) -> u8", "fn(u8) -> u8", "function pointer"),
        ("!", "!", "`!` cannot be sent"),
        ("_", "_", "write the type out"),
        ("ty!()", "ty!()", "type macro"),
        ("[u8; N]", "N", "integer literal"),
        ("Cow<'static, str>", "'static", "cannot use lifetimes"),
        (
            "Option<u8, u8>",
            "Option<u8, u8>",
            "`Option` takes 1 type argument(s) here, found 2",
        ),
        ("Vec", "Vec", "`Vec` takes 1"),
        ("HashMap<u8>", "HashMap<u8>", "`HashMap` takes 2"),
        ("Result<u8>", "Result<u8>", "`Result` takes 2"),
        ("String<u8>", "String<u8>", "`String` takes 0"),
        ("Array<3>", "3", "only type arguments"),
        (
            "<T as Trait>::Out",
            "<T as Trait>::Out",
            "owned, serializable type",
        ),
    ];
    for (ty, at, part) in cases {
        rejects(
            &method(&format!("async fn f(&self, v: {ty});")),
            at,
            &[part],
        );
        rejects(&method(&format!("async fn f(&self) -> {ty};")), at, &[part]);
        // Nested inside a supported type, still at the offending tokens.
        rejects(
            &method(&format!("async fn f(&self) -> Vec<({ty}, u8)>;")),
            at,
            &[part],
        );
    }
}

#[test]
fn rejects_function_trait_syntax() {
    // Rust writes `Fn(u8)` only as a bound; build the type path by hand.
    let bound: syn::TraitBound = syn::parse_str("Fn(u8)").expect("a bound");
    let ty = syn::Type::Path(syn::TypePath {
        qself: None,
        path: bound.path,
    });
    let err = super::parse_type(&ty).expect_err("`Fn(u8)` is not a wire type");
    assert!(
        err.to_string().contains("function traits cannot cross"),
        "{err}"
    );
    assert_eq!(err.span().source_text().as_deref(), Some("(u8)"));
}

#[test]
fn an_unsized_slice_is_rejected() {
    rejects(
        &method("async fn f(&self, v: Box<[u8]>);"),
        "[u8]",
        &["unsized slice", "use `Vec<T>`"],
    );
}

#[test]
fn streams_stand_as_the_answer_or_one_argument() {
    let c = parse(
        "trait Logs {
            async fn tail(&self, path: String) -> goproc::Stream<String>;
            async fn upload(&self, name: String, data: Stream<Vec<u8>>) -> u64;
            async fn transform(&self, lines: Stream<String>, upper: bool) -> Stream<String>;
        }",
    );
    assert_eq!(c.methods[0].answer_stream(), Some(&super::Ty::String));
    assert_eq!(c.methods[0].stream_arg(), None);
    assert_eq!(c.methods[1].stream_arg(), Some((1, &super::Ty::Bytes)));
    assert_eq!(c.methods[1].answer_stream(), None);
    let sent: Vec<String> = c.methods[2]
        .request_args()
        .map(|a| a.name.to_string())
        .collect();
    assert_eq!(sent, ["upper"]);
    assert!(c
        .canonical_text()
        .contains("fn transform(stream<string>,bool) -> stream<string>\n"));
}

#[test]
fn a_stream_inside_another_type_is_refused_at_the_type() {
    rejects(
        &method("async fn a(&self, x: Option<Stream<u8>>);"),
        "Option<Stream<u8>>",
        &["cannot be nested"],
    );
    rejects(
        &method("async fn a(&self) -> Result<Stream<u8>, String>;"),
        "Result<Stream<u8>, String>",
        &["cannot be nested", "Result<T, E>"],
    );
    rejects(
        &method("async fn a(&self) -> Stream<Stream<u8>>;"),
        "Stream<Stream<u8>>",
        &["cannot be nested"],
    );
}

#[test]
fn a_method_takes_at_most_one_stream() {
    rejects(
        &method("async fn a(&self, x: Stream<u8>, y: Stream<u16>);"),
        "Stream<u16>",
        &["more than one stream", "at most one"],
    );
}

fn parse_events(src: &str) -> Result<Contract, Vec<String>> {
    let item: syn::ItemTrait = syn::parse_str(src).expect("test source is a trait");
    let (c, errs) = parse_contract_partial(&item, true);
    errs.map(|()| c)
        .map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
}

#[test]
fn an_event_contract_declares_one_payload_per_event() {
    let c = parse_events(
        "trait Telemetry {
            fn temperature(&self, celsius: f32);
            fn alarm(&self, alarm: Alarm);
        }",
    )
    .unwrap();
    assert!(c.events);
    assert_eq!(
        c.canonical_text(),
        "goproc-contract/1\nevents Telemetry\nevent temperature(f32)\nevent alarm(Alarm)\n"
    );
    assert_eq!(
        c.channel(),
        u64::from_str_radix(&c.fingerprint[..16], 16).unwrap()
    );
    // The same methods as a contract of calls never share its fingerprint.
    let calls = parse("trait Telemetry { async fn temperature(&self, celsius: f32); async fn alarm(&self, alarm: Alarm); }");
    assert_ne!(calls.fingerprint, c.fingerprint);

    let errs = parse_events(
        "trait E {
            async fn a(&self, x: u8);
            fn b(&self, x: u8, y: u8);
            fn c(&self) -> u8;
            fn d(&self, x: Stream<u8>);
        }",
    )
    .unwrap_err();
    let all = errs.join("\n");
    for part in [
        "declare it without `async`",
        "exactly one payload after `&self`, found 2",
        "exactly one payload after `&self`, found 0",
        "cannot return a value",
        "cannot be a stream",
    ] {
        assert!(all.contains(part), "{part:?} missing from:\n{all}");
    }
}

#[test]
fn the_events_flag_is_read_from_the_attribute_in_a_source_file() {
    let item: syn::ItemTrait =
        syn::parse_str("#[goproc::plugin_interface(events)] trait E { fn a(&self, x: u8); }")
            .unwrap();
    assert!(parse_contract(&item).unwrap().events);
}
