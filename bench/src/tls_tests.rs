//! The TLS client against an in-process rustls server that behaves like a
//! libvirt daemon's TLS port: it demands a client certificate, sends the
//! confirmation byte (or another one), then answers every call with an
//! empty OK reply. Certificates come from [`Pki::create`], so certtool must
//! be installed (Debian package gnutls-bin).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use protocol::frame::{encode_message, FrameDecoder};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::load::{run_lockstep, Bounds};
use crate::pki::{Pki, SERVER_NAME};
use crate::tls_client::{client_config, TlsEndpoint};
use crate::transport::Endpoint;
use crate::wire::{Session, WireError};
use client::{ClientError, TlsError};

fn server_config(pki: &Pki) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&pki.ca_cert).unwrap())
        .unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let chain = vec![CertificateDer::from_pem_file(&pki.server_cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&pki.server_key).unwrap();
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

/// Serves one connection: handshake, `confirmation`, then OK replies
/// until the client leaves. Returns how many calls it answered and
/// whether the client presented a certificate.
fn serve_one(
    config: Arc<ServerConfig>,
    confirmation: u8,
) -> (SocketAddr, thread::JoinHandle<(u64, bool)>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let mut conn = ServerConnection::new(config).unwrap();
        while conn.is_handshaking() {
            if conn.complete_io(&mut sock).is_err() {
                return (0, false);
            }
        }
        let had_cert = conn.peer_certificates().is_some_and(|c| !c.is_empty());
        let mut stream = StreamOwned::new(conn, sock);
        stream.write_all(&[confirmation]).unwrap();
        let mut decoder = FrameDecoder::new();
        let mut buf = [0u8; 4096];
        let mut answered = 0;
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) | Err(_) => return (answered, had_cert),
                Ok(n) => n,
            };
            decoder.push(&buf[..n]);
            while let Ok(Some(msg)) = decoder.next_message() {
                let reply = encode_message(&msg.header.reply_to(), &[]);
                if stream.write_all(&reply).is_err() {
                    return (answered, had_cert);
                }
                answered += 1;
            }
        }
    });
    (addr, handle)
}

#[test]
fn certtool_files_carry_a_mutually_authenticated_session_and_lockstep_load() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::create(dir.path()).expect("certtool (gnutls-bin) makes the certificates");
    let client = client_config(&pki.client).unwrap();

    let (addr, server) = serve_one(server_config(&pki), 0x01);
    let endpoint = Endpoint::Tls(TlsEndpoint::new(addr, SERVER_NAME, client.clone()));
    let mut session = Session::connect_to(&endpoint).unwrap();
    // A blocking call, then the non-blocking lock-step engine.
    session.call(66, &[]).unwrap();
    let mut sessions = vec![session];
    let bounds = Bounds {
        max_calls: 300,
        max_time: Duration::from_secs(30),
    };
    let outcome = run_lockstep(&mut sessions, 157, &[], bounds).unwrap();
    assert_eq!(outcome.calls, 300);
    assert_eq!(outcome.latencies_ns.len(), 300);
    drop(sessions);
    assert_eq!(server.join().unwrap(), (301, true));

    let (addr, server) = serve_one(server_config(&pki), 0x00);
    let endpoint = Endpoint::Tls(TlsEndpoint::new(addr, SERVER_NAME, client));
    match Session::connect_to(&endpoint) {
        Err(WireError::Tls(e)) if matches!(*e, TlsError::BadConfirmation(0)) => {}
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a refusal byte was taken for the confirmation"),
    }
    server.join().unwrap();
}

#[test]
fn a_server_name_outside_the_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::create(dir.path()).expect("certtool (gnutls-bin) makes the certificates");
    let client = client_config(&pki.client).unwrap();
    let (addr, server) = serve_one(server_config(&pki), 0x01);
    let endpoint = TlsEndpoint::new(addr, "elsewhere.example", client);
    match endpoint.connect() {
        Err(ClientError::Tls(e)) if matches!(*e, TlsError::Handshake(_)) => {
            assert!(e.to_string().contains("certificate"), "{e}")
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a certificate for localhost was accepted for another name"),
    }
    assert_eq!(server.join().unwrap(), (0, false));
}
