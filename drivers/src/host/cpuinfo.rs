//! Facts read from /proc/cpuinfo, with the same rules libvirt applies to that file:
//! the clock is the *last* "cpu MHz" line (fraction dropped), the physical address width
//! and microcode revision come from the first matching line, and the x86 signature and
//! vendor from the first processor block.

/// The key of the per-CPU clock line, which depends on the architecture (`None`: the
/// architecture has no usable clock line, as on ARM).
fn frequency_key(arch: &str) -> Option<&'static str> {
    match arch {
        "i686" | "x86_64" => Some("cpu MHz"),
        "ppc" | "ppcle" | "ppc64" | "ppc64le" | "ppcemb" => Some("clock"),
        "s390" | "s390x" => Some("cpu MHz dynamic"),
        "loongarch64" => Some("CPU MHz"),
        _ => None,
    }
}

/// Splits "key<whitespace>: value" into trimmed key and value.
fn split_line(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    Some((key.trim(), value.trim()))
}

/// CPU clock in MHz: the integer part of the last clock line. 0 when unknown.
pub(crate) fn parse_mhz(cpuinfo: &str, arch: &str) -> u32 {
    let Some(key) = frequency_key(arch) else {
        return 0;
    };
    let mut mhz = 0;
    for (k, value) in cpuinfo.lines().filter_map(split_line) {
        if k != key {
            continue;
        }
        let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
        match digits.parse::<u32>() {
            Ok(v) => mhz = v,
            // libvirt stops at the first malformed clock line and keeps what it had.
            Err(_) => break,
        }
    }
    mhz
}

/// Physical address width from "address sizes : 46 bits physical, ...".
pub(crate) fn parse_phys_addr_bits(cpuinfo: &str) -> Option<u32> {
    let (_, value) = cpuinfo
        .lines()
        .filter_map(split_line)
        .find(|(k, _)| k.eq_ignore_ascii_case("address sizes"))?;
    let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Microcode revision ("microcode : 0x5003604"), 0 when absent. Like libvirt, only the
/// first 4 KiB of the file are looked at and the number may be hex or decimal.
pub(crate) fn parse_microcode(cpuinfo: &str) -> u32 {
    let head = match cpuinfo.char_indices().nth(4096) {
        Some((end, _)) => &cpuinfo[..end],
        None => cpuinfo,
    };
    let Some(at) = head.find("microcode") else {
        return 0;
    };
    let Some((_, value)) = head[at..].split_once(':') else {
        return 0;
    };
    let value = value.trim_start();
    let token: String = value
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let parsed = match token
        .strip_prefix("0x")
        .or_else(|| token.strip_prefix("0X"))
    {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => token.parse().ok(),
    };
    parsed.unwrap_or(0)
}

/// The x86 identification of the first processor block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct X86Identity {
    /// CPUID vendor string, e.g. "GenuineIntel".
    pub(crate) vendor_id: Option<String>,
    pub(crate) family: Option<u32>,
    pub(crate) model: Option<u32>,
    pub(crate) stepping: Option<u32>,
    /// The "flags" words.
    pub(crate) flags: Vec<String>,
}

/// Reads vendor, family/model/stepping and flags from the first processor block.
pub(crate) fn parse_x86_identity(cpuinfo: &str) -> X86Identity {
    let mut id = X86Identity::default();
    for line in cpuinfo.lines() {
        if line.trim().is_empty() {
            if id.vendor_id.is_some() || id.family.is_some() {
                break;
            }
            continue;
        }
        let Some((key, value)) = split_line(line) else {
            continue;
        };
        match key {
            "vendor_id" => id.vendor_id = Some(value.to_string()),
            "cpu family" => id.family = value.parse().ok(),
            "model" => id.model = value.parse().ok(),
            "stepping" => id.stepping = value.parse().ok(),
            "flags" => id.flags = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    id
}

/// libvirt's name for an x86 CPUID vendor string (the vendors its CPU map knows).
pub(crate) fn x86_vendor_name(vendor_id: &str) -> Option<&'static str> {
    match vendor_id {
        "GenuineIntel" => Some("Intel"),
        "AuthenticAMD" => Some("AMD"),
        "HygonGenuine" => Some("Hygon"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::fake_cpuinfo;
    use super::*;

    #[test]
    fn mhz_is_the_last_clock_line_without_fraction() {
        assert_eq!(parse_mhz(&fake_cpuinfo(3), "x86_64"), 2400);
        assert_eq!(parse_mhz(&fake_cpuinfo(3), "aarch64"), 0);
        assert_eq!(parse_mhz("clock\t\t: 3425.000000MHz\n", "ppc64le"), 3425);
        assert_eq!(
            parse_mhz("cpu MHz\t: 1000.5\ncpu MHz\t: junk\n", "x86_64"),
            1000
        );
    }

    #[test]
    fn identity_comes_from_the_first_block() {
        let id = parse_x86_identity(&fake_cpuinfo(2));
        assert_eq!(id.vendor_id.as_deref(), Some("GenuineIntel"));
        assert_eq!(
            (id.family, id.model, id.stepping),
            (Some(6), Some(85), Some(7))
        );
        assert!(id.flags.iter().any(|f| f == "nonstop_tsc"));
        assert_eq!(x86_vendor_name("AuthenticAMD"), Some("AMD"));
        assert_eq!(x86_vendor_name("CentaurHauls"), None);
    }

    #[test]
    fn microcode_and_address_width() {
        assert_eq!(parse_microcode(&fake_cpuinfo(1)), 0x5003604);
        assert_eq!(parse_microcode("microcode\t: 17\n"), 17);
        assert_eq!(parse_microcode("processor : 0\n"), 0);
        assert_eq!(parse_phys_addr_bits(&fake_cpuinfo(1)), Some(46));
        assert_eq!(parse_phys_addr_bits("processor : 0\n"), None);
    }
}
