//! `char x<N>` fields: a count, then one sign-extended 4-byte word per
//! character. libvirtd counts the terminating NUL, so "none" is 5 chars.

use crate::xdr::{put_char, put_u32, Decoder, XdrBounded, XdrError};

/// The raw bytes of a `char<N>` field, including any NUL terminator, so that
/// decoding and re-encoding is exact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CharArray(pub Vec<u8>);

impl CharArray {
    /// The text plus a terminating NUL, as libvirtd sends it.
    pub fn with_nul(text: &str) -> Self {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        CharArray(bytes)
    }

    /// The text up to the first NUL (lossy for non-UTF-8 bytes).
    pub fn text(&self) -> String {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        String::from_utf8_lossy(&self.0[..end]).into_owned()
    }
}

impl XdrBounded for CharArray {
    fn encode_bounded(&self, out: &mut Vec<u8>) {
        put_u32(out, self.0.len() as u32);
        for &c in &self.0 {
            put_char(out, c);
        }
    }

    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        let count = d.length("char array", max)?;
        let mut bytes = Vec::with_capacity(count.min(d.remaining() / 4));
        for _ in 0..count {
            bytes.push(d.char()?);
        }
        Ok(CharArray(bytes))
    }
}

/// Encodes a fixed `char x[N]` field: exactly N words.
pub(crate) fn encode_fixed_chars(bytes: &[u8], out: &mut Vec<u8>) {
    for &c in bytes {
        put_char(out, c);
    }
}

/// Decodes a fixed `char x[N]` field.
pub(crate) fn decode_fixed_chars<const N: usize>(d: &mut Decoder<'_>) -> Result<[u8; N], XdrError> {
    let mut out = [0u8; N];
    for slot in out.iter_mut() {
        *slot = d.char()?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_is_five_words() {
        let mut out = Vec::new();
        CharArray::with_nul("none").encode_bounded(&mut out);
        assert_eq!(out.len(), 4 + 5 * 4);
        assert_eq!(&out[..8], &[0, 0, 0, 5, 0, 0, 0, b'n']);
        let back = CharArray::decode_bounded(&mut Decoder::new(&out), 257).unwrap();
        assert_eq!(back.text(), "none");
    }

    #[test]
    fn count_above_limit_is_rejected() {
        let bytes = [0, 0, 1, 2];
        assert_eq!(
            CharArray::decode_bounded(&mut Decoder::new(&bytes), 257),
            Err(XdrError::TooLong {
                what: "char array",
                len: 258,
                max: 257
            })
        );
    }
}
