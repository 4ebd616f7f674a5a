//! UEFI firmware images from QEMU's firmware descriptors (the JSON files of the
//! qemu interop specification in /usr/share/qemu/firmware and /etc/qemu/firmware),
//! which libvirt lists as the loaders a guest can use.

use std::path::Path;

use serde_json::Value;

/// The loaders for one architecture and machine type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaders {
    /// Executable images in descriptor priority order, without duplicates.
    pub paths: Vec<String>,
    /// Whether any of them boots with Secure Boot.
    pub secure: bool,
}

const DIRS: &[&str] = &["/etc/qemu/firmware", "/usr/share/qemu/firmware"];

/// Shell-style match with `*` as the only wildcard, as descriptors use for machines.
fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((prefix, rest)) => {
            let Some(tail) = text.strip_prefix(prefix) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob_match(rest, &tail[i..]))
        }
    }
}

fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The UEFI loaders for `arch`/`machine` found in the descriptor directories. Machines
/// without SMM (i440fx) cannot run images that require it.
pub fn uefi_loaders(arch: &str, machine: &str) -> Loaders {
    loaders_in(DIRS.iter().map(Path::new), arch, machine)
}

fn loaders_in<'a>(dirs: impl Iterator<Item = &'a Path>, arch: &str, machine: &str) -> Loaders {
    let has_smm = machine.contains("q35");
    let mut loaders = Loaders::default();
    // Descriptors by file name, an earlier directory overriding a later one, taken in
    // file-name order (their priority prefix), as QEMU's interop specification says.
    let mut descriptors: std::collections::BTreeMap<std::ffi::OsString, std::path::PathBuf> =
        Default::default();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            descriptors
                .entry(entry.file_name())
                .or_insert_with(|| entry.path());
        }
    }
    for path in descriptors.values() {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(doc) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if !strings(doc.get("interface-types")).contains(&"uefi") {
            continue;
        }
        let features = strings(doc.get("features"));
        if features.contains(&"requires-smm") && !has_smm {
            continue;
        }
        let targets = doc.get("targets").and_then(Value::as_array);
        let matches = targets.into_iter().flatten().any(|t| {
            t.get("architecture").and_then(Value::as_str) == Some(arch)
                && strings(t.get("machines"))
                    .iter()
                    .any(|m| glob_match(m, machine))
        });
        if !matches {
            continue;
        }
        let Some(path) = doc
            .pointer("/mapping/executable/filename")
            .and_then(Value::as_str)
        else {
            continue;
        };
        if !loaders.paths.iter().any(|p| p == path) {
            loaders.paths.push(path.to_string());
        }
        if features.contains(&"secure-boot") {
            loaders.secure = true;
        }
    }
    loaders
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_match_with_wildcards_and_smm_is_required_where_asked() {
        assert!(glob_match("pc-i440fx-*", "pc-i440fx-7.2"));
        assert!(!glob_match("pc-q35-*", "pc-i440fx-7.2"));
        let dir = tempfile::tempdir().expect("tempdir");
        let descriptor = |file: &str, image: &str, features: &str| {
            std::fs::write(
                dir.path().join(file),
                format!(
                    r#"{{"interface-types":["uefi"],"mapping":{{"device":"flash","executable":{{"filename":"{image}"}}}},
                       "targets":[{{"architecture":"x86_64","machines":["pc-i440fx-*","pc-q35-*"]}}],"features":[{features}]}}"#
                ),
            )
            .expect("write");
        };
        descriptor(
            "50-secure.json",
            "/fw/CODE.secboot.fd",
            r#""requires-smm","secure-boot""#,
        );
        descriptor("60-plain.json", "/fw/CODE.fd", r#""acpi-s3""#);
        let pc = loaders_in(std::iter::once(dir.path()), "x86_64", "pc-i440fx-7.2");
        assert_eq!(pc.paths, vec!["/fw/CODE.fd"]);
        assert!(!pc.secure);
        let q35 = loaders_in(std::iter::once(dir.path()), "x86_64", "pc-q35-7.2");
        assert_eq!(q35.paths, vec!["/fw/CODE.secboot.fd", "/fw/CODE.fd"]);
        assert!(q35.secure);
    }
}
