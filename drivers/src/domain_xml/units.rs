//! Memory sizes with a `unit` attribute, scaled to KiB the way libvirt does it.

use super::DomainXmlError;

/// Bytes per unit for a libvirt size suffix; `None` for an unknown suffix. Suffixes are
/// case-insensitive: "b"/"bytes", a bare letter or "<letter>iB" are powers of 1024, and
/// "<letter>B" powers of 1000.
fn unit_scale(unit: &str) -> Option<u128> {
    let lower = unit.to_ascii_lowercase();
    if matches!(lower.as_str(), "b" | "byte" | "bytes") {
        return Some(1);
    }
    let mut chars = lower.chars();
    let letter = chars.next()?;
    let rest: String = chars.collect();
    let base: u128 = match rest.as_str() {
        "" | "ib" => 1024,
        "b" => 1000,
        _ => return None,
    };
    let power = match letter {
        'k' => 1,
        'm' => 2,
        'g' => 3,
        't' => 4,
        'p' => 5,
        'e' => 6,
        _ => return None,
    };
    Some(base.pow(power))
}

/// Parses a memory element's text and unit into KiB (rounded up), with libvirt's errors.
/// `path` is the XPath libvirt names when the number is malformed.
pub fn parse_memory_kib(text: &str, unit: Option<&str>, path: &str) -> Result<u64, DomainXmlError> {
    let trimmed = text.trim();
    let value: u64 = trimmed.parse().map_err(|_| DomainXmlError::InvalidValue {
        path: path.to_string(),
        value: text.to_string(),
    })?;
    let scale = match unit {
        None | Some("") => 1024,
        Some(unit) => unit_scale(unit).ok_or_else(|| DomainXmlError::UnknownUnit(unit.into()))?,
    };
    let bytes = u128::from(value) * scale;
    // libvirt caps memory sizes at what fits in an unsigned long long of bytes.
    if bytes > u128::from(u64::MAX) {
        return Err(DomainXmlError::ValueTooLarge(format!(
            "{value}{}",
            unit.unwrap_or("")
        )));
    }
    let kib = bytes.div_ceil(1024);
    u64::try_from(kib).map_err(|_| DomainXmlError::ValueTooLarge(format!("{value}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_unit_is_kib() {
        assert_eq!(parse_memory_kib("65536", None, "./memory[1]"), Ok(65536));
    }

    #[test]
    fn scales_every_suffix() {
        let cases = [
            ("b", 2048, 2),
            ("bytes", 1025, 2),
            ("KB", 1000, 977),
            ("k", 3, 3),
            ("KiB", 3, 3),
            ("MB", 1, 977),
            ("M", 1, 1024),
            ("MiB", 64, 65536),
            ("GB", 1, 976563),
            ("G", 1, 1048576),
            ("GiB", 2, 2097152),
            ("TB", 1, 976562500),
            ("T", 1, 1073741824),
            ("TiB", 1, 1073741824),
        ];
        for (unit, value, kib) in cases {
            assert_eq!(
                parse_memory_kib(&value.to_string(), Some(unit), "./memory[1]"),
                Ok(kib),
                "unit {unit}"
            );
        }
    }

    #[test]
    fn rejects_bad_numbers_and_units() {
        assert_eq!(
            parse_memory_kib("abc", None, "./memory[1]"),
            Err(DomainXmlError::InvalidValue {
                path: "./memory[1]".into(),
                value: "abc".into()
            })
        );
        assert!(matches!(
            parse_memory_kib("-5", None, "./memory[1]"),
            Err(DomainXmlError::InvalidValue { .. })
        ));
        assert_eq!(
            parse_memory_kib("1", Some("foo"), "./memory[1]"),
            Err(DomainXmlError::UnknownUnit("foo".into()))
        );
        assert_eq!(
            parse_memory_kib("100000000", Some("TiB"), "./memory[1]"),
            Err(DomainXmlError::ValueTooLarge("100000000TiB".into()))
        );
    }
}
