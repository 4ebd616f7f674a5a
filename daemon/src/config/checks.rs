//! Small value parsers for libvirtd.conf settings whose strings carry structure.

/// Highest permission bits a socket mode may carry (setuid/setgid/sticky + rwx).
const MAX_MODE: u32 = 0o7777;

/// An octal permission string such as `"0770"`. Like libvirt (which uses strtol with
/// base 8) leading blanks and a `+` are accepted and the whole rest must be octal
/// digits; unlike libvirt, negative values and bits above 07777 are refused instead
/// of being handed to chmod.
pub(crate) fn parse_mode(text: &str) -> Option<u32> {
    let trimmed = text.trim_start_matches(|c: char| c.is_ascii_whitespace());
    let digits = trimmed.strip_prefix('+').unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|mode| *mode <= MAX_MODE)
}

/// A UUID written the liberal way libvirt reads it: 32 hex digits, with `-` and
/// spaces allowed anywhere between digit pairs and surrounding whitespace.
pub(crate) fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let mut bytes = text
        .trim_start_matches(|c: char| c.is_ascii_whitespace())
        .bytes();
    let mut uuid = [0u8; 16];
    let mut filled = 0;
    while filled < uuid.len() {
        let high = bytes.next()?;
        if high == b'-' || high == b' ' {
            continue;
        }
        let high = hex_value(high)?;
        let low = hex_value(bytes.next()?)?;
        uuid[filled] = high * 16 + low;
        filled += 1;
    }
    bytes.all(|b| b.is_ascii_whitespace()).then_some(uuid)
}

fn hex_value(byte: u8) -> Option<u8> {
    char::from(byte)
        .to_digit(16)
        .and_then(|digit| u8::try_from(digit).ok())
}

/// libvirt refuses a host UUID whose sixteen bytes are all equal (such as the
/// all-zero example in the stock libvirtd.conf).
pub(crate) fn uuid_is_usable(uuid: &[u8; 16]) -> bool {
    uuid.iter().any(|byte| *byte != uuid[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_without_sign_tricks() {
        assert_eq!(parse_mode("0770"), Some(0o770));
        assert_eq!(parse_mode("777"), Some(0o777));
        assert_eq!(parse_mode(" +0700"), Some(0o700));
        assert_eq!(parse_mode("0"), Some(0));
        assert_eq!(parse_mode("7777"), Some(0o7777));
        for bad in [
            "", "0778", "0x1ff", "rwx", "0770 ", "-0700", "17777", "+", " ",
        ] {
            assert_eq!(parse_mode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuids_in_libvirts_liberal_syntax() {
        let expected = [
            0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34, 0x56, 0x78, 0x12, 0x34,
            0x56, 0x79,
        ];
        for text in [
            "12345678-1234-5678-1234-567812345679",
            "12345678123456781234567812345679",
            " 1234567812345678-1234567812345679 ",
            "12 34 56 78 12 34 56 78 12 34 56 78 12 34 56 79",
        ] {
            assert_eq!(parse_uuid(text), Some(expected), "{text:?}");
        }
        assert_eq!(
            parse_uuid("0123456789abcdefABCDEF0123456789").map(|u| u[7]),
            Some(0xef)
        );
        for bad in [
            "",
            "1234567812345678123456781234567",
            "12345678-1234-5678-1234-5678123456790",
            "12-34567812345678123456781234567 8",
            "g2345678123456781234567812345678",
            "12345678123456781234567812345678x",
        ] {
            assert_eq!(parse_uuid(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uuids_with_all_bytes_equal_are_unusable() {
        let zero = parse_uuid("00000000-0000-0000-0000-000000000000").expect("parses");
        let repeated = parse_uuid("12121212-1212-1212-1212-121212121212").expect("parses");
        let good = parse_uuid("12121212-1212-1212-1212-121212121213").expect("parses");
        assert!(!uuid_is_usable(&zero));
        assert!(!uuid_is_usable(&repeated));
        assert!(uuid_is_usable(&good));
    }
}
