//! The parts of an lxc domain definition the container is built from, checked once when
//! the definition is accepted so that start-up cannot fail on the XML later.

use crate::api::{format_uuid, Uuid};
use crate::domain_xml::{parse_domain_xml, DomainDef, Element, ParseOptions};

use super::error::LxcError;
use super::supervisor::capabilities::CapabilityFeatures;
use super::xml_defaults::normalise_lxc_devices;
pub use super::xml_defaults::{console_tty, with_console_tty, EMULATOR};

/// The cgroup partition libvirt uses when `<resource><partition>` is absent.
pub const DEFAULT_PARTITION: &str = "/machine";

/// A filesystem seen inside the container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilesystemSpec {
    /// `<filesystem type='mount'>`: a host directory bound at `target`.
    Bind {
        source: String,
        target: String,
        readonly: bool,
    },
    /// `<filesystem type='ram'>`: a tmpfs of `usage_kib` at `target`.
    Ram { usage_kib: u64, target: String },
}

impl FilesystemSpec {
    pub fn target(&self) -> &str {
        match self {
            FilesystemSpec::Bind { target, .. } | FilesystemSpec::Ram { target, .. } => target,
        }
    }
}

/// A network interface: a veth pair whose host end joins `bridge` (when given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceSpec {
    pub bridge: Option<String>,
    /// Host-side name (`<target dev>`), generated when absent.
    pub host_name: Option<String>,
    pub mac: Option<String>,
}

/// `<idmap>` ranges for a user namespace: (start inside, start outside, count).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdMap {
    pub uid: Vec<(u32, u32, u32)>,
    pub gid: Vec<(u32, u32, u32)>,
}

/// Everything the supervisor needs to build and run one container.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerSpec {
    pub name: String,
    pub uuid: Uuid,
    pub init: String,
    pub init_args: Vec<String>,
    pub init_env: Vec<(String, String)>,
    pub init_dir: Option<String>,
    pub init_user: Option<String>,
    pub init_group: Option<String>,
    pub memory_kib: u64,
    pub vcpus: u32,
    pub filesystems: Vec<FilesystemSpec>,
    pub interfaces: Vec<InterfaceSpec>,
    /// A network namespace is created (interfaces present or `<privnet/>`).
    pub private_net: bool,
    pub idmap: Option<IdMap>,
    /// Cgroup partition, e.g. "/machine".
    pub partition: String,
    pub console: bool,
    /// `<features><capabilities>`: what init keeps.
    pub capabilities: CapabilityFeatures,
}

impl ContainerSpec {
    /// The directory that becomes `/` (the host's `/` when no filesystem targets it).
    pub fn root_source(&self) -> (&str, bool) {
        self.filesystems
            .iter()
            .find_map(|fs| match fs {
                FilesystemSpec::Bind {
                    source,
                    target,
                    readonly,
                } if target == "/" => Some((source.as_str(), *readonly)),
                _ => None,
            })
            .unwrap_or(("/", false))
    }

    /// Environment of init: the variables libvirt sets for containers, then `<initenv>`.
    pub fn environment(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "PATH".to_string(),
                "/bin:/usr/bin:/sbin:/usr/sbin".to_string(),
            ),
            ("container".to_string(), "lxc-libvirt".to_string()),
            ("HOME".to_string(), "/".to_string()),
            ("container_uuid".to_string(), format_uuid(&self.uuid)),
            ("LIBVIRT_LXC_UUID".to_string(), format_uuid(&self.uuid)),
            ("LIBVIRT_LXC_NAME".to_string(), self.name.clone()),
        ];
        if self.console {
            env.push(("TERM".to_string(), "linux".to_string()));
        }
        for (key, value) in &self.init_env {
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.clone()));
        }
        env
    }
}

/// Parses a definition for the lxc driver.
pub fn parse_lxc_xml(xml: &str) -> Result<(DomainDef, ContainerSpec), LxcError> {
    parse_with(xml, false)
}

/// Parses the XML of a running container (its status file), which keeps the bridges
/// its network interfaces were given at start.
pub fn parse_lxc_status_xml(xml: &str) -> Result<(DomainDef, ContainerSpec), LxcError> {
    parse_with(xml, true)
}

fn parse_with(xml: &str, status: bool) -> Result<(DomainDef, ContainerSpec), LxcError> {
    let options = ParseOptions {
        default_arch: std::env::consts::ARCH.to_string(),
        ifname_prefix: Some("vnet".to_string()),
        status,
        ..ParseOptions::default()
    };
    let mut def = parse_domain_xml(xml, &options)?;
    let spec = container_spec(&def)?;
    normalise_lxc_devices(&mut def, &spec);
    Ok((def, spec))
}

/// Extracts and checks the container description of an already parsed definition.
pub fn container_spec(def: &DomainDef) -> Result<ContainerSpec, LxcError> {
    if def.virt_type != "lxc" {
        return Err(LxcError::Unsupported(format!(
            "domain type '{}' is not supported by the LXC driver, use type='lxc'",
            def.virt_type
        )));
    }
    if def.os.os_type != "exe" {
        return Err(LxcError::Unsupported(format!(
            "OS type '{}' is not supported for containers, use <type>exe</type>",
            def.os.os_type
        )));
    }
    let os = &def.os.extra;
    let text_of = |name: &str| {
        os.iter()
            .find(|e| e.name == name)
            .and_then(|e| e.text.clone())
    };
    let init = text_of("init").unwrap_or_else(|| "/sbin/init".to_string());
    let init_args = os
        .iter()
        .filter(|e| e.name == "initarg")
        .map(|e| e.text.clone().unwrap_or_default())
        .collect();
    let mut init_env = Vec::new();
    for env in os.iter().filter(|e| e.name == "initenv") {
        let name = env
            .attr("name")
            .filter(|n| valid_env_name(n))
            .ok_or_else(|| LxcError::Unsupported("invalid or missing initenv name".into()))?;
        init_env.push((name.to_string(), env.text.clone().unwrap_or_default()));
    }
    let mut filesystems = Vec::new();
    let mut interfaces = Vec::new();
    let mut console = false;
    for device in &def.devices {
        match device.name.as_str() {
            "filesystem" => filesystems.push(filesystem(device)?),
            "interface" => interfaces.push(interface(device)?),
            "console" => console = true,
            _ => {}
        }
    }
    let mut targets: Vec<&str> = filesystems.iter().map(FilesystemSpec::target).collect();
    targets.sort_unstable();
    if let Some(pair) = targets.windows(2).find(|w| w[0] == w[1]) {
        return Err(LxcError::Unsupported(format!(
            "filesystem target '{}' is used twice",
            pair[0]
        )));
    }
    let feature = |name: &str| {
        def.extra
            .iter()
            .find(|e| e.name == "features")
            .is_some_and(|f| f.child(name).is_some())
    };
    let partition = def
        .extra
        .iter()
        .find(|e| e.name == "resource")
        .and_then(|r| r.child("partition"))
        .and_then(|p| p.text.clone())
        .unwrap_or_else(|| DEFAULT_PARTITION.to_string());
    if !partition.starts_with('/') || partition.split('/').any(|c| c == "..") {
        return Err(LxcError::Unsupported(format!(
            "resource partition '{partition}' must start with '/' and not contain '..'"
        )));
    }
    let idmap = def
        .extra
        .iter()
        .find(|e| e.name == "idmap")
        .map(id_map)
        .transpose()?;
    Ok(ContainerSpec {
        name: def.name.clone(),
        uuid: def.uuid,
        init,
        init_args,
        init_env,
        init_dir: text_of("initdir"),
        init_user: text_of("inituser"),
        init_group: text_of("initgroup"),
        memory_kib: def.max_memory_kib,
        vcpus: def.vcpus(),
        private_net: !interfaces.is_empty() || feature("privnet"),
        filesystems,
        interfaces,
        idmap,
        partition,
        console,
        capabilities: CapabilityFeatures::parse(def.extra.iter().find(|e| e.name == "features"))?,
    })
}

fn valid_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn filesystem(device: &Element) -> Result<FilesystemSpec, LxcError> {
    let kind = device.attr("type").unwrap_or("mount");
    let target = device
        .child("target")
        .and_then(|t| t.attr("dir"))
        .filter(|d| d.starts_with('/'))
        .ok_or_else(|| {
            LxcError::Unsupported("filesystem needs an absolute <target dir='...'/>".into())
        })?
        .to_string();
    match kind {
        "mount" => {
            let source = device
                .child("source")
                .and_then(|s| s.attr("dir"))
                .filter(|d| d.starts_with('/'))
                .ok_or_else(|| {
                    LxcError::Unsupported(format!(
                        "filesystem for '{target}' needs an absolute <source dir='...'/>"
                    ))
                })?
                .to_string();
            Ok(FilesystemSpec::Bind {
                source,
                target,
                readonly: device.child("readonly").is_some(),
            })
        }
        "volume" => {
            // Bound from the volume's directory, which the storage driver
            // names when the container starts (see `super::volumes`).
            let source = device.child("source");
            if source.and_then(|s| s.attr("pool")).is_none()
                || source.and_then(|s| s.attr("volume")).is_none()
            {
                return Err(LxcError::Unsupported(format!(
                    "volume filesystem for '{target}' needs <source pool='...' volume='...'/>"
                )));
            }
            Ok(FilesystemSpec::Bind {
                source: String::new(),
                target,
                readonly: device.child("readonly").is_some(),
            })
        }
        "ram" => {
            let usage = device
                .child("source")
                .and_then(|s| s.attr("usage"))
                .ok_or_else(|| {
                    LxcError::Unsupported(format!(
                        "ram filesystem for '{target}' needs <source usage='...'/>"
                    ))
                })?;
            let unit = device
                .child("source")
                .and_then(|s| s.attr("units"))
                .unwrap_or("KiB");
            Ok(FilesystemSpec::Ram {
                usage_kib: to_kib(usage, unit)?,
                target,
            })
        }
        other => Err(LxcError::Unsupported(format!(
            "filesystem type '{other}' is not supported by the LXC driver"
        ))),
    }
}

fn to_kib(value: &str, unit: &str) -> Result<u64, LxcError> {
    let number: u64 = value
        .trim()
        .parse()
        .map_err(|_| LxcError::Unsupported(format!("invalid ram filesystem size '{value}'")))?;
    let factor: u64 = match unit {
        "b" | "bytes" => return Ok(number / 1024),
        "k" | "KiB" => 1,
        "KB" => return Ok(number * 1000 / 1024),
        "M" | "MiB" => 1024,
        "G" | "GiB" => 1024 * 1024,
        _ => return Err(LxcError::Unsupported(format!("unknown size unit '{unit}'"))),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| LxcError::Unsupported(format!("ram filesystem size '{value}' too big")))
}

fn interface(device: &Element) -> Result<InterfaceSpec, LxcError> {
    let kind = device.attr("type").unwrap_or("");
    let bridge = match kind {
        "bridge" => Some(
            device
                .child("source")
                .and_then(|s| s.attr("bridge"))
                .ok_or_else(|| {
                    LxcError::Unsupported("bridge interface needs <source bridge='...'/>".into())
                })?
                .to_string(),
        ),
        "ethernet" => None,
        // The bridge comes from the interface's port, created at start.
        "network" => device
            .child("source")
            .and_then(|s| s.attr("bridge"))
            .map(str::to_string),
        other => {
            return Err(LxcError::Unsupported(format!(
                "interface type '{other}' is not supported by the LXC driver"
            )))
        }
    };
    Ok(InterfaceSpec {
        bridge,
        host_name: device
            .child("target")
            .and_then(|t| t.attr("dev"))
            .map(str::to_string),
        mac: device
            .child("mac")
            .and_then(|m| m.attr("address"))
            .map(str::to_string),
    })
}

fn id_map(element: &Element) -> Result<IdMap, LxcError> {
    let mut map = IdMap::default();
    for child in &element.children {
        let number = |name: &str| {
            child
                .attr(name)
                .and_then(|v| v.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    LxcError::Unsupported(format!(
                        "idmap <{}> needs a numeric '{name}'",
                        child.name
                    ))
                })
        };
        let range = (number("start")?, number("target")?, number("count")?);
        match child.name.as_str() {
            "uid" => map.uid.push(range),
            "gid" => map.gid.push(range),
            other => {
                return Err(LxcError::Unsupported(format!(
                    "unknown idmap element <{other}>"
                )))
            }
        }
    }
    if map.uid.is_empty() || map.gid.is_empty() {
        return Err(LxcError::Unsupported(
            "idmap needs both <uid> and <gid> ranges".into(),
        ));
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = "<domain type='lxc'><name>c1</name>\
        <uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><memory>65536</memory>\
        <os><type>exe</type><init>/bin/sh</init><initarg>-c</initarg><initarg>sleep 9</initarg>\
        <initenv name='FOO'>bar</initenv><initdir>/tmp</initdir></os>\
        <resource><partition>/machine/test</partition></resource>\
        <features><privnet/></features>\
        <devices><filesystem type='mount'><source dir='/srv/c1'/><target dir='/'/></filesystem>\
        <filesystem type='mount'><source dir='/data'/><target dir='/data'/><readonly/></filesystem>\
        <filesystem type='ram'><source usage='2' units='MiB'/><target dir='/scratch'/></filesystem>\
        <console type='pty'/></devices></domain>";

    #[test]
    fn deep_documents_are_refused_before_parsing() {
        let deep = FULL.replace(
            "<features>",
            &format!(
                "{}{}<features>",
                "<a>".repeat(100_000),
                "</a>".repeat(100_000)
            ),
        );
        let err = crate::api::DriverError::from(parse_lxc_xml(&deep).expect_err("too deep"));
        assert_eq!(err.code, crate::api::codes::XML_DETAIL, "{}", err.message);
        assert!(
            err.message.contains("Excessive depth in document"),
            "{}",
            err.message
        );
    }

    #[test]
    fn extracts_the_container_description() {
        let (def, spec) = parse_lxc_xml(FULL).expect("valid lxc definition");
        assert_eq!(def.name, "c1");
        assert_eq!(spec.init, "/bin/sh");
        assert_eq!(
            spec.init_args,
            vec!["-c".to_string(), "sleep 9".to_string()]
        );
        assert_eq!(spec.init_env, vec![("FOO".to_string(), "bar".to_string())]);
        assert_eq!(spec.init_dir.as_deref(), Some("/tmp"));
        assert_eq!(spec.memory_kib, 65536);
        assert_eq!(spec.partition, "/machine/test");
        assert!(spec.private_net);
        assert!(spec.console);
        assert_eq!(spec.root_source(), ("/srv/c1", false));
        assert_eq!(
            spec.filesystems[1],
            FilesystemSpec::Bind {
                source: "/data".into(),
                target: "/data".into(),
                readonly: true
            }
        );
        assert_eq!(
            spec.filesystems[2],
            FilesystemSpec::Ram {
                usage_kib: 2048,
                target: "/scratch".into()
            }
        );
        let env = spec.environment();
        assert!(env.contains(&("container".to_string(), "lxc-libvirt".to_string())));
        assert!(env.contains(&("FOO".to_string(), "bar".to_string())));
    }

    #[test]
    fn fills_in_libvirts_lxc_defaults() {
        let (def, _) = parse_lxc_xml(FULL).expect("valid");
        let xml = def.to_xml(Default::default());
        assert!(
            xml.contains("<emulator>/usr/lib/libvirt/libvirt_lxc</emulator>"),
            "{xml}"
        );
        assert!(
            xml.contains("<filesystem type='mount' accessmode='passthrough'>"),
            "{xml}"
        );
        assert!(xml.contains("<source usage='2048' units='KiB'/>"), "{xml}");
        assert!(xml.contains("<target type='lxc' port='0'/>"), "{xml}");
        assert!(!xml.contains("<serial"), "{xml}");
        let (again, _) = parse_lxc_xml(&xml).expect("output parses again");
        assert_eq!(again, def, "normalisation is stable");
    }

    #[test]
    fn live_console_shows_its_pty_once() {
        let (def, _) = parse_lxc_xml(FULL).expect("valid");
        let live = with_console_tty(&def, Some("/dev/pts/7"));
        let twice = with_console_tty(&live, Some("/dev/pts/7"));
        assert_eq!(live, twice);
        let xml = live.to_xml(Default::default());
        assert!(
            xml.contains(
                "<console type='pty' tty='/dev/pts/7'>\n      <source path='/dev/pts/7'/>\n      \
                 <target type='lxc' port='0'/>\n      <alias name='console0'/>"
            ),
            "{xml}"
        );
        assert_eq!(console_tty(&live).as_deref(), Some("/dev/pts/7"));
        assert_eq!(with_console_tty(&live, None), def);
    }

    #[test]
    fn defaults_init_and_partition() {
        let xml = "<domain type='lxc'><name>c</name><memory>1024</memory>\
            <os><type>exe</type><init>/sbin/init</init></os></domain>";
        let (_, spec) = parse_lxc_xml(xml).expect("valid");
        assert_eq!(spec.partition, DEFAULT_PARTITION);
        assert!(!spec.private_net);
        assert_eq!(spec.root_source(), ("/", false));
    }

    #[test]
    fn rejects_what_a_container_cannot_be() {
        let kvm = "<domain type='kvm'><name>c</name><memory>1024</memory>\
            <os><type>hvm</type></os></domain>";
        let err = parse_lxc_xml(kvm).expect_err("kvm is not lxc");
        assert!(err.to_string().contains("domain type 'kvm'"), "{err}");
        let dup = FULL.replace("<target dir='/data'/>", "<target dir='/'/>");
        let err = parse_lxc_xml(&dup).expect_err("duplicate target");
        assert!(err.to_string().contains("used twice"), "{err}");
        let bad_env = FULL.replace("name='FOO'", "name='1X'");
        assert!(parse_lxc_xml(&bad_env).is_err());
        let no_source = FULL.replace("<source dir='/data'/>", "");
        let err = parse_lxc_xml(&no_source).expect_err("no source");
        assert!(err.to_string().contains("'/data'"), "{err}");
    }

    #[test]
    fn reads_idmap_ranges() {
        let xml = FULL.replace(
            "<features>",
            "<idmap><uid start='0' target='100000' count='65536'/>\
             <gid start='0' target='100000' count='65536'/></idmap><features>",
        );
        let (_, spec) = parse_lxc_xml(&xml).expect("valid");
        let map = spec.idmap.expect("idmap parsed");
        assert_eq!(map.uid, vec![(0, 100000, 65536)]);
        assert_eq!(map.gid, vec![(0, 100000, 65536)]);
    }
}
