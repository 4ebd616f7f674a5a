//! Vendor and product names from the `pci.ids` / `usb.ids` databases, as
//! libvirt gets them through libpciaccess (PCI) and udev's hwdb (USB).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

/// The vendor's and the product's name for `vendor`:`product`, from the first
/// database file that exists.
pub fn lookup(files: &[PathBuf], vendor: u32, product: u32) -> (Option<String>, Option<String>) {
    let Some(file) = files.iter().find_map(|f| std::fs::File::open(f).ok()) else {
        return (None, None);
    };
    let vendor_key = format!("{vendor:04x}");
    let product_key = format!("{product:04x}");
    let mut vendor_name = None;
    for line in BufReader::new(file).lines().map_while(Result::ok) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if !line.starts_with('\t') {
            if vendor_name.is_some() {
                // Past this vendor's block without finding the product.
                break;
            }
            // Device classes follow the vendors ("C 00  ..."): stop there.
            if line.starts_with("C ") {
                break;
            }
            if let Some(name) = entry(&line, &vendor_key) {
                vendor_name = Some(name);
            }
            continue;
        }
        if vendor_name.is_some() && !line.starts_with("\t\t") {
            if let Some(name) = entry(&line[1..], &product_key) {
                return (vendor_name, Some(name));
            }
        }
    }
    (vendor_name, None)
}

/// `name` when `line` is `<key>  <name>` (case-insensitive key).
fn entry(line: &str, key: &str) -> Option<String> {
    let (id, name) = line.split_once("  ")?;
    id.eq_ignore_ascii_case(key)
        .then(|| name.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_vendor_and_product() {
        let path = std::env::temp_dir().join(format!("pci-ids-{}", std::process::id()));
        std::fs::write(
            &path,
            "# comment\n1234  Other\n\t0001  Thing\n1af4  Red Hat, Inc.\n\t1000  Virtio network device\n\t\t1af4 0001  Sub\n\t1041  Virtio 1.0 network device\n8086  Intel\nC 00  Unclassified\n",
        )
        .expect("write");
        let files = vec![path.clone()];
        assert_eq!(
            lookup(&files, 0x1af4, 0x1041),
            (
                Some("Red Hat, Inc.".into()),
                Some("Virtio 1.0 network device".into())
            )
        );
        assert_eq!(lookup(&files, 0x8086, 0x0d57), (Some("Intel".into()), None));
        assert_eq!(lookup(&files, 0x9999, 1), (None, None));
        let _ = std::fs::remove_file(path);
    }
}
