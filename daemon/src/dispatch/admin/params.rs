//! Typed parameters in and out of the admin setters and getters, checked the
//! way libvirt's `virTypedParamsValidate` checks them: parameters are looked
//! at in name order, and the first unknown name, repeated name or wrong type
//! is reported.

use protocol::error::{domains, RemoteError};
use protocol::typed_param::{kind, TypedParam, TypedParamValue};

use super::errors::{argument_unsupported, invalid_arg};

/// libvirt's name of a typed-parameter type, as used in its messages.
fn type_name(kind: i32) -> &'static str {
    match kind {
        kind::INT => "int",
        kind::UINT => "uint",
        kind::LLONG => "llong",
        kind::ULLONG => "ullong",
        kind::DOUBLE => "double",
        kind::BOOLEAN => "boolean",
        kind::STRING => "string",
        _ => "unknown",
    }
}

/// Accepts only the `allowed` names, each once, each of its type.
pub fn validate(params: &[TypedParam], allowed: &[(&str, i32)]) -> Result<(), RemoteError> {
    let mut sorted: Vec<&TypedParam> = params.iter().collect();
    sorted.sort_by(|a, b| a.field.as_bytes().cmp(b.field.as_bytes()));
    let mut previous: Option<&str> = None;
    for param in sorted {
        let Some((_, wanted)) = allowed.iter().find(|(name, _)| *name == param.field) else {
            return Err(argument_unsupported(
                domains::NONE,
                &format!("parameter '{}' not supported", param.field),
            ));
        };
        if previous == Some(param.field.as_str()) {
            return Err(invalid_arg(
                domains::NONE,
                &format!("parameter '{}' occurs multiple times", param.field),
            ));
        }
        let got = param.value.kind();
        if got != *wanted {
            return Err(invalid_arg(
                domains::NONE,
                &format!(
                    "invalid type '{}' for parameter '{}', expected '{}'",
                    type_name(got),
                    param.field,
                    type_name(*wanted)
                ),
            ));
        }
        previous = Some(param.field.as_str());
    }
    Ok(())
}

/// The value of an unsigned parameter, when given (after [`validate`]).
pub fn uint(params: &[TypedParam], name: &str) -> Option<usize> {
    params
        .iter()
        .find_map(|p| match (&p.value, p.field == name) {
            (TypedParamValue::UInt(v), true) => Some(*v as usize),
            _ => None,
        })
}

/// An unsigned parameter of a getter's reply (values beyond u32 are capped,
/// as the wire type cannot carry them).
pub fn uint_param(name: &str, value: usize) -> TypedParam {
    let value = u32::try_from(value).unwrap_or(u32::MAX);
    TypedParam::new(name, TypedParamValue::UInt(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [(&str, i32); 3] = [
        ("minWorkers", kind::UINT),
        ("maxWorkers", kind::UINT),
        ("prioWorkers", kind::UINT),
    ];

    fn p(field: &str, value: TypedParamValue) -> TypedParam {
        TypedParam::new(field, value)
    }

    #[test]
    fn accepts_known_names_of_the_right_type() {
        let params = [
            p("maxWorkers", TypedParamValue::UInt(9)),
            p("minWorkers", TypedParamValue::UInt(2)),
        ];
        assert!(validate(&params, &KEYS).is_ok());
        assert_eq!(uint(&params, "minWorkers"), Some(2));
        assert_eq!(uint(&params, "prioWorkers"), None);
    }

    #[test]
    fn reports_problems_in_name_order() {
        let params = [
            p("zzz", TypedParamValue::UInt(1)),
            p("maxWorkers", TypedParamValue::Int(1)),
        ];
        let err = validate(&params, &KEYS).expect_err("wrong type first");
        assert_eq!((err.code, err.domain), (8, 0));
        assert_eq!(
            err.message.as_deref(),
            Some(
                "invalid argument: invalid type 'int' for parameter 'maxWorkers', expected 'uint'"
            )
        );
        let params = [p("zzz", TypedParamValue::UInt(1))];
        let err = validate(&params, &KEYS).expect_err("unknown name");
        assert_eq!(err.code, 74);
        assert_eq!(
            err.message.as_deref(),
            Some("argument unsupported: parameter 'zzz' not supported")
        );
    }

    #[test]
    fn refuses_a_repeated_name() {
        let params = [
            p("minWorkers", TypedParamValue::UInt(1)),
            p("minWorkers", TypedParamValue::UInt(2)),
        ];
        let err = validate(&params, &KEYS).expect_err("repeated");
        assert_eq!(
            err.message.as_deref(),
            Some("invalid argument: parameter 'minWorkers' occurs multiple times")
        );
    }
}
