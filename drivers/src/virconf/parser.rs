//! Cursor-based reader of virConf text.
//!
//! It walks the bytes the way libvirt's reader does, so that errors are raised for the
//! same inputs, with the same words and on the same line. Every delimiter is ASCII,
//! so slicing the UTF-8 text at delimiter positions always yields valid strings.

use super::error::{ConfError, SyntaxProblem};
use super::value::{Entry, Value};

/// Parses a whole file into its entries (comments are dropped).
pub(super) fn parse_entries(text: &str, filename: &str) -> Result<Vec<Entry>, ConfError> {
    let mut cursor = Cursor {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        line: 1,
        filename,
    };
    let mut entries = Vec::new();
    while !cursor.at_end() {
        cursor.skip_blanks_and_eol();
        if cursor.at_end() {
            // Only blank lines were left; libvirt would say "expecting a name".
            break;
        }
        if cursor.peek() == Some(b'#') {
            cursor.skip_comment();
        } else {
            entries.push(cursor.statement()?);
        }
        cursor.separator()?;
    }
    Ok(entries)
}

struct Cursor<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    line: usize,
    filename: &'a str,
}

fn is_blank(byte: u8) -> bool {
    byte == b' ' || byte == b'\t'
}

/// `\r` ends a line like `\n` does, but only `\n` counts as a new line number.
fn is_eol(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

impl Cursor<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) {
        if let Some(byte) = self.peek() {
            if byte == b'\n' {
                self.line += 1;
            }
            self.pos += 1;
        }
    }

    fn error(&self, problem: SyntaxProblem) -> ConfError {
        ConfError::Syntax {
            file: self.filename.to_string(),
            line: self.line,
            problem,
        }
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(is_blank) {
            self.bump();
        }
    }

    fn skip_blanks_and_eol(&mut self) {
        while self.peek().is_some_and(|b| is_blank(b) || is_eol(b)) {
            self.bump();
        }
    }

    /// Skips from `#` up to, not including, the end of the line.
    fn skip_comment(&mut self) {
        while self.peek().is_some_and(|b| !is_eol(b)) {
            self.bump();
        }
    }

    /// Inside brackets: blanks, line ends and (our extension) comments.
    fn skip_list_filler(&mut self) {
        loop {
            self.skip_blanks_and_eol();
            if self.peek() == Some(b'#') {
                self.skip_comment();
            } else {
                return;
            }
        }
    }

    /// After a statement: the end of the text, a line end or a `;`.
    fn separator(&mut self) -> Result<(), ConfError> {
        self.skip_blanks();
        match self.peek() {
            None => Ok(()),
            Some(b';') => {
                self.bump();
                self.skip_blanks_and_eol();
                Ok(())
            }
            Some(byte) if is_eol(byte) => {
                self.skip_blanks_and_eol();
                Ok(())
            }
            Some(_) => Err(self.error(SyntaxProblem::ExpectingSeparator)),
        }
    }

    /// `name = value [# comment]`
    fn statement(&mut self) -> Result<Entry, ConfError> {
        self.skip_blanks();
        let line = self.line;
        let name = self.name()?;
        self.skip_blanks();
        if self.peek() != Some(b'=') {
            return Err(self.error(SyntaxProblem::ExpectingAssignment));
        }
        self.bump();
        let value = self.value()?;
        self.skip_blanks();
        if self.peek() == Some(b'#') {
            self.skip_comment();
        }
        Ok(Entry { name, value, line })
    }

    /// An ASCII letter followed by letters, digits and underscores.
    fn name(&mut self) -> Result<String, ConfError> {
        let start = self.pos;
        if !self.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
            return Err(self.error(SyntaxProblem::ExpectingName));
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.bump();
        }
        Ok(self.text[start..self.pos].to_string())
    }

    fn value(&mut self) -> Result<Value, ConfError> {
        self.skip_blanks();
        match self.peek() {
            Some(b'"') | Some(b'\'') => self.string().map(Value::String),
            Some(b'[') => self.list(),
            Some(byte) if byte.is_ascii_digit() || byte == b'-' || byte == b'+' => self.number(),
            _ => Err(self.error(SyntaxProblem::ExpectingValue)),
        }
    }

    fn string(&mut self) -> Result<String, ConfError> {
        if self.bytes[self.pos..].starts_with(b"\"\"\"") {
            return self.triple_quoted_string();
        }
        let quote = self.peek();
        self.bump();
        let start = self.pos;
        while self.peek().is_some_and(|b| Some(b) != quote && !is_eol(b)) {
            self.bump();
        }
        if self.peek() != quote {
            return Err(self.error(SyntaxProblem::UnterminatedString));
        }
        let content = self.text[start..self.pos].to_string();
        self.bump();
        Ok(content)
    }

    fn triple_quoted_string(&mut self) -> Result<String, ConfError> {
        self.pos += 3;
        let start = self.pos;
        // Like libvirt, stop looking once fewer than three bytes are left, which also
        // keeps the reported line on the last line that could have closed the string.
        while self.pos + 2 < self.bytes.len() && !self.bytes[self.pos..].starts_with(b"\"\"\"") {
            self.bump();
        }
        if !self.bytes[self.pos..].starts_with(b"\"\"\"") {
            return Err(self.error(SyntaxProblem::UnterminatedString));
        }
        let content = self.text[start..self.pos].to_string();
        self.pos += 3;
        Ok(content)
    }

    /// `[ v, v, ]`: a trailing comma is allowed, and after a comma a value must follow
    /// unless the list closes (libvirt reports a missing one as `expecting a value`).
    fn list(&mut self) -> Result<Value, ConfError> {
        self.bump();
        self.skip_list_filler();
        let mut items = Vec::new();
        if !self.at_end() && self.peek() != Some(b']') {
            items.push(self.value()?);
            self.skip_list_filler();
        }
        while !self.at_end() && self.peek() != Some(b']') {
            if self.peek() != Some(b',') {
                return Err(self.error(SyntaxProblem::ExpectingListSeparator));
            }
            self.bump();
            self.skip_list_filler();
            if self.peek() == Some(b']') {
                break;
            }
            items.push(self.value()?);
            self.skip_list_filler();
        }
        if self.peek() != Some(b']') {
            return Err(self.error(SyntaxProblem::ListNotClosed));
        }
        self.bump();
        Ok(Value::List(items))
    }

    /// Decimal digits with an optional sign; only `-` makes the value "signed".
    fn number(&mut self) -> Result<Value, ConfError> {
        let signed = self.peek() == Some(b'-');
        if matches!(self.peek(), Some(b'-') | Some(b'+')) {
            self.bump();
        }
        if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
            return Err(self.error(SyntaxProblem::UnterminatedNumber));
        }
        let mut magnitude: u64 = 0;
        let mut overflow = false;
        while let Some(digit) = self.peek().filter(u8::is_ascii_digit) {
            match magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(digit - b'0')))
            {
                Some(next) => magnitude = next,
                None => overflow = true,
            }
            self.bump();
        }
        let value = if signed {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        };
        match value {
            Some(value) if !overflow => Ok(Value::Int { value, signed }),
            _ => Err(self.error(SyntaxProblem::NumberOutOfRange)),
        }
    }
}
