//! Errors of the storage driver, worded and numbered as libvirt's storage driver
//! reports them (error domain VIR_FROM_STORAGE).

use crate::api::{codes, DriverError};

/// `VIR_FROM_STORAGE`.
pub const FROM_STORAGE: i32 = 18;
/// `VIR_ERR_NO_STORAGE_POOL`.
pub const NO_STORAGE_POOL: i32 = 49;
/// `VIR_ERR_NO_STORAGE_VOL`.
pub const NO_STORAGE_VOL: i32 = 50;
/// `VIR_ERR_STORAGE_PROBE_FAILED`.
pub const STORAGE_PROBE_FAILED: i32 = 75;
/// `VIR_ERR_STORAGE_POOL_BUILT`.
pub const STORAGE_POOL_BUILT: i32 = 76;
/// `VIR_ERR_STORAGE_VOL_EXIST`.
pub const STORAGE_VOL_EXIST: i32 = 90;

/// An error with libvirt's format for `code` and a detail.
fn with_format(code: i32, format: &str, detail: &str) -> DriverError {
    DriverError {
        code,
        domain: FROM_STORAGE,
        message: format.replacen("%s", detail, 1),
        str1: Some(format.to_string()),
        str2: Some(detail.to_string()),
        int1: -1,
        int2: -1,
    }
}

pub fn no_pool(detail: &str) -> DriverError {
    with_format(NO_STORAGE_POOL, "Storage pool not found: %s", detail)
}

pub fn no_pool_name(name: &str) -> DriverError {
    no_pool(&format!("no storage pool with matching name '{name}'"))
}

pub fn no_pool_uuid(uuid: &str) -> DriverError {
    no_pool(&format!("no storage pool with matching uuid '{uuid}'"))
}

pub fn no_vol(detail: &str) -> DriverError {
    with_format(NO_STORAGE_VOL, "Storage volume not found: %s", detail)
}

pub fn vol_exists(name: &str) -> DriverError {
    with_format(
        STORAGE_VOL_EXIST,
        "storage volume '%s' exists already",
        name,
    )
}

pub fn operation_invalid(detail: &str) -> DriverError {
    DriverError::new(codes::OPERATION_INVALID, FROM_STORAGE, detail)
}

pub fn operation_failed(detail: &str) -> DriverError {
    DriverError::new(codes::OPERATION_FAILED, FROM_STORAGE, detail)
}

pub fn invalid_arg(detail: &str) -> DriverError {
    DriverError::new(codes::INVALID_ARG, FROM_STORAGE, detail)
}

pub fn internal(detail: &str) -> DriverError {
    DriverError::new(codes::INTERNAL_ERROR, FROM_STORAGE, detail)
}

pub fn xml(detail: &str) -> DriverError {
    DriverError::new(codes::XML_ERROR, FROM_STORAGE, detail)
}

pub fn unsupported(detail: &str) -> DriverError {
    DriverError::new(codes::CONFIG_UNSUPPORTED, FROM_STORAGE, detail)
}

/// A failed system call, worded like libvirt's `virReportSystemError`:
/// "what: strerror".
pub fn system(what: &str, err: &std::io::Error) -> DriverError {
    let text = match err.raw_os_error() {
        Some(n) => strerror(n),
        None => err.to_string(),
    };
    let detail = format!("{what}: {text}");
    DriverError {
        code: codes::SYSTEM_ERROR,
        domain: FROM_STORAGE,
        message: detail.clone(),
        str1: Some("%s".to_string()),
        str2: Some(detail),
        int1: -1,
        int2: -1,
    }
}

/// The C library's text for an errno ("No such file or directory").
fn strerror(errno: i32) -> String {
    nix::errno::Errno::from_raw(errno).desc().to_string()
}

pub fn pool_not_active(name: &str) -> DriverError {
    operation_invalid(&format!("storage pool '{name}' is not active"))
}

pub fn pool_active(name: &str) -> DriverError {
    operation_invalid(&format!("storage pool '{name}' is already active"))
}

pub fn vol_in_use(name: &str) -> DriverError {
    operation_invalid(&format!("volume '{name}' is still in use."))
}

pub fn probe_failed(detail: &str) -> DriverError {
    with_format(
        STORAGE_PROBE_FAILED,
        "Storage pool probe failed: %s",
        detail,
    )
}
