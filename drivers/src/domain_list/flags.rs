//! libvirt's check of an entry point's `flags` argument.

use crate::api::{DriverError, DriverResult};

/// Refuses flags outside `allowed` with libvirt's "unsupported flags (0x..) in
/// function NAME", raised from the driver's error domain `error_domain`.
pub fn check_flags(
    error_domain: i32,
    flags: u32,
    allowed: u32,
    function: &str,
) -> DriverResult<()> {
    if flags & !allowed != 0 {
        return Err(DriverError::unsupported_flags(
            error_domain,
            flags & !allowed,
            function,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{codes, domains};

    #[test]
    fn only_the_unknown_bits_are_named() {
        assert!(check_flags(domains::QEMU, 3, 7, "qemuX").is_ok());
        let err = check_flags(domains::LXC, 0x13, 0x3, "lxcX").expect_err("refused");
        assert_eq!((err.code, err.domain), (codes::INVALID_ARG, domains::LXC));
        assert_eq!(err.message, "unsupported flags (0x10) in function lxcX");
    }
}
