//! Where libvirt-guests finds its TLS files when the URI names no `pkipath`.
//! The TLS session itself is the client crate's.

use std::path::{Path, PathBuf};

use crate::paths::Paths;

/// The CA certificate, our certificate and our key.
pub type ClientPki = client::TlsFiles;

/// libvirt's defaults: the system locations for root; for other users
/// `~/.pki/libvirt/` file by file, falling back to the system ones.
pub fn default_pki(paths: &Paths) -> ClientPki {
    let system = ClientPki {
        ca_cert: paths.rooted(Path::new("/etc/pki/CA/cacert.pem")),
        client_cert: paths.rooted(Path::new("/etc/pki/libvirt/clientcert.pem")),
        client_key: paths.rooted(Path::new("/etc/pki/libvirt/private/clientkey.pem")),
    };
    if paths.privileged {
        return system;
    }
    let user = ClientPki::in_directory(&paths.user_pki_dir);
    let pick = |preferred: PathBuf, fallback: PathBuf| {
        if preferred.exists() {
            preferred
        } else {
            fallback
        }
    };
    ClientPki {
        ca_cert: pick(user.ca_cert, system.ca_cert),
        client_cert: pick(user.client_cert, system.client_cert),
        client_key: pick(user.client_key, system.client_key),
    }
}
