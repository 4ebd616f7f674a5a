//! A small JSON reader for the replies QEMU sends on its QMP monitor while we probe a
//! binary. Only parsing is needed (we never emit JSON here), so a few dozen lines avoid
//! pulling a serialisation framework into the drivers crate.

use std::collections::BTreeMap;

/// A parsed JSON value. Object member order is not kept: QMP replies are looked up by key.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(BTreeMap<String, Json>),
}

/// Why a line from QEMU was not valid JSON.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum JsonError {
    #[error("unexpected end of JSON input")]
    UnexpectedEnd,
    #[error("unexpected character {0:?} at byte {1}")]
    UnexpectedChar(char, usize),
    #[error("invalid escape sequence at byte {0}")]
    BadEscape(usize),
    #[error("invalid number at byte {0}")]
    BadNumber(usize),
    #[error("trailing data after JSON value at byte {0}")]
    Trailing(usize),
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
}

/// QMP replies are shallow; the limit only guards the recursion against hostile input.
const MAX_DEPTH: usize = 64;

impl Json {
    /// Parses one complete JSON text (surrounding whitespace allowed).
    pub(crate) fn parse(text: &str) -> Result<Json, JsonError> {
        let mut reader = Reader {
            bytes: text.as_bytes(),
            text,
            pos: 0,
        };
        let value = reader.value(0)?;
        reader.skip_ws();
        if reader.pos != reader.bytes.len() {
            return Err(JsonError::Trailing(reader.pos));
        }
        Ok(value)
    }

    /// Member `key` of an object; `None` for other kinds of value.
    pub(crate) fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.get(key),
            _ => None,
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The value as an integer, if it is a number without fractional part.
    pub(crate) fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Some(*n as i64),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Json]> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Result<u8, JsonError> {
        self.bytes
            .get(self.pos)
            .copied()
            .ok_or(JsonError::UnexpectedEnd)
    }

    fn unexpected(&self) -> JsonError {
        match self.text[self.pos..].chars().next() {
            Some(c) => JsonError::UnexpectedChar(c, self.pos),
            None => JsonError::UnexpectedEnd,
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), JsonError> {
        if self.peek()? == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep(MAX_DEPTH));
        }
        self.skip_ws();
        match self.peek()? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(Json::String),
            b't' => self.literal("true", Json::Bool(true)),
            b'f' => self.literal("false", Json::Bool(false)),
            b'n' => self.literal("null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.unexpected())
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.expect(b'{')?;
        let mut members = BTreeMap::new();
        self.skip_ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            members.insert(key, value);
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.expect(b'[')?;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek()? == b']' {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        self.text[start..self.pos]
            .parse::<f64>()
            .map(Json::Number)
            .map_err(|_| JsonError::BadNumber(start))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let start = self.pos;
        let digits = self
            .text
            .get(start..start + 4)
            .ok_or(JsonError::UnexpectedEnd)?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| JsonError::BadEscape(start))
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[start..self.pos]);
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let at = self.pos;
        let c = match self.peek()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                self.pos += 1;
                let first = self.hex4()?;
                let code = if (0xD800..0xDC00).contains(&first) {
                    if !self.bytes[self.pos..].starts_with(b"\\u") {
                        return Err(JsonError::BadEscape(at));
                    }
                    self.pos += 2;
                    let second = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&second) {
                        return Err(JsonError::BadEscape(at));
                    }
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                out.push(char::from_u32(code).ok_or(JsonError::BadEscape(at))?);
                return Ok(());
            }
            _ => return Err(JsonError::BadEscape(at)),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_qmp_machine_entry() {
        let v = Json::parse(
            r#"{"return": [{"name": "pc-i440fx-7.2", "cpu-max": 255, "is-default": true,
                "alias": "pc", "deprecated": false}]}"#,
        )
        .expect("valid json");
        let list = v.get("return").and_then(Json::as_array).expect("array");
        assert_eq!(list.len(), 1);
        assert_eq!(
            list[0].get("name").and_then(Json::as_str),
            Some("pc-i440fx-7.2")
        );
        assert_eq!(list[0].get("cpu-max").and_then(Json::as_i64), Some(255));
        assert_eq!(
            list[0].get("is-default").and_then(Json::as_bool),
            Some(true)
        );
        assert_eq!(list[0].get("alias").and_then(Json::as_str), Some("pc"));
    }

    #[test]
    fn decodes_escapes_and_surrogate_pairs() {
        let v = Json::parse(r#""a\"b\\c\nd\u00e9\ud83d\ude00""#).expect("valid json");
        assert_eq!(v, Json::String("a\"b\\c\nd\u{e9}\u{1F600}".to_string()));
    }

    #[test]
    fn rejects_truncated_and_trailing_input() {
        assert_eq!(Json::parse(r#"{"a": [1, 2"#), Err(JsonError::UnexpectedEnd));
        assert!(matches!(Json::parse("1 2"), Err(JsonError::Trailing(2))));
        assert!(matches!(
            Json::parse("{'a': 1}"),
            Err(JsonError::UnexpectedChar('\'', 1))
        ));
        assert!(Json::parse(&"[".repeat(100)).is_err());
    }

    #[test]
    fn numbers_keep_their_value() {
        assert_eq!(Json::parse("-12.5e1"), Ok(Json::Number(-125.0)));
        assert_eq!(Json::parse("288").ok().and_then(|v| v.as_i64()), Some(288));
        assert_eq!(Json::parse("1.5").ok().and_then(|v| v.as_i64()), None);
    }
}
