//! Running the host tools the backends need (qemu-img, mount, parted, mkfs): a
//! cleared environment, no stdin, and libvirt's wording when one fails.

use std::ffi::OsStr;
use std::process::{Command, Stdio};

use super::errors;
use crate::api::{DriverError, DriverResult};

/// Runs `argv` and returns its standard output; a failure is libvirt's
/// "Child process (...) unexpected exit status N: stderr".
pub fn run<S: AsRef<OsStr>>(argv: &[S]) -> DriverResult<String> {
    let shown: Vec<String> = argv
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect();
    let Some((program, args)) = argv.split_first() else {
        return Err(errors::internal("empty command"));
    };
    let output = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| errors::system(&format!("Cannot find '{}' in path", shown[0]), &e))?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let status = match output.status.code() {
        Some(code) => format!("exit status {code}"),
        None => "fatal signal".to_string(),
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr = stderr.trim();
    let detail = if stderr.is_empty() {
        format!("Child process ({}) unexpected {status}", shown.join(" "))
    } else {
        format!(
            "Child process ({}) unexpected {status}: {stderr}",
            shown.join(" ")
        )
    };
    Err(errors::internal(&detail))
}

/// Whether `program` is found in the tool PATH.
pub fn available(program: &str) -> bool {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .any(|d| std::path::Path::new(d).join(program).exists())
}

/// Fails with the package to install when a tool is missing.
pub fn require(program: &str, package: &str) -> DriverResult<()> {
    if available(program) {
        Ok(())
    } else {
        Err(DriverError::new(
            crate::api::codes::OPERATION_FAILED,
            errors::FROM_STORAGE,
            format!("'{program}' is not installed (Debian package {package})"),
        ))
    }
}
