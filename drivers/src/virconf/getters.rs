//! Typed lookups with libvirt's type rules, shared by every configuration reader.
//!
//! Each getter returns `Ok(None)` when the key is absent (the caller keeps its
//! default), the converted value when it is present and fits, and an error naming
//! file, line and key otherwise. The rules are libvirt's: booleans are the unsigned
//! integers 0 and 1 (never strings, never `-0`), unsigned settings refuse any number
//! written with a `-`, and every number must fit the setting's C type.

use super::error::{ConfError, ValueProblem};
use super::value::{ConfFile, Entry, Value};

impl ConfFile {
    fn value_error(&self, entry: &Entry, problem: ValueProblem) -> ConfError {
        ConfError::Value {
            file: self.filename().to_string(),
            line: entry.line,
            key: entry.name.clone(),
            problem,
        }
    }

    /// A boolean: the unsigned integer 0 or 1.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ConfError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        match entry.value {
            Value::Int {
                value,
                signed: false,
            } => match value {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                _ => Err(self.value_error(entry, ValueProblem::BoolNotZeroOrOne)),
            },
            _ => Err(self.value_error(entry, ValueProblem::ExpectedBool)),
        }
    }

    /// The entry for `key` if it holds an integer written without `-`.
    fn unsigned_entry(&self, key: &str) -> Result<Option<(&Entry, u64)>, ConfError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        match entry.value {
            Value::Int {
                value,
                signed: false,
            } => match u64::try_from(value) {
                Ok(value) => Ok(Some((entry, value))),
                Err(_) => Err(self.value_error(entry, ValueProblem::ExpectedUnsigned)),
            },
            _ => Err(self.value_error(entry, ValueProblem::ExpectedUnsigned)),
        }
    }

    /// The entry for `key` if it holds any integer.
    fn signed_entry(&self, key: &str) -> Result<Option<(&Entry, i64)>, ConfError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        match entry.value {
            Value::Int { value, .. } => Ok(Some((entry, value))),
            _ => Err(self.value_error(entry, ValueProblem::ExpectedSigned)),
        }
    }

    /// An unsigned integer (libvirt's `unsigned long long` settings).
    pub fn get_ullong(&self, key: &str) -> Result<Option<u64>, ConfError> {
        Ok(self.unsigned_entry(key)?.map(|(_, value)| value))
    }

    /// An unsigned integer that fits in 32 bits (libvirt's `unsigned int` settings).
    pub fn get_uint(&self, key: &str) -> Result<Option<u32>, ConfError> {
        let Some((entry, value)) = self.unsigned_entry(key)? else {
            return Ok(None);
        };
        u32::try_from(value).map(Some).map_err(|_| {
            let (min, max) = (0, u64::from(u32::MAX));
            self.value_error(entry, ValueProblem::OutOfRange { min, max })
        })
    }

    /// A signed integer, written with or without a sign (libvirt's `long long`).
    pub fn get_llong(&self, key: &str) -> Result<Option<i64>, ConfError> {
        Ok(self.signed_entry(key)?.map(|(_, value)| value))
    }

    /// A signed integer that fits in 32 bits (libvirt's `int` settings).
    pub fn get_int(&self, key: &str) -> Result<Option<i32>, ConfError> {
        let Some((entry, value)) = self.signed_entry(key)? else {
            return Ok(None);
        };
        i32::try_from(value).map(Some).map_err(|_| {
            let (min, max) = (i64::from(i32::MIN), i32::MAX.unsigned_abs().into());
            self.value_error(entry, ValueProblem::OutOfRange { min, max })
        })
    }

    /// A quoted string.
    pub fn get_string(&self, key: &str) -> Result<Option<&str>, ConfError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        match &entry.value {
            Value::String(text) => Ok(Some(text)),
            _ => Err(self.value_error(entry, ValueProblem::ExpectedString)),
        }
    }

    /// A list whose elements are all strings; `[]` gives an empty list.
    pub fn get_string_list(&self, key: &str) -> Result<Option<Vec<String>>, ConfError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        match &entry.value {
            Value::List(items) => self
                .strings_of(items)
                .map(Some)
                .ok_or_else(|| self.value_error(entry, ValueProblem::ExpectedStringList)),
            _ => Err(self.value_error(entry, ValueProblem::ExpectedStringList)),
        }
    }

    /// Like [`ConfFile::get_string_list`], but a single string is accepted as a list of
    /// one, as some qemu.conf settings allow (`security_driver = "selinux"`).
    pub fn get_string_or_list(&self, key: &str) -> Result<Option<Vec<String>>, ConfError> {
        let Some(entry) = self.get(key) else {
            return Ok(None);
        };
        let not_strings = || self.value_error(entry, ValueProblem::ExpectedStringOrStringList);
        match &entry.value {
            Value::String(text) => Ok(Some(vec![text.clone()])),
            // A list with a non-string element gets the list-only wording, as in libvirt.
            Value::List(items) => self
                .strings_of(items)
                .map(Some)
                .ok_or_else(|| self.value_error(entry, ValueProblem::ExpectedStringList)),
            Value::Int { .. } => Err(not_strings()),
        }
    }

    fn strings_of(&self, items: &[Value]) -> Option<Vec<String>> {
        items
            .iter()
            .map(|item| match item {
                Value::String(text) => Some(text.clone()),
                _ => None,
            })
            .collect()
    }
}
