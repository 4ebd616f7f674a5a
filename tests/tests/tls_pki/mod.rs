//! Certificates for the TLS tests, made with `certtool` (Debian gnutls-bin)
//! following the recipe libvirt's documentation gives administrators, and a
//! daemon listening on TLS with them.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration_tests::tools::{require_tool, run_with_deadline};
use integration_tests::{wait_until, Daemon, DaemonBuilder};

/// The client DN of [`CLIENT_TEMPLATE`], as `tls_allowed_dn_list` sees it.
pub const CLIENT_DN: &str = "C=GB,ST=London,L=London,O=Test Org,CN=testclient";

pub const CLIENT_TEMPLATE: &str = "country = GB\nstate = London\nlocality = London\n\
    organization = Test Org\ncn = testclient\ntls_www_client\nencryption_key\nsigning_key\n\
    expiration_days = 3650\n";

pub const SERVER_TEMPLATE: &str = "organization = Test Org\ncn = localhost\n\
    dns_name = localhost\nip_address = 127.0.0.1\ntls_www_server\nencryption_key\n\
    signing_key\nexpiration_days = 3650\n";

/// Runs certtool, panicking with its output on failure.
fn certtool(args: &[&str]) {
    let tool = require_tool("certtool", "gnutls-bin");
    let out = run_with_deadline(Command::new(tool).args(args), Duration::from_secs(60));
    assert!(out.success(), "certtool {args:?} failed:\n{out}");
}

/// A certificate authority in its own directory (`cacert.pem`, `cakey.pem`).
pub struct Ca {
    pub dir: PathBuf,
    serial: std::cell::Cell<u32>,
}

impl Ca {
    /// Creates the CA in `dir` with an RSA key, as the libvirt docs do.
    pub fn new(dir: &Path, cn: &str) -> Ca {
        fs::create_dir_all(dir).expect("CA directory");
        let key = dir.join("cakey.pem");
        certtool(&["--generate-privkey", "--outfile", path(&key)]);
        let template = dir.join("ca.info");
        fs::write(
            &template,
            format!("cn = {cn}\nca\ncert_signing_key\ncrl_signing_key\nexpiration_days = 3650\n"),
        )
        .expect("CA template");
        certtool(&[
            "--generate-self-signed",
            "--load-privkey",
            path(&key),
            "--template",
            path(&template),
            "--outfile",
            path(&dir.join("cacert.pem")),
        ]);
        Ca {
            dir: dir.to_path_buf(),
            serial: std::cell::Cell::new(100),
        }
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.join("cacert.pem")
    }

    /// Issues `<name>cert.pem` and `<name>key.pem` in the CA directory from
    /// a certtool template. RSA keys of 2048 bits when `fast`, else
    /// certtool's default (3072). (ECDSA keys cannot carry the key
    /// encipherment usage virsh's own sanity check asks of a client.)
    pub fn issue(&self, name: &str, template: &str, fast: bool) -> (PathBuf, PathBuf) {
        let key = self.dir.join(format!("{name}key.pem"));
        let cert = self.dir.join(format!("{name}cert.pem"));
        let mut args = vec!["--generate-privkey", "--outfile", path(&key)];
        if fast {
            args.extend(["--bits", "2048"]);
        }
        certtool(&args);
        let serial = self.serial.get() + 1;
        self.serial.set(serial);
        let info = self.dir.join(format!("{name}.info"));
        fs::write(&info, format!("serial = {serial}\n{template}")).expect("template");
        certtool(&[
            "--generate-certificate",
            "--load-privkey",
            path(&key),
            "--load-ca-certificate",
            path(&self.cert()),
            "--load-ca-privkey",
            path(&self.dir.join("cakey.pem")),
            "--template",
            path(&info),
            "--outfile",
            path(&cert),
        ]);
        (cert, key)
    }

    /// Writes `cacrl.pem` revoking `certs`; returns its path.
    pub fn revoke(&self, certs: &[&Path]) -> PathBuf {
        let crl = self.dir.join("cacrl.pem");
        let info = self.dir.join("crl.info");
        fs::write(&info, "crl_next_update = 365\ncrl_number = 1\n").expect("CRL template");
        let mut args = vec![
            "--generate-crl".to_string(),
            "--load-ca-privkey".into(),
            path(&self.dir.join("cakey.pem")).into(),
            "--load-ca-certificate".into(),
            path(&self.cert()).into(),
            "--template".into(),
            path(&info).into(),
            "--outfile".into(),
            path(&crl).into(),
        ];
        for cert in certs {
            args.push("--load-certificate".into());
            args.push(path(cert).into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        certtool(&args);
        crl
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A directory usable as a client's `pkipath`: the CA that signed the
/// server, plus optionally a client certificate and key.
pub fn client_pki(dir: &Path, server_ca: &Ca, client: Option<&(PathBuf, PathBuf)>) -> PathBuf {
    client_pki_trusting(dir, &[server_ca], client)
}

/// [`client_pki`] whose `cacert.pem` holds several CAs (the client checks
/// its own certificate against them before connecting).
pub fn client_pki_trusting(
    dir: &Path,
    cas: &[&Ca],
    client: Option<&(PathBuf, PathBuf)>,
) -> PathBuf {
    fs::create_dir_all(dir).expect("client pki directory");
    let bundle: String = cas
        .iter()
        .map(|ca| fs::read_to_string(ca.cert()).expect("read CA"))
        .collect();
    fs::write(dir.join("cacert.pem"), bundle).expect("write CA bundle");
    if let Some((cert, key)) = client {
        fs::copy(cert, dir.join("clientcert.pem")).expect("copy client cert");
        fs::copy(key, dir.join("clientkey.pem")).expect("copy client key");
    }
    dir.to_path_buf()
}

/// The CA, the server's files and a good client, in one temporary directory.
pub struct TestPki {
    pub tmp: tempfile::TempDir,
    pub ca: Ca,
    pub server: (PathBuf, PathBuf),
    /// pkipath of a client with a valid certificate.
    pub good_client: PathBuf,
}

impl TestPki {
    pub fn new() -> TestPki {
        let tmp = tempfile::Builder::new()
            .prefix("libvirtd-tls-")
            .tempdir()
            .expect("tempdir");
        let ca = Ca::new(&tmp.path().join("ca"), "Test Libvirt CA");
        let server = ca.issue("server", SERVER_TEMPLATE, false);
        let client = ca.issue("client", CLIENT_TEMPLATE, false);
        let good_client = client_pki(&tmp.path().join("good"), &ca, Some(&client));
        TestPki {
            tmp,
            ca,
            server,
            good_client,
        }
    }

    pub fn dir(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// libvirtd.conf lines naming the three files.
    pub fn file_conf(&self) -> Vec<String> {
        vec![
            format!("key_file = \"{}\"", self.server.1.display()),
            format!("cert_file = \"{}\"", self.server.0.display()),
            format!("ca_file = \"{}\"", self.ca.cert().display()),
        ]
    }
}

/// A daemon serving TLS on 127.0.0.1 with `--listen`, plus its port.
pub fn start_tls_daemon(conf: &[String]) -> (Daemon, u16) {
    let port = integration_tests::daemon::free_tcp_port();
    let mut builder = DaemonBuilder::new()
        .arg("--listen")
        .conf("listen_tls = 1")
        .conf("listen_tcp = 0")
        .conf(format!("tls_port = \"{port}\""))
        .conf("listen_addr = \"127.0.0.1\"");
    for line in conf {
        builder = builder.conf(line.clone());
    }
    let mut daemon = builder.start();
    let listening = wait_until(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    if !listening {
        let _ = daemon.poll_exit();
        panic!(
            "the TLS port {port} never accepted\n{}",
            daemon.diagnostics()
        );
    }
    (daemon, port)
}

/// The test driver over TLS with the client files in `pkipath`.
pub fn tls_uri(port: u16, pkipath: &Path) -> String {
    format!(
        "test+tls://localhost:{port}/default?pkipath={}",
        pkipath.display()
    )
}

/// What virsh prints when the server closes without its confirmation byte.
pub const REFUSED: &str = "Unable to read TLS confirmation: Input/output error";
