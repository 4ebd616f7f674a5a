//! Errors as a libvirt client sees them: a `virErrorNumber`, a `virErrorDomain` and the
//! message libvirt would have formatted, plus the format string and detail that travel in
//! `str1`/`str2` of the wire error.

/// `virErrorNumber` values used by the drivers (numbers from libvirt's public header).
pub mod codes {
    pub const INTERNAL_ERROR: i32 = 1;
    pub const NO_SUPPORT: i32 = 3;
    pub const NO_CONNECT: i32 = 5;
    pub const INVALID_ARG: i32 = 8;
    pub const OPERATION_FAILED: i32 = 9;
    pub const OS_TYPE: i32 = 16;
    pub const NO_TARGET: i32 = 20;
    pub const NO_NAME: i32 = 21;
    pub const XML_ERROR: i32 = 27;
    pub const DOM_EXIST: i32 = 28;
    pub const OPERATION_DENIED: i32 = 29;
    pub const XML_DETAIL: i32 = 35;
    pub const NETWORK_EXIST: i32 = 37;
    pub const SYSTEM_ERROR: i32 = 38;
    pub const NO_DOMAIN: i32 = 42;
    pub const NO_NETWORK: i32 = 43;
    pub const NO_NODE_DEVICE: i32 = 53;
    pub const NO_SECURITY_MODEL: i32 = 54;
    pub const OPERATION_INVALID: i32 = 55;
    pub const NO_INTERFACE: i32 = 57;
    pub const MULTIPLE_INTERFACES: i32 = 59;
    pub const INVALID_SECRET: i32 = 65;
    pub const NO_SECRET: i32 = 66;
    pub const CONFIG_UNSUPPORTED: i32 = 67;
    pub const OPERATION_TIMEOUT: i32 = 68;
    pub const NO_DOMAIN_SNAPSHOT: i32 = 72;
    pub const ARGUMENT_UNSUPPORTED: i32 = 74;
    pub const OPERATION_ABORTED: i32 = 78;
    pub const NO_DOMAIN_METADATA: i32 = 80;
    pub const AGENT_UNRESPONSIVE: i32 = 86;
    pub const OVERFLOW: i32 = 82;
    pub const BLOCK_COPY_ACTIVE: i32 = 83;
    pub const OPERATION_UNSUPPORTED: i32 = 84;
    pub const DEVICE_MISSING: i32 = 99;
    pub const NO_DOMAIN_CHECKPOINT: i32 = 103;
    pub const NO_DOMAIN_BACKUP: i32 = 104;
    pub const CHECKPOINT_INCONSISTENT: i32 = 109;
}

/// `virErrorDomain` values: which part of libvirt raised the error.
pub mod domains {
    pub const NONE: i32 = 0;
    /// Generic XML helpers (`VIR_FROM_XML`).
    pub const XML: i32 = 5;
    pub const QEMU: i32 = 10;
    pub const TEST: i32 = 12;
    pub const REMOTE: i32 = 13;
    pub const LXC: i32 = 17;
    /// The network driver and network config code (`VIR_FROM_NETWORK`).
    pub const NETWORK: i32 = 19;
    /// Generic domain-config code (`VIR_FROM_DOMAIN`), also used by the public API entry
    /// points, so "not supported" errors for domain calls carry it.
    pub const DOMAIN: i32 = 20;
    /// The node device driver (`VIR_FROM_NODEDEV`).
    pub const NODEDEV: i32 = 22;
    pub const SECURITY: i32 = 24;
    /// The host interface driver (`VIR_FROM_INTERFACE`).
    pub const INTERFACE: i32 = 26;
    /// The secret driver and secret config code (`VIR_FROM_SECRET`).
    pub const SECRET: i32 = 30;
    /// The CPU drivers (`VIR_FROM_CPU`).
    pub const CPU: i32 = 31;
    pub const URI: i32 = 45;
    /// The cgroup helpers (`VIR_FROM_CGROUP`).
    pub const CGROUP: i32 = 54;
}

/// Format string libvirt uses for `code` when a detail is given (its `%s` takes the detail),
/// and the text used when there is none. Codes we never raise fall back to a generic text.
fn message_formats(code: i32) -> (&'static str, &'static str) {
    match code {
        codes::INTERNAL_ERROR => ("internal error: %s", "internal error"),
        codes::NO_SUPPORT => (
            "this function is not supported by the connection driver: %s",
            "this function is not supported by the connection driver",
        ),
        codes::NO_CONNECT => (
            "no connection driver available for %s",
            "no connection driver available",
        ),
        codes::INVALID_ARG => ("invalid argument: %s", "invalid argument"),
        codes::OPERATION_FAILED => ("operation failed: %s", "operation failed"),
        codes::OS_TYPE => ("unknown OS type %s", "unknown OS type"),
        codes::NO_NAME => ("missing name information in %s", "missing name information"),
        codes::XML_ERROR => (
            "XML error: %s",
            "XML description is invalid or not well formed",
        ),
        codes::DOM_EXIST => ("domain %s exists already", "this domain exists already"),
        codes::OPERATION_DENIED => (
            "operation forbidden: %s",
            "operation forbidden for read only access",
        ),
        codes::XML_DETAIL => ("%s", "parser error"),
        codes::SYSTEM_ERROR => ("%s", "system call error"),
        codes::NO_DOMAIN => ("Domain not found: %s", "Domain not found"),
        codes::NO_NETWORK => ("Network not found: %s", "Network not found"),
        codes::NETWORK_EXIST => ("network %s exists already", "this network exists already"),
        codes::NO_SECURITY_MODEL => ("Security model not found: %s", "Security model not found"),
        codes::OPERATION_INVALID => (
            "Requested operation is not valid: %s",
            "Requested operation is not valid",
        ),
        codes::NO_NODE_DEVICE => ("Node device not found: %s", "Node device not found"),
        codes::NO_INTERFACE => ("Interface not found: %s", "Interface not found"),
        codes::MULTIPLE_INTERFACES => (
            "multiple matching interfaces found: %s",
            "multiple matching interfaces found",
        ),
        codes::INVALID_SECRET => ("Invalid secret: %s", "Invalid secret"),
        codes::NO_SECRET => ("Secret not found: %s", "Secret not found"),
        codes::CONFIG_UNSUPPORTED => ("unsupported configuration: %s", "unsupported configuration"),
        codes::OPERATION_TIMEOUT => (
            "Timed out during operation: %s",
            "Timed out during operation",
        ),
        codes::NO_DOMAIN_SNAPSHOT => ("Domain snapshot not found: %s", "Domain snapshot not found"),
        codes::NO_DOMAIN_CHECKPOINT => (
            "Domain checkpoint not found: %s",
            "Domain checkpoint not found",
        ),
        codes::NO_DOMAIN_BACKUP => (
            "Domain backup job id not found: %s",
            "Domain backup job id not found",
        ),
        codes::CHECKPOINT_INCONSISTENT => {
            ("checkpoint inconsistent: %s", "checkpoint inconsistent")
        }
        codes::ARGUMENT_UNSUPPORTED => ("argument unsupported: %s", "argument unsupported"),
        codes::OVERFLOW => ("numerical overflow: %s", "numerical overflow"),
        codes::BLOCK_COPY_ACTIVE => ("block copy still active: %s", "block copy still active"),
        codes::OPERATION_ABORTED => ("operation aborted: %s", "operation aborted"),
        codes::AGENT_UNRESPONSIVE => (
            "Guest agent is not responding: %s",
            "Guest agent is not responding",
        ),
        codes::NO_DOMAIN_METADATA => ("metadata not found: %s", "metadata not found"),
        codes::NO_TARGET => (
            "missing target information for device %s",
            "missing target information for device",
        ),
        codes::OPERATION_UNSUPPORTED => ("Operation not supported: %s", "Operation not supported"),
        codes::DEVICE_MISSING => ("device not found: %s", "device not found"),
        _ => ("%s", "unknown error"),
    }
}

/// A libvirt error as a client sees it (virErrorNumber code, virErrorDomain domain, full message).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DriverError {
    pub code: i32,
    pub domain: i32,
    pub message: String,
    /// The format string libvirt used (its `str1`), e.g. "Domain not found: %s".
    pub str1: Option<String>,
    /// The detail substituted into the format (its `str2`).
    pub str2: Option<String>,
    /// Extra numbers of the wire error (`int1`/`int2`): -1 except where libvirt sets them
    /// (its flag checks send 0).
    pub int1: i32,
    pub int2: i32,
}

/// Result of every driver call.
pub type DriverResult<T> = Result<T, DriverError>;

impl DriverError {
    /// An error with a detail, formatted the way libvirt formats `code` with that detail.
    pub fn new(code: i32, domain: i32, detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let (format, _) = message_formats(code);
        DriverError {
            code,
            domain,
            message: format.replacen("%s", &detail, 1),
            str1: Some(format.to_string()),
            str2: Some(detail),
            int1: -1,
            int2: -1,
        }
    }

    /// An error without detail: libvirt then uses the bare text as both message and `str1`.
    pub fn bare(code: i32, domain: i32) -> Self {
        let (_, bare) = message_formats(code);
        DriverError {
            code,
            domain,
            message: bare.to_string(),
            str1: Some(bare.to_string()),
            str2: None,
            int1: -1,
            int2: -1,
        }
    }

    /// 42 "Domain not found: no domain with matching name 'x'".
    pub fn no_domain_name(domain: i32, name: &str) -> Self {
        Self::new(
            codes::NO_DOMAIN,
            domain,
            format!("no domain with matching name '{name}'"),
        )
    }

    /// 42 "Domain not found: no domain with matching uuid 'U' (name)".
    pub fn no_domain_uuid(domain: i32, uuid: &super::Uuid, name: &str) -> Self {
        Self::new(
            codes::NO_DOMAIN,
            domain,
            format!(
                "no domain with matching uuid '{}' ({name})",
                super::format_uuid(uuid)
            ),
        )
    }

    /// 42 "Domain not found: no domain with matching id N".
    pub fn no_domain_id(domain: i32, id: i32) -> Self {
        Self::new(
            codes::NO_DOMAIN,
            domain,
            format!("no domain with matching id {id}"),
        )
    }

    /// 55 from VIR_FROM_DOMAIN: "Requested operation is not valid: {detail}".
    pub fn operation_invalid(detail: impl Into<String>) -> Self {
        Self::new(codes::OPERATION_INVALID, domains::DOMAIN, detail)
    }

    /// 3 "this function is not supported by the connection driver: {api}". libvirt raises it
    /// from the public entry points, whose error domain is VIR_FROM_DOMAIN for domain APIs and
    /// also for the connection APIs handled in the same layer.
    pub fn no_support(api: &str) -> Self {
        Self::new(codes::NO_SUPPORT, domains::DOMAIN, api)
    }

    /// 1 "internal error: {msg}" from the test driver.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, domains::TEST, msg)
    }

    /// 8 "invalid argument: {msg}" from the test driver.
    pub fn invalid_arg(msg: impl Into<String>) -> Self {
        Self::new(codes::INVALID_ARG, domains::TEST, msg)
    }

    /// 27 "XML error: {msg}" from the domain XML parser (VIR_FROM_DOMAIN).
    pub fn xml_error(msg: impl Into<String>) -> Self {
        Self::new(codes::XML_ERROR, domains::DOMAIN, msg)
    }

    /// 8 "unsupported flags (0x{flags:x}) in function {function}": libvirt's flag check,
    /// which sends the function name and "flags" as `str1`/`str2` and no format prefix.
    pub fn unsupported_flags(domain: i32, flags: u32, function: &str) -> Self {
        DriverError {
            code: codes::INVALID_ARG,
            domain,
            message: format!("unsupported flags (0x{flags:x}) in function {function}"),
            str1: Some(function.to_string()),
            str2: Some("flags".to_string()),
            int1: 0,
            int2: 0,
        }
    }

    /// The same error raised from another error domain.
    pub fn in_domain(mut self, domain: i32) -> Self {
        self.domain = domain;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_detail_into_libvirt_template() {
        let err = DriverError::no_domain_name(domains::TEST, "x");
        assert_eq!(err.code, 42);
        assert_eq!(err.domain, 12);
        assert_eq!(
            err.message,
            "Domain not found: no domain with matching name 'x'"
        );
        assert_eq!(err.str1.as_deref(), Some("Domain not found: %s"));
        assert_eq!(
            err.str2.as_deref(),
            Some("no domain with matching name 'x'")
        );
    }

    #[test]
    fn no_support_names_the_api() {
        let err = DriverError::no_support("virDomainGetMessages");
        assert_eq!((err.code, err.domain), (3, 20));
        assert_eq!(
            err.to_string(),
            "this function is not supported by the connection driver: virDomainGetMessages"
        );
    }

    #[test]
    fn unsupported_flags_names_function() {
        let err = DriverError::unsupported_flags(domains::TEST, 4, "testDomainUndefineFlags");
        assert_eq!((err.code, err.domain), (8, 12));
        assert_eq!(
            err.message,
            "unsupported flags (0x4) in function testDomainUndefineFlags"
        );
        assert_eq!(err.str1.as_deref(), Some("testDomainUndefineFlags"));
        assert_eq!(err.str2.as_deref(), Some("flags"));
        assert_eq!((err.int1, err.int2), (0, 0));
    }

    #[test]
    fn bare_error_has_no_detail() {
        let err = DriverError::bare(codes::NO_DOMAIN, domains::TEST);
        assert_eq!(err.message, "Domain not found");
        assert_eq!(err.str1.as_deref(), Some("Domain not found"));
        assert_eq!(err.str2, None);
        assert_eq!((err.int1, err.int2), (-1, -1));
    }

    #[test]
    fn uuid_message_names_domain() {
        let uuid = [
            0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e,
            0x19, 0x3f,
        ];
        let err = DriverError::no_domain_uuid(domains::TEST, &uuid, "test");
        assert_eq!(
            err.message,
            "Domain not found: no domain with matching uuid '6695eb01-f6a4-8304-79aa-97f2502e193f' (test)"
        );
    }
}
