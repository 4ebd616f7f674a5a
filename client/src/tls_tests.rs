//! TLS connections against an in-test rustls server that behaves like a
//! libvirt daemon's TLS port: it asks for a client certificate, sends the
//! confirmation byte (or another one), then answers one call.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::Path;
use std::sync::Arc;
use std::thread;

use protocol::{encode_message, FrameDecoder};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};

use crate::{Client, ClientError, ServerCheck, TlsConfig, TlsError, TlsFiles};

struct Pki {
    dir: tempfile::TempDir,
    server: ServerConfig,
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// A CA, a server certificate for `localhost` and a client certificate in
/// `pkipath` layout.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    write(dir.path(), "cacert.pem", &ca.pem());

    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().unwrap();
    let server_cert = params.signed_by(&server_key, &ca).unwrap();

    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().unwrap();
    let client_cert = params.signed_by(&client_key, &ca).unwrap();
    write(dir.path(), "clientcert.pem", &client_cert.pem());
    write(dir.path(), "clientkey.pem", &client_key.serialize_pem());

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes()).unwrap();
    let server = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server_cert.der().clone()], key)
        .unwrap();
    Pki { dir, server }
}

/// Serves one connection: handshake, `confirmation`, then one empty OK
/// reply. Returns whether the client presented a certificate.
fn serve_one(config: ServerConfig, confirmation: u8) -> (SocketAddr, thread::JoinHandle<bool>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut conn = ServerConnection::new(Arc::new(config)).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut sock).is_err() {
                return false;
            }
        }
        let presented = conn.peer_certificates().is_some_and(|c| !c.is_empty());
        let mut stream = StreamOwned::new(conn, sock);
        if stream.write_all(&[confirmation]).is_err() || confirmation != 1 {
            return presented;
        }
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(Some(call)) = decoder.next_message() {
                let reply = encode_message(&call.header.reply_to(), &[]);
                stream.write_all(&reply).unwrap();
                return presented;
            }
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return presented,
                Ok(n) => decoder.push(&buf[..n]),
            }
        }
    });
    (addr, handle)
}

#[test]
fn a_certificate_is_presented_and_calls_flow_after_the_confirmation() {
    let pki = pki();
    let files = TlsFiles::in_directory(pki.dir.path());
    let config = TlsConfig::new(&files, ServerCheck::Verify, false).unwrap();
    let (addr, server) = serve_one(pki.server, 1);
    let mut client = Client::connect_tls(addr, "localhost", &config).unwrap();
    client
        .call_raw(protocol::programs::REMOTE_PROGRAM, 1, &[])
        .unwrap();
    assert!(client.stream().tls_parameters().is_some());
    assert!(
        server.join().unwrap(),
        "no client certificate was presented"
    );
}

#[test]
fn a_refusal_byte_is_not_taken_for_the_confirmation() {
    let pki = pki();
    let files = TlsFiles::in_directory(pki.dir.path());
    let config = TlsConfig::new(&files, ServerCheck::Verify, true).unwrap();
    let (addr, server) = serve_one(pki.server, 0);
    match Client::connect_tls(addr, "localhost", &config) {
        Err(ClientError::Tls(e)) if matches!(*e, TlsError::BadConfirmation(0)) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a refusal byte was taken for the confirmation"),
    }
    server.join().unwrap();
}

#[test]
fn server_checks_follow_the_ca_and_no_verify() {
    let pki = pki();
    let files = TlsFiles::in_directory(pki.dir.path());
    // Another name than the certificate's: refused when verifying.
    let strict = TlsConfig::new(&files, ServerCheck::Verify, false).unwrap();
    let (addr, server) = serve_one(pki.server.clone(), 1);
    match Client::connect_tls(addr, "elsewhere.example", &strict) {
        Err(ClientError::Tls(e)) if matches!(*e, TlsError::Handshake(_)) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a certificate for localhost was accepted for another name"),
    }
    server.join().unwrap();
    // no_verify: accepted without even reading a CA file, and without our
    // own certificate none is offered.
    let anonymous = tempfile::tempdir().unwrap();
    let files = TlsFiles::in_directory(anonymous.path());
    let loose = TlsConfig::new(&files, ServerCheck::AcceptAny, false).unwrap();
    let (addr, server) = serve_one(pki.server, 1);
    let mut client = Client::connect_tls(addr, "elsewhere.example", &loose).unwrap();
    client
        .call_raw(protocol::programs::REMOTE_PROGRAM, 1, &[])
        .unwrap();
    assert!(
        !server.join().unwrap(),
        "a certificate was offered without files"
    );
}

#[test]
fn missing_ca_file_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = TlsFiles::in_directory(dir.path());
    let err = TlsConfig::new(&files, ServerCheck::Verify, false).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("Cannot read CA certificate '"), "{text}");
    assert!(text.contains("cacert.pem"), "{text}");
}
