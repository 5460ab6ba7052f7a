//! Reads the text form back (see `render.rs`), with or without docs.

use std::fmt;

use super::{
    ArgSchema, Body, ContractSchema, FieldSchema, Fields, MethodSchema, Type, TypeSchema,
    VariantSchema,
};

/// Why a schema text could not be read, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What was expected.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "schema text line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// Reads one or more contracts, each followed by its types.
pub fn parse_schemas(text: &str) -> Result<Vec<ContractSchema>, ParseError> {
    let tokens = tokenize(text)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        end: position_after(text),
    };
    let mut contracts: Vec<ContractSchema> = Vec::new();
    while !p.at_end() {
        let docs = p.docs();
        let keyword = p.ident("`contract`, `events`, `struct` or `enum`")?;
        match keyword.as_str() {
            "contract" | "events" => contracts.push(p.contract(docs, keyword == "events")?),
            "struct" | "enum" => {
                let Some(contract) = contracts.last_mut() else {
                    return Err(p.error_before("a type before any `contract` block"));
                };
                let t = p.type_def(docs, keyword == "enum")?;
                contract.types.push(t);
            }
            other => {
                return Err(p.error_before(&format!(
                    "expected `contract`, `events`, `struct` or `enum`, found `{other}`"
                )))
            }
        }
    }
    for c in &mut contracts {
        c.types.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(contracts)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Number(usize),
    Punct(char),
    Arrow,
    Doc(String),
}

#[derive(Debug, Clone)]
struct Spanned {
    tok: Tok,
    line: usize,
    column: usize,
}

fn position_after(text: &str) -> (usize, usize) {
    let line = text.lines().count().max(1);
    let column = text.lines().last().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn tokenize(text: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let at = |tok| Spanned {
                tok,
                line: n + 1,
                column: i + 1,
            };
            if c.is_whitespace() {
                i += 1;
            } else if line[char_offset(line, i)..].starts_with("///") {
                let rest: String = chars[i + 3..].iter().collect();
                let doc = rest.strip_prefix(' ').unwrap_or(&rest).to_string();
                out.push(at(Tok::Doc(doc)));
                break;
            } else if c.is_alphabetic() || c == '_' {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(Spanned {
                    tok: Tok::Ident(word),
                    line: n + 1,
                    column: start + 1,
                });
            } else if c.is_ascii_digit() {
                let start = i;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                let digits: String = chars[start..i].iter().collect();
                let number = digits.parse().map_err(|_| ParseError {
                    line: n + 1,
                    column: start + 1,
                    message: format!("the number {digits} is too large"),
                })?;
                out.push(Spanned {
                    tok: Tok::Number(number),
                    line: n + 1,
                    column: start + 1,
                });
            } else if c == '-' && chars.get(i + 1) == Some(&'>') {
                out.push(at(Tok::Arrow));
                i += 2;
            } else if "{}()<>[];:,".contains(c) {
                out.push(at(Tok::Punct(c)));
                i += 1;
            } else {
                return Err(ParseError {
                    line: n + 1,
                    column: i + 1,
                    message: format!("unexpected character `{c}`"),
                });
            }
        }
    }
    Ok(out)
}

fn char_offset(line: &str, chars: usize) -> usize {
    line.char_indices()
        .nth(chars)
        .map_or(line.len(), |(b, _)| b)
}

struct Parser {
    tokens: Vec<Spanned>,
    pos: usize,
    end: (usize, usize),
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.tokens.len()
    }

    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos).map(|t| &t.tok)
    }

    fn error_here(&self, message: &str) -> ParseError {
        let (line, column) = self
            .tokens
            .get(self.pos)
            .map_or(self.end, |t| (t.line, t.column));
        ParseError {
            line,
            column,
            message: message.to_string(),
        }
    }

    fn error_before(&self, message: &str) -> ParseError {
        let at = self.pos.saturating_sub(1);
        let (line, column) = self.tokens.get(at).map_or(self.end, |t| (t.line, t.column));
        ParseError {
            line,
            column,
            message: message.to_string(),
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            None => "the end of the text".into(),
            Some(Tok::Ident(s)) => format!("`{s}`"),
            Some(Tok::Number(n)) => format!("`{n}`"),
            Some(Tok::Punct(c)) => format!("`{c}`"),
            Some(Tok::Arrow) => "`->`".into(),
            Some(Tok::Doc(_)) => "a doc comment".into(),
        }
    }

    fn docs(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(Tok::Doc(d)) = self.peek() {
            lines.push(d.clone());
            self.pos += 1;
        }
        lines
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char) -> Result<(), ParseError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.error_here(&format!("expected `{c}`, found {}", self.found())))
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, ParseError> {
        match self.peek() {
            Some(Tok::Ident(s)) => {
                let s = s.clone();
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.error_here(&format!("expected {what}, found {}", self.found()))),
        }
    }

    fn contract(&mut self, docs: Vec<String>, events: bool) -> Result<ContractSchema, ParseError> {
        let name = self.ident("the contract's name")?;
        self.expect('{')?;
        let mut methods = Vec::new();
        loop {
            let docs = self.docs();
            if self.eat('}') {
                break;
            }
            let kw = self.ident("`fn` or `}`")?;
            if kw != "fn" {
                return Err(self.error_before(&format!("expected `fn` or `}}`, found `{kw}`")));
            }
            let name = self.ident("the method's name")?;
            self.expect('(')?;
            let mut args = Vec::new();
            while !self.eat(')') {
                if !args.is_empty() {
                    self.expect(',')?;
                }
                let name = self.ident("an argument's name")?;
                self.expect(':')?;
                let ty = self.ty()?;
                args.push(ArgSchema { name, ty });
            }
            let ret = if self.peek() == Some(&Tok::Arrow) {
                self.pos += 1;
                self.ty()?
            } else {
                Type::Unit
            };
            self.expect(';')?;
            methods.push(MethodSchema {
                name,
                docs,
                args,
                ret,
            });
        }
        Ok(ContractSchema {
            name,
            docs,
            events,
            methods,
            types: Vec::new(),
        })
    }

    fn type_def(&mut self, docs: Vec<String>, is_enum: bool) -> Result<TypeSchema, ParseError> {
        let name = self.type_name()?;
        let body = if is_enum {
            self.expect('{')?;
            let mut variants = Vec::new();
            loop {
                let docs = self.docs();
                if self.eat('}') {
                    break;
                }
                let name = self.ident("a variant's name")?;
                let fields = if self.eat('(') {
                    Fields::Tuple(self.types_until(')')?)
                } else if self.eat('{') {
                    Fields::Named(self.named_fields()?)
                } else {
                    Fields::Unit
                };
                self.expect(',')?;
                variants.push(VariantSchema { name, docs, fields });
            }
            Body::Enum(variants)
        } else if self.eat(';') {
            Body::Struct(Fields::Unit)
        } else if self.eat('(') {
            let ts = self.types_until(')')?;
            self.expect(';')?;
            Body::Struct(Fields::Tuple(ts))
        } else {
            self.expect('{')?;
            Body::Struct(Fields::Named(self.named_fields()?))
        };
        Ok(TypeSchema { name, docs, body })
    }

    /// `name: Type,` lines up to and including the closing `}`.
    fn named_fields(&mut self) -> Result<Vec<FieldSchema>, ParseError> {
        let mut fields = Vec::new();
        loop {
            let docs = self.docs();
            if self.eat('}') {
                return Ok(fields);
            }
            let name = self.ident("a field's name")?;
            self.expect(':')?;
            let ty = self.ty()?;
            self.expect(',')?;
            fields.push(FieldSchema { name, docs, ty });
        }
    }

    /// A user type's name, with the type arguments of an instance (`Page<i64>`).
    fn type_name(&mut self) -> Result<String, ParseError> {
        let name = self.ident("a type's name")?;
        if self.eat('<') {
            let args = self.types_until('>')?;
            return Ok(instance_name(&name, &args));
        }
        Ok(name)
    }

    /// Types separated by commas, up to and including `close`.
    fn types_until(&mut self, close: char) -> Result<Vec<Type>, ParseError> {
        let mut ts = Vec::new();
        while !self.eat(close) {
            if !ts.is_empty() {
                self.expect(',')?;
                if self.eat(close) {
                    break;
                }
            }
            ts.push(self.ty()?);
        }
        Ok(ts)
    }

    fn ty(&mut self) -> Result<Type, ParseError> {
        if self.eat('(') {
            let mut ts = Vec::new();
            let mut trailing_comma = false;
            while !self.eat(')') {
                if !ts.is_empty() {
                    self.expect(',')?;
                    trailing_comma = true;
                    if self.eat(')') {
                        break;
                    }
                }
                trailing_comma = false;
                ts.push(self.ty()?);
            }
            return Ok(match ts.len() {
                0 => Type::Unit,
                1 if !trailing_comma => {
                    return Err(self.error_before("a one-element tuple is written `(T,)`"))
                }
                _ => Type::Tuple(ts),
            });
        }
        if self.eat('[') {
            let item = self.ty()?;
            self.expect(';')?;
            let n = match self.peek() {
                Some(Tok::Number(n)) => *n,
                _ => {
                    return Err(self
                        .error_here(&format!("expected an array length, found {}", self.found())))
                }
            };
            self.pos += 1;
            self.expect(']')?;
            return Ok(Type::Array(Box::new(item), n));
        }
        let name = self.ident("a type")?;
        let args = if self.eat('<') {
            self.types_until('>')?
        } else {
            Vec::new()
        };
        let arity = |n: usize, p: &Parser| -> Result<(), ParseError> {
            if args.len() == n {
                Ok(())
            } else {
                Err(p.error_before(&format!(
                    "`{name}` takes {n} type argument(s), found {}",
                    args.len()
                )))
            }
        };
        let scalar = match name.as_str() {
            "bool" => Some(Type::Bool),
            "u8" => Some(Type::U8),
            "u16" => Some(Type::U16),
            "u32" => Some(Type::U32),
            "u64" => Some(Type::U64),
            "u128" => Some(Type::U128),
            "i8" => Some(Type::I8),
            "i16" => Some(Type::I16),
            "i32" => Some(Type::I32),
            "i64" => Some(Type::I64),
            "i128" => Some(Type::I128),
            "f32" => Some(Type::F32),
            "f64" => Some(Type::F64),
            "char" => Some(Type::Char),
            "String" => Some(Type::String),
            "bytes" => Some(Type::Bytes),
            _ => None,
        };
        if let Some(t) = scalar {
            arity(0, self)?;
            return Ok(t);
        }
        let mut args = args.clone();
        let mut next = || Box::new(args.remove(0));
        Ok(match name.as_str() {
            "Option" => {
                arity(1, self)?;
                Type::Option(next())
            }
            "Vec" => {
                arity(1, self)?;
                Type::Seq(next())
            }
            "Stream" => {
                arity(1, self)?;
                Type::Stream(next())
            }
            "Map" => {
                arity(2, self)?;
                Type::Map(next(), next())
            }
            "Result" => {
                arity(2, self)?;
                Type::Result(next(), next())
            }
            _ if args.is_empty() => Type::Named(name),
            _ => Type::Named(instance_name(&name, &args)),
        })
    }
}

/// `Page<i64, String>`: the name of one use of a generic type.
pub(super) fn instance_name(base: &str, args: &[Type]) -> String {
    let args: Vec<String> = args.iter().map(Type::to_string).collect();
    format!("{base}<{}>", args.join(", "))
}
