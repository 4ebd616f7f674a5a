//! Typed parameters (`remote_typed_param` / `admin_typed_param`): a field
//! name and a value whose type is chosen by an `int` discriminant.

use crate::xdr::{Decoder, Xdr, XdrError};

/// Discriminants of [`TypedParamValue`] on the wire.
pub mod kind {
    pub const INT: i32 = 1;
    pub const UINT: i32 = 2;
    pub const LLONG: i32 = 3;
    pub const ULLONG: i32 = 4;
    pub const DOUBLE: i32 = 5;
    pub const BOOLEAN: i32 = 6;
    pub const STRING: i32 = 7;
}

/// The value of a typed parameter.
#[derive(Clone, Debug, PartialEq)]
pub enum TypedParamValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    /// Sent as an `int`; libvirt uses 0 and 1.
    Boolean(i32),
    String(String),
}

impl TypedParamValue {
    /// The wire discriminant of this value.
    pub fn kind(&self) -> i32 {
        match self {
            TypedParamValue::Int(_) => kind::INT,
            TypedParamValue::UInt(_) => kind::UINT,
            TypedParamValue::LLong(_) => kind::LLONG,
            TypedParamValue::ULLong(_) => kind::ULLONG,
            TypedParamValue::Double(_) => kind::DOUBLE,
            TypedParamValue::Boolean(_) => kind::BOOLEAN,
            TypedParamValue::String(_) => kind::STRING,
        }
    }
}

impl Xdr for TypedParamValue {
    fn encode(&self, out: &mut Vec<u8>) {
        self.kind().encode(out);
        match self {
            TypedParamValue::Int(v) | TypedParamValue::Boolean(v) => v.encode(out),
            TypedParamValue::UInt(v) => v.encode(out),
            TypedParamValue::LLong(v) => v.encode(out),
            TypedParamValue::ULLong(v) => v.encode(out),
            TypedParamValue::Double(v) => v.encode(out),
            TypedParamValue::String(v) => v.encode(out),
        }
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(match d.i32()? {
            kind::INT => TypedParamValue::Int(d.i32()?),
            kind::UINT => TypedParamValue::UInt(d.u32()?),
            kind::LLONG => TypedParamValue::LLong(d.i64()?),
            kind::ULLONG => TypedParamValue::ULLong(d.u64()?),
            kind::DOUBLE => TypedParamValue::Double(d.f64()?),
            kind::BOOLEAN => TypedParamValue::Boolean(d.i32()?),
            kind::STRING => TypedParamValue::String(String::decode(d)?),
            other => return Err(XdrError::BadDiscriminant(other)),
        })
    }
}

crate::xdr_struct! {
    /// One named, typed parameter.
    pub struct TypedParam {
        pub field: String,
        pub value: TypedParamValue,
    }
}

impl TypedParam {
    pub fn new(field: impl Into<String>, value: TypedParamValue) -> Self {
        TypedParam {
            field: field.into(),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::{from_bytes, to_bytes};

    #[test]
    fn uint_param_layout() {
        let p = TypedParam::new("maxWorkers", TypedParamValue::UInt(20));
        let bytes = to_bytes(&p);
        assert_eq!(&bytes[16..], &[0, 0, 0, 2, 0, 0, 0, 20]);
        assert_eq!(from_bytes::<TypedParam>(&bytes).unwrap(), p);
    }

    #[test]
    fn unknown_discriminant_is_rejected() {
        let mut bytes = to_bytes(&"x".to_string());
        bytes.extend_from_slice(&[0, 0, 0, 8, 0, 0, 0, 0]);
        assert_eq!(
            from_bytes::<TypedParam>(&bytes),
            Err(XdrError::BadDiscriminant(8))
        );
    }
}
