//! Certificates for the TLS phases, made with `certtool` (Debian package
//! gnutls-bin) the way libvirt's documentation tells administrators to:
//! a CA, a server certificate for `localhost` / `127.0.0.1` and a client
//! certificate, all with certtool's default key type and size (RSA, 3072
//! bits on Debian 12), so the handshakes cost what they cost in the field.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::tls_client::ClientFiles;

/// The certificate tool, looked up on `PATH`.
pub const CERTTOOL: &str = "certtool";

/// The name the client checks in the server certificate.
pub const SERVER_NAME: &str = "localhost";

const CA_TEMPLATE: &str = "cn = libvirtd-bench CA\nca\ncert_signing_key\nexpiration_days = 30\n";

const SERVER_TEMPLATE: &str = "organization = libvirtd-bench\ncn = localhost\n\
    dns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\n\
    signing_key\nexpiration_days = 30\n";

const CLIENT_TEMPLATE: &str = "country = GB\norganization = libvirtd-bench\n\
    cn = benchclient\ntls_www_client\nencryption_key\nsigning_key\nexpiration_days = 30\n";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{CERTTOOL} is not installed (Debian package gnutls-bin)")]
    Missing,
    #[error("running {CERTTOOL}: {0}")]
    Spawn(io::Error),
    #[error("{CERTTOOL} {args} failed ({status}):\n{stderr}")]
    Failed {
        args: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
}

/// The files of one run: what the daemons load and what the client sends.
#[derive(Debug, Clone)]
pub struct Pki {
    pub ca_cert: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client: ClientFiles,
}

fn certtool(args: &[&Path]) -> Result<(), PkiError> {
    let output = Command::new(CERTTOOL)
        .args(args)
        .output()
        .map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => PkiError::Missing,
            _ => PkiError::Spawn(e),
        })?;
    if output.status.success() {
        return Ok(());
    }
    Err(PkiError::Failed {
        args: args
            .iter()
            .map(|a| a.display().to_string())
            .collect::<Vec<_>>()
            .join(" "),
        status: output.status,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

fn write(path: &Path, text: &str) -> Result<(), PkiError> {
    fs::write(path, text).map_err(|source| PkiError::Write {
        path: path.to_path_buf(),
        source,
    })
}

fn private_key(path: &Path) -> Result<(), PkiError> {
    certtool(&["--generate-privkey".as_ref(), "--outfile".as_ref(), path])
}

/// Issues `<name>cert.pem` with key `<name>key.pem`, signed by the CA.
fn issue(
    dir: &Path,
    name: &str,
    template: &str,
    ca: (&Path, &Path),
) -> Result<(PathBuf, PathBuf), PkiError> {
    let key = dir.join(format!("{name}key.pem"));
    let cert = dir.join(format!("{name}cert.pem"));
    let info = dir.join(format!("{name}.info"));
    private_key(&key)?;
    write(&info, template)?;
    certtool(&[
        "--generate-certificate".as_ref(),
        "--load-privkey".as_ref(),
        &key,
        "--load-ca-certificate".as_ref(),
        ca.0,
        "--load-ca-privkey".as_ref(),
        ca.1,
        "--template".as_ref(),
        &info,
        "--outfile".as_ref(),
        &cert,
    ])?;
    Ok((cert, key))
}

impl Pki {
    /// Creates the CA, server and client files in `dir` (which must exist).
    pub fn create(dir: &Path) -> Result<Pki, PkiError> {
        let ca_key = dir.join("cakey.pem");
        let ca_cert = dir.join("cacert.pem");
        let ca_info = dir.join("ca.info");
        private_key(&ca_key)?;
        write(&ca_info, CA_TEMPLATE)?;
        certtool(&[
            "--generate-self-signed".as_ref(),
            "--load-privkey".as_ref(),
            &ca_key,
            "--template".as_ref(),
            &ca_info,
            "--outfile".as_ref(),
            &ca_cert,
        ])?;
        let ca = (ca_cert.as_path(), ca_key.as_path());
        let (server_cert, server_key) = issue(dir, "server", SERVER_TEMPLATE, ca)?;
        let (client_cert, client_key) = issue(dir, "client", CLIENT_TEMPLATE, ca)?;
        Ok(Pki {
            client: ClientFiles {
                ca_cert: ca_cert.clone(),
                cert: client_cert,
                key: client_key,
            },
            ca_cert,
            server_cert,
            server_key,
        })
    }

    /// The libvirtd.conf lines that make a daemon (started with `-l`)
    /// serve TLS only, on 127.0.0.1:`port`, with these files.
    pub fn listen_config(&self, port: u16) -> String {
        format!(
            "listen_tls = 1\n\
             listen_tcp = 0\n\
             tls_port = \"{port}\"\n\
             listen_addr = \"127.0.0.1\"\n\
             key_file = \"{}\"\n\
             cert_file = \"{}\"\n\
             ca_file = \"{}\"\n",
            self.server_key.display(),
            self.server_cert.display(),
            self.ca_cert.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Pki {
        Pki {
            ca_cert: "/t/cacert.pem".into(),
            server_cert: "/t/servercert.pem".into(),
            server_key: "/t/serverkey.pem".into(),
            client: ClientFiles {
                ca_cert: "/t/cacert.pem".into(),
                cert: "/t/clientcert.pem".into(),
                key: "/t/clientkey.pem".into(),
            },
        }
    }

    #[test]
    fn listen_config_names_port_address_and_files() {
        let text = sample().listen_config(16515);
        for line in [
            "listen_tls = 1",
            "listen_tcp = 0",
            "tls_port = \"16515\"",
            "listen_addr = \"127.0.0.1\"",
            "key_file = \"/t/serverkey.pem\"",
            "cert_file = \"/t/servercert.pem\"",
            "ca_file = \"/t/cacert.pem\"",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn templates_ask_for_the_usages_libvirt_checks() {
        assert!(CA_TEMPLATE.lines().any(|l| l == "ca"));
        assert!(SERVER_TEMPLATE.contains("dns_name = localhost\n"));
        assert!(SERVER_TEMPLATE.contains("ip_address = 127.0.0.1\n"));
        assert!(SERVER_TEMPLATE.contains("tls_www_server\n"));
        assert!(CLIENT_TEMPLATE.contains("tls_www_client\n"));
    }
}
