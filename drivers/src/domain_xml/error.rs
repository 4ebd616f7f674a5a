//! Why a domain XML document was refused, and the libvirt error each reason becomes.

use crate::api::{codes, domains, DriverError};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DomainXmlError {
    /// Not well-formed XML; the text is the parser's report in libvirt's layout.
    #[error("{0}")]
    Malformed(String),
    #[error("expecting root element of 'domain', not '{0}'")]
    WrongRoot(String),
    #[error("missing name information")]
    MissingName,
    #[error("name {0} cannot contain '/'")]
    NameWithSlash(String),
    #[error("invalid char in name: \n")]
    NameWithNewline,
    #[error("missing domain type attribute")]
    MissingVirtType,
    #[error("invalid domain type {0}")]
    UnknownVirtType(String),
    #[error("malformed uuid element")]
    MalformedUuid,
    /// A number that does not parse; the path is the XPath libvirt names ("./memory[1]").
    #[error("Invalid value '{value}' for element or attribute '{path}'")]
    InvalidValue { path: String, value: String },
    #[error("unknown suffix '{0}'")]
    UnknownUnit(String),
    #[error("value too large: {0}")]
    ValueTooLarge(String),
    #[error("Memory size must be specified via <memory> or in the <numa> configuration")]
    MissingMemory,
    #[error("maximum vcpus count must be an integer")]
    BadMaxVcpus,
    #[error("current vcpus count must be an integer")]
    BadCurrentVcpus,
    #[error("CPU IDs in <numa> exceed the <vcpu> count")]
    ZeroVcpus,
    #[error("maximum vCPU count must not be less than current vCPU count")]
    CurrentVcpusAboveMax,
    #[error("unsupported CPU placement mode '{0}'")]
    BadPlacement(String),
    #[error("an os <type> must be specified")]
    MissingOsType,
    #[error("unknown OS type '{0}'")]
    UnknownOsType(String),
    #[error("Unknown architecture {0}")]
    UnknownArch(String),
    #[error("unknown boot device '{0}'")]
    UnknownBootDev(String),
    #[error("init binary must be specified")]
    MissingInit,
    #[error("unknown {which} action: {value}")]
    UnknownLifecycleAction { which: String, value: String },
    #[error("unknown disk bus type '{0}'")]
    UnknownDiskBus(String),
    #[error("missing target information for device {0}")]
    DiskWithoutTarget(String),
    #[error("Unknown disk name '{0}' and no address specified")]
    UnknownDiskName(String),
    #[error("unable to parse mac address '{0}'")]
    BadMac(String),
    #[error("expected unicast mac address, found multicast '{0}'")]
    MulticastMac(String),
    #[error("Model name contains invalid characters")]
    BadNetModel,
    #[error("unknown driver format value '{0}'")]
    UnknownDiskFormat(String),
    #[error("Missing required attribute '{attr}' in element '{element}'")]
    MissingAttr { attr: String, element: String },
    #[error("perf event '{0}' was already specified")]
    DuplicatePerfEvent(String),
    /// An enumerated attribute with a value outside its enumeration.
    #[error("Invalid value for attribute '{attr}' in element '{element}': '{value}'.")]
    InvalidAttr {
        attr: String,
        element: String,
        value: String,
    },
}

impl DomainXmlError {
    /// The `virErrorNumber` libvirt reports for this reason.
    fn code(&self) -> i32 {
        use DomainXmlError::*;
        match self {
            Malformed(_) | NameWithNewline => codes::XML_DETAIL,
            MissingName => codes::NO_NAME,
            MissingVirtType | MalformedUuid | ZeroVcpus | UnknownDiskFormat(_) => {
                codes::INTERNAL_ERROR
            }
            BadNetModel => codes::INVALID_ARG,
            UnknownVirtType(_)
            | CurrentVcpusAboveMax
            | UnknownOsType(_)
            | UnknownArch(_)
            | UnknownLifecycleAction { .. }
            | UnknownDiskBus(_)
            | BadPlacement(_) => codes::CONFIG_UNSUPPORTED,
            UnknownUnit(_) => codes::INVALID_ARG,
            ValueTooLarge(_) => codes::OVERFLOW,
            DiskWithoutTarget(_) => codes::NO_TARGET,
            _ => codes::XML_ERROR,
        }
    }

    /// The `virErrorDomain` libvirt reports: some checks live in its generic XML helpers or
    /// number parsers rather than in the domain config code.
    fn error_domain(&self) -> i32 {
        use DomainXmlError::*;
        match self {
            WrongRoot(_)
            | InvalidValue { .. }
            | NameWithNewline
            | InvalidAttr { .. }
            | MissingAttr { .. } => domains::XML,
            UnknownUnit(_) | ValueTooLarge(_) => domains::NONE,
            _ => domains::DOMAIN,
        }
    }
}

impl From<DomainXmlError> for DriverError {
    fn from(err: DomainXmlError) -> Self {
        match err {
            DomainXmlError::MissingName => DriverError::bare(codes::NO_NAME, domains::DOMAIN),
            other => DriverError::new(other.code(), other.error_domain(), other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_name_is_bare_no_name() {
        let err = DriverError::from(DomainXmlError::MissingName);
        assert_eq!((err.code, err.domain), (21, 20));
        assert_eq!(err.message, "missing name information");
    }

    #[test]
    fn invalid_value_comes_from_xml_domain() {
        let err = DriverError::from(DomainXmlError::InvalidValue {
            path: "./memory[1]".into(),
            value: "abc".into(),
        });
        assert_eq!((err.code, err.domain), (27, 5));
        assert_eq!(
            err.message,
            "XML error: Invalid value 'abc' for element or attribute './memory[1]'"
        );
    }

    #[test]
    fn malformed_passes_parser_text_through() {
        let err = DriverError::from(DomainXmlError::Malformed("(domain_definition):1: x".into()));
        assert_eq!((err.code, err.domain), (35, 20));
        assert_eq!(err.message, "(domain_definition):1: x");
        assert_eq!(err.str1.as_deref(), Some("%s"));
    }

    #[test]
    fn unknown_unit_is_invalid_argument() {
        let err = DriverError::from(DomainXmlError::UnknownUnit("foo".into()));
        assert_eq!((err.code, err.domain), (8, 0));
        assert_eq!(err.message, "invalid argument: unknown suffix 'foo'");
    }
}
