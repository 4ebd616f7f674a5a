//! The after-handshake checks and the loading rules, on certificates made
//! for each case.

use std::path::Path;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CertifiedIssuer, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::CertificateDer;

use super::files::TlsFiles;
use super::material::{Material, TlsPolicy, TlsSource};
use super::session::{check_peer, PeerError};

const CLIENT_DN: &str = "C=GB,ST=London,L=London,O=Test Org,CN=testclient";

fn ca(cn: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA cert")
}

/// Parameters of a good client certificate, as the certtool recipe makes it.
fn client_params(serial: u8) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CountryName, "GB");
    params
        .distinguished_name
        .push(DnType::StateOrProvinceName, "London");
    params
        .distinguished_name
        .push(DnType::LocalityName, "London");
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Test Org");
    params
        .distinguished_name
        .push(DnType::CommonName, "testclient");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.serial_number = Some(SerialNumber::from_slice(&[serial]));
    params
}

fn server_params() -> CertificateParams {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params
}

fn sign(params: CertificateParams, issuer: &CertifiedIssuer<'_, KeyPair>) -> (String, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, issuer).expect("sign");
    (cert.pem(), key)
}

fn der(pem: &str) -> CertificateDer<'static> {
    use rustls_pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM certificate")
}

struct Setup {
    dir: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
}

impl Setup {
    /// A CA and a server certificate in a fresh directory.
    fn new() -> Setup {
        Self::with_server(server_params())
    }

    fn with_server(server: CertificateParams) -> Setup {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = ca("Test CA");
        std::fs::write(dir.path().join("cacert.pem"), ca.pem()).expect("write CA");
        let (cert, key) = sign(server, &ca);
        std::fs::write(dir.path().join("servercert.pem"), cert).expect("write cert");
        std::fs::write(dir.path().join("serverkey.pem"), key.serialize_pem()).expect("write key");
        Setup { dir, ca }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn source(&self, allowed_dn_list: Option<Vec<String>>) -> TlsSource {
        TlsSource {
            files: TlsFiles {
                ca_cert: self.path("cacert.pem"),
                ca_crl: Some(self.path("cacrl.pem")),
                server_cert: self.path("servercert.pem"),
                server_key: self.path("serverkey.pem"),
            },
            policy: TlsPolicy {
                sanity_check: true,
                require_valid_cert: true,
                allowed_dn_list,
                priority: "NORMAL".to_string(),
            },
        }
    }

    fn material(&self, allowed_dn_list: Option<Vec<String>>) -> Material {
        match Material::load(&self.source(allowed_dn_list)) {
            Ok(m) => m,
            Err(e) => panic!("material should load: {e}"),
        }
    }

    fn client(&self, params: CertificateParams) -> CertificateDer<'static> {
        der(&sign(params, &self.ca).0)
    }
}

fn verdict(material: &Material, cert: &CertificateDer<'static>) -> (Option<String>, String) {
    let (dn, result) = check_peer(material, Some(std::slice::from_ref(cert)));
    let text = match result {
        Ok(()) => "ok".to_string(),
        Err(e) => e.to_string(),
    };
    (dn, text)
}

#[test]
fn a_good_client_certificate_passes_and_yields_its_dn() {
    let setup = Setup::new();
    let material = setup.material(None);
    let cert = setup.client(client_params(1));
    assert_eq!(
        verdict(&material, &cert),
        (Some(CLIENT_DN.to_string()), "ok".to_string())
    );
}

#[test]
fn a_missing_certificate_is_refused_with_libvirts_message() {
    let setup = Setup::new();
    let material = setup.material(None);
    let (dn, result) = check_peer(&material, None);
    assert_eq!(dn, None);
    assert!(matches!(result, Err(PeerError::NoCertificate)));
    let (_, result) = check_peer(&material, Some(&[]));
    assert_eq!(
        result.map_err(|e| e.to_string()),
        Err("Unable to verify TLS peer: No certificate was found.".to_string())
    );
}

#[test]
fn a_certificate_from_another_ca_has_no_known_issuer() {
    let setup = Setup::new();
    let material = setup.material(None);
    let other = ca("Other CA");
    let cert = der(&sign(client_params(1), &other).0);
    assert_eq!(
        verdict(&material, &cert).1,
        "Certificate failed validation: The certificate hasn't got a known issuer."
    );
}

#[test]
fn an_expired_certificate_is_not_trusted() {
    let setup = Setup::new();
    let material = setup.material(None);
    let mut params = client_params(1);
    params.not_before = date_time_ymd(2000, 1, 1);
    params.not_after = date_time_ymd(2001, 1, 1);
    let cert = setup.client(params);
    assert_eq!(
        verdict(&material, &cert).1,
        "Certificate failed validation: The certificate is not trusted."
    );
}

#[test]
fn a_revoked_certificate_is_refused_when_the_crl_lists_it() {
    let setup = Setup::new();
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2020, 1, 1),
        next_update: date_time_ymd(4000, 1, 1),
        crl_number: SerialNumber::from_slice(&[1]),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(&[7]),
            revocation_time: date_time_ymd(2020, 1, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&setup.ca)
    .expect("CRL");
    std::fs::write(setup.path("cacrl.pem"), crl.pem().expect("CRL PEM")).expect("write CRL");
    let material = setup.material(None);
    let revoked = setup.client(client_params(7));
    let kept = setup.client(client_params(8));
    assert_eq!(
        verdict(&material, &revoked).1,
        "Certificate failed validation: The certificate has been revoked."
    );
    assert_eq!(verdict(&material, &kept).1, "ok");
}

#[test]
fn a_ca_certificate_cannot_be_a_client() {
    let setup = Setup::new();
    let material = setup.material(None);
    let mut params = client_params(1);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![];
    let cert = setup.client(params);
    assert_eq!(
        verdict(&material, &cert).1,
        "The certificate [session] basic constraints show a CA, but we need one for a client"
    );
}

#[test]
fn a_missing_purpose_is_fatal_only_in_a_critical_extension() {
    let setup = Setup::new();
    let material = setup.material(None);
    let mut lenient = client_params(1);
    lenient.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    assert_eq!(verdict(&material, &setup.client(lenient)).1, "ok");

    let mut strict = client_params(2);
    strict.extended_key_usages = vec![];
    // SEQUENCE { OID 1.3.6.1.5.5.7.3.1 (serverAuth) }, marked critical.
    let mut eku = CustomExtension::from_oid_content(
        &[2, 5, 29, 37],
        vec![
            0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01,
        ],
    );
    eku.set_criticality(true);
    strict.custom_extensions = vec![eku];
    assert_eq!(
        verdict(&material, &setup.client(strict)).1,
        "Certificate [session] purpose does not allow use for with a TLS client"
    );
}

#[test]
fn key_usage_without_key_encipherment_is_refused_when_critical() {
    let setup = Setup::new();
    let material = setup.material(None);
    let mut params = client_params(1);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    assert_eq!(
        verdict(&material, &setup.client(params)).1,
        "Certificate [session] usage does not permit key encipherment"
    );
}

#[test]
fn the_dn_list_admits_matches_and_refuses_the_rest() {
    let setup = Setup::new();
    let cert = setup.client(client_params(1));
    let list = |items: &[&str]| Some(items.iter().map(|s| s.to_string()).collect());
    let refused = "Client's Distinguished Name is not on the list of allowed clients";
    let wildcard = setup.material(list(&["C=GB,*,CN=test*"]));
    assert_eq!(verdict(&wildcard, &cert).1, "ok");
    let other = setup.material(list(&["C=GB,ST=London,L=London,O=Test Org,CN=other"]));
    assert!(verdict(&other, &cert).1.starts_with(refused));
    let empty = setup.material(list(&[]));
    let (dn, text) = verdict(&empty, &cert);
    assert!(text.starts_with(refused), "{text}");
    assert_eq!(dn.as_deref(), Some(CLIENT_DN));
}

fn load_error(source: &TlsSource) -> String {
    match Material::load(source) {
        Ok(_) => panic!("loading should fail"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_ca_as_server_certificate_stops_loading_unless_sanity_checks_are_off() {
    let mut params = server_params();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    params.extended_key_usages = vec![];
    let setup = Setup::with_server(params);
    let mut source = setup.source(None);
    let cert = setup.path("servercert.pem");
    assert_eq!(
        load_error(&source),
        format!(
            "The certificate {} basic constraints show a CA, but we need one for a server",
            cert.display()
        )
    );
    source.policy.sanity_check = false;
    assert!(Material::load(&source).is_ok());
}

#[test]
fn a_missing_key_is_reported_with_its_path() {
    let setup = Setup::new();
    std::fs::remove_file(setup.path("serverkey.pem")).expect("remove key");
    let key: &Path = &setup.path("serverkey.pem");
    assert_eq!(
        load_error(&setup.source(None)),
        format!(
            "Cannot read private key '{}': No such file or directory",
            key.display()
        )
    );
}

#[test]
fn a_server_certificate_from_another_ca_fails_the_pair_check() {
    let setup = Setup::new();
    let other = ca("Other CA");
    let (cert, key) = sign(server_params(), &other);
    std::fs::write(setup.path("servercert.pem"), cert).expect("write cert");
    std::fs::write(setup.path("serverkey.pem"), key.serialize_pem()).expect("write key");
    assert_eq!(
        load_error(&setup.source(None)),
        format!(
            "Our own certificate {} failed validation against {}: The certificate hasn't got a known issuer.",
            setup.path("servercert.pem").display(),
            setup.path("cacert.pem").display()
        )
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let setup = Setup::new();
    let stranger = KeyPair::generate().expect("key");
    std::fs::write(setup.path("serverkey.pem"), stranger.serialize_pem()).expect("write key");
    let text = load_error(&setup.source(None));
    assert!(
        text.starts_with("Unable to set x509 key and certificate: "),
        "{text}"
    );
}
