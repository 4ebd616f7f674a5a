//! libvirt's certificate rules, applied to one certificate: validity times,
//! basic constraints, key usage and extended key usage (purpose).
//!
//! A missing key usage bit or purpose is fatal only when its extension is
//! critical; otherwise it is a warning, as in libvirtd. Quirk kept from
//! libvirtd: an extended key usage that lists only "any purpose" does not
//! count as a TLS purpose, while any unknown purpose allows both.

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

/// Which side of TLS a certificate is for; picks libvirt's wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Client => "client",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckError {
    #[error("Unable to import {role} certificate {label}")]
    Unparsable { role: &'static str, label: String },
    #[error("The {kind} certificate {label} has expired")]
    Expired { kind: &'static str, label: String },
    #[error("The {kind} certificate {label} is not yet active")]
    NotYetActive { kind: &'static str, label: String },
    #[error("The certificate {label} basic constraints show a CA, but we need one for a {role}")]
    IsCa { label: String, role: &'static str },
    #[error("The certificate {label} basic constraints do not show a CA")]
    NotCa { label: String },
    #[error("The certificate {label} is missing basic constraints for a CA")]
    MissingCaConstraints { label: String },
    #[error("Unable to query certificate {label} {what}")]
    BadExtension { label: String, what: &'static str },
    /// A key usage bit or purpose is missing from a critical extension.
    #[error("{0}")]
    Usage(String),
}

/// Parses DER, mapping failure to libvirt's import message.
pub fn parse<'a>(
    der: &'a [u8],
    label: &str,
    role: Role,
) -> Result<X509Certificate<'a>, CheckError> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|_| CheckError::Unparsable {
            role: role.word(),
            label: label.to_string(),
        })
}

/// Validity times; `is_ca` picks the wording.
pub fn check_times(
    cert: &X509Certificate<'_>,
    label: &str,
    role: Role,
    is_ca: bool,
    now: i64,
) -> Result<(), CheckError> {
    let kind = if is_ca { "CA" } else { role.word() };
    let validity = cert.validity();
    if validity.not_after.timestamp() < now {
        return Err(CheckError::Expired {
            kind,
            label: label.to_string(),
        });
    }
    if validity.not_before.timestamp() > now {
        return Err(CheckError::NotYetActive {
            kind,
            label: label.to_string(),
        });
    }
    Ok(())
}

/// A CA must say so; a leaf must not.
pub fn check_basic_constraints(
    cert: &X509Certificate<'_>,
    label: &str,
    role: Role,
    is_ca: bool,
) -> Result<(), CheckError> {
    let constraints = cert
        .basic_constraints()
        .map_err(|_| CheckError::BadExtension {
            label: label.to_string(),
            what: "basic constraints",
        })?;
    match (constraints.map(|c| c.value.ca), is_ca) {
        (Some(true), false) => Err(CheckError::IsCa {
            label: label.to_string(),
            role: role.word(),
        }),
        (Some(false), true) => Err(CheckError::NotCa {
            label: label.to_string(),
        }),
        (None, true) => Err(CheckError::MissingCaConstraints {
            label: label.to_string(),
        }),
        _ => Ok(()),
    }
}

/// Key usage: keyCertSign for a CA, digitalSignature and keyEncipherment
/// for a leaf. An absent extension allows everything.
pub fn check_key_usage(
    cert: &X509Certificate<'_>,
    label: &str,
    is_ca: bool,
    warnings: &mut Vec<String>,
) -> Result<(), CheckError> {
    let usage = cert.key_usage().map_err(|_| CheckError::BadExtension {
        label: label.to_string(),
        what: "key usage",
    })?;
    let Some(usage) = usage else {
        return Ok(());
    };
    let needs: &[(bool, &str)] = if is_ca {
        &[(usage.value.key_cert_sign(), "certificate signing")]
    } else {
        &[
            (usage.value.digital_signature(), "digital signature"),
            (usage.value.key_encipherment(), "key encipherment"),
        ]
    };
    for (present, what) in needs {
        if !present {
            let message = format!("Certificate {label} usage does not permit {what}");
            if usage.critical {
                return Err(CheckError::Usage(message));
            }
            warnings.push(message);
        }
    }
    Ok(())
}

/// Extended key usage: a server certificate needs TLS server purpose, a
/// client certificate TLS client purpose. An absent extension allows both.
pub fn check_purpose(
    cert: &X509Certificate<'_>,
    label: &str,
    role: Role,
    warnings: &mut Vec<String>,
) -> Result<(), CheckError> {
    let eku = cert
        .extended_key_usage()
        .map_err(|_| CheckError::BadExtension {
            label: label.to_string(),
            what: "key purpose",
        })?;
    let Some(eku) = eku else {
        return Ok(());
    };
    let v = eku.value;
    let unknown = v.code_signing
        || v.email_protection
        || v.time_stamping
        || v.ocsp_signing
        || !v.other.is_empty();
    let allowed = unknown
        || match role {
            Role::Server => v.server_auth,
            Role::Client => v.client_auth,
        };
    if !allowed {
        let message = format!(
            "Certificate {label} purpose does not allow use for with a TLS {}",
            role.word()
        );
        if eku.critical {
            return Err(CheckError::Usage(message));
        }
        warnings.push(message);
    }
    Ok(())
}

/// Every check libvirt's start-up sanity check makes on one certificate.
pub fn check_certificate(
    cert: &X509Certificate<'_>,
    label: &str,
    role: Role,
    is_ca: bool,
    now: i64,
    warnings: &mut Vec<String>,
) -> Result<(), CheckError> {
    check_times(cert, label, role, is_ca, now)?;
    check_basic_constraints(cert, label, role, is_ca)?;
    check_key_usage(cert, label, is_ca, warnings)?;
    if !is_ca {
        check_purpose(cert, label, role, warnings)?;
    }
    Ok(())
}
