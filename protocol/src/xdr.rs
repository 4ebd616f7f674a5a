//! XDR (RFC 4506) encoding and decoding as libvirt's RPC layer uses it.
//!
//! Decoding is strict and canonical: padding must be zero, booleans and
//! presence words must be 0 or 1, strings must be UTF-8, and every length or
//! count is checked against its limit *before* anything is allocated. Because
//! of that, decoding a value and encoding it again reproduces exactly the bytes
//! that were consumed, which the golden tests and the fuzz target rely on.
//!
//! Strings: libvirt strings are C strings without a declared encoding. Real
//! clients only send UTF-8, so a non-UTF-8 string is reported as
//! [`XdrError::NotUtf8`] instead of being replaced lossily (which would break
//! the byte-exact round trip and silently change names).

/// Longest string the remote and admin programs accept (REMOTE_STRING_MAX).
pub const STRING_MAX: usize = 4_194_304;

/// Why a value could not be decoded.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum XdrError {
    /// The input ended in the middle of a value.
    #[error("input truncated")]
    Truncated,
    /// A length or element count is above the limit of its field.
    #[error("{what} length {len} exceeds the maximum {max}")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    /// A boolean or optional-presence word was neither 0 nor 1.
    #[error("invalid boolean or presence word {0}")]
    BadBool(u32),
    /// A union or enum discriminant has no known arm.
    #[error("invalid discriminant {0}")]
    BadDiscriminant(i32),
    /// The padding after an opaque or string held non-zero bytes.
    #[error("non-zero padding")]
    NonZeroPadding,
    /// A string was not valid UTF-8.
    #[error("string is not valid UTF-8")]
    NotUtf8,
    /// A narrow integer (C `char`, `unsigned char`, `unsigned short`) sent as
    /// a 4-byte word had a value outside its range.
    #[error("{what} value {value} out of range")]
    OutOfRange { what: &'static str, value: i64 },
    /// Bytes were left after the value (only reported by [`Decoder::finish`]).
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
}

/// Bytes needed to pad `len` up to a multiple of four.
pub const fn padding(len: usize) -> usize {
    (4 - len % 4) % 4
}

/// A cursor over an XDR byte buffer.
#[derive(Debug, Clone)]
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not consumed yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Succeeds only when every byte has been consumed.
    pub fn finish(self) -> Result<(), XdrError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(XdrError::TrailingBytes(n)),
        }
    }

    /// Takes the next `n` raw bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        if n > self.remaining() {
            return Err(XdrError::Truncated);
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Takes everything that is left (stream payloads are raw bytes).
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos..];
        self.pos = self.buf.len();
        out
    }

    fn word(&mut self) -> Result<[u8; 4], XdrError> {
        let b = self.take(4)?;
        Ok([b[0], b[1], b[2], b[3]])
    }

    fn skip_padding(&mut self, len: usize) -> Result<(), XdrError> {
        let pad = self.take(padding(len))?;
        if pad.iter().any(|&b| b != 0) {
            return Err(XdrError::NonZeroPadding);
        }
        Ok(())
    }

    pub fn u32(&mut self) -> Result<u32, XdrError> {
        self.word().map(u32::from_be_bytes)
    }

    pub fn i32(&mut self) -> Result<i32, XdrError> {
        self.word().map(i32::from_be_bytes)
    }

    pub fn u64(&mut self) -> Result<u64, XdrError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    pub fn i64(&mut self) -> Result<i64, XdrError> {
        self.u64().map(|v| v as i64)
    }

    pub fn f64(&mut self) -> Result<f64, XdrError> {
        self.u64().map(f64::from_bits)
    }

    pub fn bool(&mut self) -> Result<bool, XdrError> {
        match self.u32()? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(XdrError::BadBool(v)),
        }
    }

    /// A length or count word, checked against `max` before anything uses it.
    pub fn length(&mut self, what: &'static str, max: usize) -> Result<usize, XdrError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(XdrError::TooLong { what, len, max });
        }
        Ok(len)
    }

    /// A variable-length string of at most `max` bytes.
    pub fn string(&mut self, max: usize) -> Result<String, XdrError> {
        let bytes = self.opaque_var_named("string", max)?;
        String::from_utf8(bytes).map_err(|_| XdrError::NotUtf8)
    }

    /// Variable-length opaque data of at most `max` bytes.
    pub fn opaque_var(&mut self, max: usize) -> Result<Vec<u8>, XdrError> {
        self.opaque_var_named("opaque", max)
    }

    fn opaque_var_named(&mut self, what: &'static str, max: usize) -> Result<Vec<u8>, XdrError> {
        let len = self.length(what, max)?;
        let bytes = self.take(len)?.to_vec();
        self.skip_padding(len)?;
        Ok(bytes)
    }

    /// Fixed-length opaque data (no length word), e.g. a 16-byte UUID.
    pub fn opaque_fixed<const N: usize>(&mut self) -> Result<[u8; N], XdrError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        self.skip_padding(N)?;
        Ok(out)
    }

    /// A C `char` sent as a sign-extended 4-byte word; returns its byte.
    pub fn char(&mut self) -> Result<u8, XdrError> {
        let v = self.i32()?;
        i8::try_from(v)
            .map(|c| c as u8)
            .map_err(|_| XdrError::OutOfRange {
                what: "char",
                value: v.into(),
            })
    }

    /// A C `unsigned char` sent as a 4-byte word.
    pub fn uchar(&mut self) -> Result<u8, XdrError> {
        let v = self.u32()?;
        u8::try_from(v).map_err(|_| XdrError::OutOfRange {
            what: "unsigned char",
            value: v.into(),
        })
    }

    /// A C `unsigned short` sent as a 4-byte word.
    pub fn ushort(&mut self) -> Result<u16, XdrError> {
        let v = self.u32()?;
        u16::try_from(v).map_err(|_| XdrError::OutOfRange {
            what: "unsigned short",
            value: v.into(),
        })
    }
}

/// Appends a 4-byte big-endian word.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// Appends variable-length opaque data (length word, bytes, zero padding).
pub fn put_opaque_var(out: &mut Vec<u8>, bytes: &[u8]) {
    // Lengths above u32::MAX cannot be expressed; callers keep to the limits.
    put_u32(out, bytes.len() as u32);
    put_opaque_fixed(out, bytes);
}

/// Appends fixed-length opaque data (bytes and zero padding, no length).
pub fn put_opaque_fixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    out.extend_from_slice(&[0u8; 3][..padding(bytes.len())]);
}

/// Appends a C `char` as a sign-extended word (what rpcgen's xdr_char does).
pub fn put_char(out: &mut Vec<u8>, c: u8) {
    put_u32(out, i32::from(c as i8) as u32);
}

/// A value with one fixed XDR encoding.
pub trait Xdr: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError>;
}

/// A value whose encoding needs a per-field limit (variable arrays, `char<N>`).
pub trait XdrBounded: Sized {
    fn encode_bounded(&self, out: &mut Vec<u8>);
    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError>;
}

impl Xdr for u32 {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, *self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.u32()
    }
}

impl Xdr for i32 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.i32()
    }
}

impl Xdr for u64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.u64()
    }
}

impl Xdr for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.i64()
    }
}

impl Xdr for f64 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_be_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.f64()
    }
}

impl Xdr for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, u32::from(*self));
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.bool()
    }
}

impl Xdr for String {
    fn encode(&self, out: &mut Vec<u8>) {
        put_opaque_var(out, self.as_bytes());
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.string(STRING_MAX)
    }
}

/// A UUID (`remote_uuid`): 16 raw bytes.
impl Xdr for [u8; 16] {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        d.opaque_fixed::<16>()
    }
}

impl Xdr for () {
    fn encode(&self, _out: &mut Vec<u8>) {}
    fn decode(_d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(())
    }
}

/// Two values in sequence (e.g. the STREAM_HOLE body: length, flags).
impl<A: Xdr, B: Xdr> Xdr for (A, B) {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out);
        self.1.encode(out);
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok((A::decode(d)?, B::decode(d)?))
    }
}

/// XDR optional data (`T *`): a presence word, then the value if present.
impl<T: Xdr> Xdr for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => put_u32(out, 0),
            Some(v) => {
                put_u32(out, 1);
                v.encode(out);
            }
        }
    }
    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        if d.bool()? {
            T::decode(d).map(Some)
        } else {
            Ok(None)
        }
    }
}

impl<T: Xdr> XdrBounded for Vec<T> {
    fn encode_bounded(&self, out: &mut Vec<u8>) {
        encode_array(self, out);
    }
    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        decode_array(d, max)
    }
}

/// A string with a limit below [`STRING_MAX`].
impl XdrBounded for String {
    fn encode_bounded(&self, out: &mut Vec<u8>) {
        self.encode(out);
    }
    fn decode_bounded(d: &mut Decoder<'_>, max: usize) -> Result<Self, XdrError> {
        d.string(max)
    }
}

/// Encodes a variable-length array: count word, then each element.
pub fn encode_array<T: Xdr>(v: &[T], out: &mut Vec<u8>) {
    put_u32(out, v.len() as u32);
    for item in v {
        item.encode(out);
    }
}

/// Decodes a variable-length array of at most `max` elements. The count is
/// checked against `max` first, and the initial allocation is further bounded
/// by the bytes actually present (every XDR item takes at least 4 bytes), so a
/// hostile count word cannot make us allocate.
pub fn decode_array<T: Xdr>(d: &mut Decoder<'_>, max: usize) -> Result<Vec<T>, XdrError> {
    let count = d.length("array", max)?;
    let mut items = Vec::with_capacity(count.min(d.remaining() / 4));
    for _ in 0..count {
        items.push(T::decode(d)?);
    }
    Ok(items)
}

/// Encodes a value into a fresh buffer.
pub fn to_bytes<T: Xdr>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    v.encode(&mut out);
    out
}

/// Decodes a value from the start of `b`. Trailing bytes are ignored, as
/// libvirtd ignores bytes after a call's arguments.
pub fn from_bytes<T: Xdr>(b: &[u8]) -> Result<T, XdrError> {
    T::decode(&mut Decoder::new(b))
}

/// Decodes a value that must use all of `b`.
pub fn from_bytes_exact<T: Xdr>(b: &[u8]) -> Result<T, XdrError> {
    let mut d = Decoder::new(b);
    let v = T::decode(&mut d)?;
    d.finish()?;
    Ok(v)
}

/// Defines a struct with public fields and its [`Xdr`] impl, encoding the
/// fields in declaration order. A field written `name: Type [MAX]` is encoded
/// through [`XdrBounded`] with that limit.
#[macro_export]
macro_rules! xdr_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty $([$max:expr])? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::xdr::Xdr for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                $( $crate::xdr_field_encode!(self.$field, out $(, $max)?); )*
            }
            #[allow(unused_variables)]
            fn decode(
                d: &mut $crate::xdr::Decoder<'_>,
            ) -> Result<Self, $crate::xdr::XdrError> {
                Ok(Self {
                    $( $field: $crate::xdr_field_decode!(d, $ty $(, $max)?), )*
                })
            }
        }
    };
}

/// Implementation detail of [`xdr_struct!`].
#[doc(hidden)]
#[macro_export]
macro_rules! xdr_field_encode {
    ($v:expr, $out:ident) => {
        $crate::xdr::Xdr::encode(&$v, $out)
    };
    ($v:expr, $out:ident, $max:expr) => {
        $crate::xdr::XdrBounded::encode_bounded(&$v, $out)
    };
}

/// Implementation detail of [`xdr_struct!`].
#[doc(hidden)]
#[macro_export]
macro_rules! xdr_field_decode {
    ($d:ident, $ty:ty) => {
        <$ty as $crate::xdr::Xdr>::decode($d)?
    };
    ($d:ident, $ty:ty, $max:expr) => {
        <$ty as $crate::xdr::XdrBounded>::decode_bounded($d, $max)?
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_is_padded_to_four_bytes() {
        let bytes = to_bytes(&"lvp-test!".to_string());
        assert_eq!(bytes.len(), 4 + 12);
        assert_eq!(&bytes[..4], &[0, 0, 0, 9]);
        assert_eq!(&bytes[13..], &[0, 0, 0]);
        assert_eq!(from_bytes::<String>(&bytes).unwrap(), "lvp-test!");
    }

    #[test]
    fn optional_string_absent_and_empty_differ() {
        assert_eq!(to_bytes(&None::<String>), vec![0, 0, 0, 0]);
        assert_eq!(to_bytes(&Some(String::new())), vec![0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn chars_are_sign_extended_words() {
        let mut out = Vec::new();
        put_char(&mut out, 0xe9);
        assert_eq!(out, vec![0xff, 0xff, 0xff, 0xe9]);
        assert_eq!(Decoder::new(&out).char().unwrap(), 0xe9);
        assert_eq!(
            Decoder::new(&[0, 0, 1, 0]).char(),
            Err(XdrError::OutOfRange {
                what: "char",
                value: 256
            })
        );
    }

    #[test]
    fn finish_reports_trailing_bytes() {
        let mut d = Decoder::new(&[0, 0, 0, 1, 9]);
        assert_eq!(d.u32().unwrap(), 1);
        assert_eq!(d.finish(), Err(XdrError::TrailingBytes(1)));
    }
}
