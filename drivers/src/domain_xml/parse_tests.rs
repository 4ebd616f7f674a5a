//! Parse checks and defaults, with the refusals libvirt 9.0 gives for the same documents.

use super::{parse_domain_xml, DomainXmlError, FormatOptions, ParseOptions};
use crate::api::DriverError;

fn parse(xml: &str) -> Result<super::DomainDef, DomainXmlError> {
    parse_domain_xml(xml, &ParseOptions::default())
}

fn domain(inner: &str) -> String {
    format!("<domain type='test'><name>x</name>{inner}</domain>")
}

const OS: &str = "<os><type>hvm</type></os>";

fn refusal(xml: &str) -> (i32, i32, String) {
    match parse(xml) {
        Ok(_) => panic!("accepted: {xml}"),
        Err(err) => {
            let err = DriverError::from(err);
            (err.code, err.domain, err.message)
        }
    }
}

#[test]
fn libvirt_refusals() {
    let cases: Vec<(String, (i32, i32, &str))> = vec![
        (
            format!("<domain type='test'><memory>1</memory>{OS}</domain>"),
            (21, 20, "missing name information"),
        ),
        (
            format!("<domain type='test'><name></name><memory>1</memory>{OS}</domain>"),
            (21, 20, "missing name information"),
        ),
        (
            format!("<domain><name>x</name><memory>1</memory>{OS}</domain>"),
            (1, 20, "internal error: missing domain type attribute"),
        ),
        (
            format!("<domain type='foo'><name>x</name><memory>1</memory>{OS}</domain>"),
            (67, 20, "unsupported configuration: invalid domain type foo"),
        ),
        (
            domain(&format!("<memory unit='foo'>1</memory>{OS}")),
            (8, 0, "invalid argument: unknown suffix 'foo'"),
        ),
        (
            domain(&format!("<memory>0</memory>{OS}")),
            (27, 20, "XML error: Memory size must be specified via <memory> or in the <numa> configuration"),
        ),
        (
            domain(&format!("<memory unit='TiB'>100000000</memory>{OS}")),
            (82, 0, "numerical overflow: value too large: 100000000TiB"),
        ),
        (
            domain(&format!("<memory>-5</memory>{OS}")),
            (27, 5, "XML error: Invalid value '-5' for element or attribute './memory[1]'"),
        ),
        (
            domain("<memory>1</memory>"),
            (27, 20, "XML error: an os <type> must be specified"),
        ),
        (
            domain("<memory>1</memory><os><type>foo</type></os>"),
            (67, 20, "unsupported configuration: unknown OS type 'foo'"),
        ),
        (
            domain("<memory>1</memory><os><type arch='foo'>hvm</type></os>"),
            (67, 20, "unsupported configuration: Unknown architecture foo"),
        ),
        (
            domain("<memory>1</memory><os><type>exe</type></os>"),
            (27, 20, "XML error: init binary must be specified"),
        ),
        (
            domain(&format!("<uuid>zzz</uuid><memory>1</memory>{OS}")),
            (1, 20, "internal error: malformed uuid element"),
        ),
        (
            domain(&format!("<memory>1</memory><vcpu>abc</vcpu>{OS}")),
            (27, 20, "XML error: maximum vcpus count must be an integer"),
        ),
        (
            domain(&format!("<memory>1</memory><vcpu>0</vcpu>{OS}")),
            (1, 20, "internal error: CPU IDs in <numa> exceed the <vcpu> count"),
        ),
        (
            domain(&format!("<memory>1</memory><vcpu current='4'>2</vcpu>{OS}")),
            (67, 20, "unsupported configuration: maximum vCPU count must not be less than current vCPU count"),
        ),
        (
            format!("<domain type='test'><name>a/b</name><memory>1</memory>{OS}</domain>"),
            (27, 20, "XML error: name a/b cannot contain '/'"),
        ),
        (
            format!("<domain type='test'><name>a\nb</name><memory>1</memory>{OS}</domain>"),
            (35, 5, "invalid char in name: \n"),
        ),
        (
            domain(&format!("<memory>1</memory>{OS}<on_poweroff>foo</on_poweroff>")),
            (67, 20, "unsupported configuration: unknown on_poweroff action: foo"),
        ),
        (
            domain(&format!(
                "<memory>1</memory>{OS}<devices><disk><source file='/a'/><target dev='xyz'/></disk></devices>"
            )),
            (27, 20, "XML error: Unknown disk name 'xyz' and no address specified"),
        ),
    ];
    for (xml, (code, domain, message)) in cases {
        assert_eq!(refusal(&xml), (code, domain, message.to_string()), "{xml}");
    }
}

#[test]
fn accepts_other_hypervisor_types_and_os_kinds() {
    for virt in ["kvm", "qemu", "none", "hvf", "vz", "bhyve"] {
        let xml = format!("<domain type='{virt}'><name>x</name><memory>1</memory>{OS}</domain>");
        let def = parse(&xml).expect("accepted");
        assert_eq!(def.virt_type, virt);
    }
    let def = parse(&domain("<memory>1</memory><os><type>linux</type></os>")).expect("linux");
    assert!(
        def.os.boot_devs.is_empty(),
        "no default boot device off hvm"
    );
}

#[test]
fn memory_defaults_and_clamping() {
    let def = parse(&domain(&format!(
        "<memory unit='MiB'>64</memory><currentMemory unit='b'>1048577</currentMemory>{OS}"
    )))
    .expect("valid");
    assert_eq!((def.max_memory_kib, def.current_memory_kib), (65536, 1025));
    let def = parse(&domain(&format!(
        "<memory>65536</memory><currentMemory>99999</currentMemory>{OS}"
    )))
    .expect("valid");
    assert_eq!(def.current_memory_kib, 65536, "clamped to <memory>");
}

#[test]
fn generated_uuid_is_random_v4() {
    let a = parse(&domain(&format!("<memory>1</memory>{OS}"))).expect("valid");
    let b = parse(&domain(&format!("<memory>1</memory>{OS}"))).expect("valid");
    assert_ne!(a.uuid, b.uuid);
    assert_eq!(a.uuid[6] >> 4, 4, "version 4");
}

#[test]
fn auto_placement_adds_numatune() {
    let def = parse(&domain(&format!(
        "<memory>1</memory><vcpu placement='auto' current='1'>4</vcpu>{OS}"
    )))
    .expect("valid");
    let xml = def.to_xml(FormatOptions::default());
    assert!(
        xml.contains("  <vcpu placement='auto' current='1'>4</vcpu>\n  <numatune>\n    <memory mode='strict' placement='auto'/>\n  </numatune>\n"),
        "{xml}"
    );
}

#[test]
fn graphics_password_only_in_secure_view() {
    let def = parse(&domain(&format!(
        "<memory>1</memory>{OS}<devices><graphics type='vnc' passwd='s3cret'/></devices>"
    )))
    .expect("valid");
    assert!(!def.to_xml(FormatOptions::default()).contains("s3cret"));
    let secure = def.to_xml(FormatOptions {
        id: None,
        secure: true,
    });
    assert!(secure.contains("passwd='s3cret'"), "{secure}");
}

fn deep_metadata(levels: usize) -> String {
    domain(&format!(
        "<memory>1</memory>{OS}<metadata>{}{}</metadata>",
        "<d:a xmlns:d='http://e/'>".to_string() + &"<d:a>".repeat(levels.saturating_sub(1)),
        "</d:a>".repeat(levels)
    ))
}

#[test]
fn deep_documents_are_refused_before_parsing() {
    let (code, domain, message) = refusal(&deep_metadata(200_000));
    assert_eq!((code, domain), (35, 20), "{message}");
    assert!(
        message.starts_with("(domain_definition):1: Excessive depth in document: 256\n"),
        "{message}"
    );
}

#[test]
fn too_many_nodes_are_refused() {
    let wide = domain(&format!(
        "<memory>1</memory>{OS}<metadata><d:m xmlns:d='http://e/'>{}</d:m></metadata>",
        "<d:x/>".repeat(super::MAX_NODES as usize)
    ));
    let (code, _, message) = refusal(&wide);
    assert_eq!(code, 35, "{message}");
}

/// Parsing, formatting, cloning and dropping the deepest accepted document stays well
/// inside a quarter of a default worker stack: the recursion is bounded by the depth limit.
#[test]
fn deepest_accepted_document_fits_a_small_stack() {
    let xml = deep_metadata(super::MAX_DEPTH - 3);
    let worker = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || {
            let def = parse(&xml).expect("accepted");
            let copy = def.clone();
            let out = copy.to_xml(FormatOptions::default());
            assert!(out.contains("<d:a>"));
            drop(copy);
            drop(def);
        })
        .expect("spawn");
    worker.join().expect("no stack overflow");
}

#[test]
fn nic_model_injection_is_refused_as_libvirt_does() {
    let xml = domain(&format!(
        "<memory>1</memory>{OS}<devices><interface type='user'>\
         <model type='e1000,romfile=/etc/shadow'/></interface></devices>"
    ));
    assert_eq!(
        refusal(&xml),
        (
            8,
            20,
            "invalid argument: Model name contains invalid characters".to_string()
        )
    );
}
