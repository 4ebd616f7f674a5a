//! Storage pool XML: parsing a definition and formatting it back the way libvirt does.

use super::errors;
use crate::api::{format_uuid, parse_uuid, DriverResult, Uuid};

/// Pool types this driver knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    Dir,
    Fs,
    Netfs,
    Logical,
    Disk,
}

impl PoolKind {
    pub fn parse(text: &str) -> Option<PoolKind> {
        Some(match text {
            "dir" => PoolKind::Dir,
            "fs" => PoolKind::Fs,
            "netfs" => PoolKind::Netfs,
            "logical" => PoolKind::Logical,
            "disk" => PoolKind::Disk,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PoolKind::Dir => "dir",
            PoolKind::Fs => "fs",
            PoolKind::Netfs => "netfs",
            PoolKind::Logical => "logical",
            PoolKind::Disk => "disk",
        }
    }

    /// Whether volumes are files in the target directory.
    pub fn holds_files(self) -> bool {
        matches!(self, PoolKind::Dir | PoolKind::Fs | PoolKind::Netfs)
    }

    /// `VIR_CONNECT_LIST_STORAGE_POOLS_<TYPE>` bit.
    pub fn list_flag(self) -> u32 {
        match self {
            PoolKind::Dir => 1 << 6,
            PoolKind::Fs => 1 << 7,
            PoolKind::Netfs => 1 << 8,
            PoolKind::Logical => 1 << 9,
            PoolKind::Disk => 1 << 10,
        }
    }
}

/// Owner, group and mode of a pool's target or a volume.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Permissions {
    pub mode: Option<u32>,
    pub owner: Option<u32>,
    pub group: Option<u32>,
}

impl Permissions {
    pub fn parse(node: Option<roxmltree::Node>) -> DriverResult<Permissions> {
        let Some(node) = node else {
            return Ok(Permissions::default());
        };
        let text = |name: &str| {
            node.children()
                .find(|c| c.has_tag_name(name))
                .and_then(|c| c.text())
                .map(str::trim)
                .map(str::to_string)
        };
        let mode = match text("mode") {
            Some(m) => Some(
                u32::from_str_radix(&m, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| errors::xml("malformed octal mode"))?,
            ),
            None => None,
        };
        let id = |name: &str| -> DriverResult<Option<u32>> {
            match text(name) {
                Some(v) if v == "-1" => Ok(None),
                Some(v) => v
                    .parse::<u32>()
                    .map(Some)
                    .map_err(|_| errors::xml(&format!("malformed {name} element"))),
                None => Ok(None),
            }
        };
        Ok(Permissions {
            mode,
            owner: id("owner")?,
            group: id("group")?,
        })
    }

    pub fn format(
        &self,
        out: &mut String,
        indent: &str,
        default_mode: u32,
        actual: Option<(u32, u32, u32)>,
    ) {
        let (mode, owner, group) = match actual {
            Some((m, o, g)) => (m, o, g),
            None => (
                self.mode.unwrap_or(default_mode),
                self.owner.unwrap_or(0),
                self.group.unwrap_or(0),
            ),
        };
        out.push_str(&format!(
            "{indent}<permissions>\n{indent}  <mode>{mode:04o}</mode>\n{indent}  <owner>{owner}</owner>\n{indent}  <group>{group}</group>\n{indent}</permissions>\n"
        ));
    }
}

/// A pool definition as the client gave it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolDef {
    pub kind: PoolKind,
    pub name: String,
    pub uuid: Uuid,
    pub source_devices: Vec<String>,
    pub source_dir: Option<String>,
    pub source_hosts: Vec<String>,
    pub source_name: Option<String>,
    pub source_format: Option<String>,
    pub target_path: String,
    pub perms: Permissions,
}

/// Longest pool or volume name accepted.
pub const NAME_MAX: usize = 255;

/// Checks a pool or volume name that becomes a file name.
pub fn check_name(what: &str, name: &str) -> DriverResult<()> {
    if name.is_empty() {
        return Err(errors::xml(&format!("missing {what} name element")));
    }
    if name.contains('/') {
        return Err(errors::operation_invalid(&format!(
            "{what} name '{name}' cannot contain '/'"
        )));
    }
    if name.starts_with('.') || name.len() > NAME_MAX || name.chars().any(|c| c.is_control()) {
        return Err(errors::operation_invalid(&format!(
            "{what} name '{}' is not allowed",
            name.escape_debug()
        )));
    }
    Ok(())
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn child_text(node: roxmltree::Node, name: &str) -> Option<String> {
    child(node, name)
        .and_then(|c| c.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
}

/// Longest XML document accepted.
const XML_MAX: usize = 1024 * 1024;

impl PoolDef {
    pub fn parse(xml: &str) -> DriverResult<PoolDef> {
        if xml.len() > XML_MAX {
            return Err(errors::xml("pool definition is too large"));
        }
        let doc = roxmltree::Document::parse(xml).map_err(|e| {
            crate::api::DriverError::new(
                crate::api::codes::XML_DETAIL,
                errors::FROM_STORAGE,
                format!("(storage_pool_definition):1: {e}"),
            )
        })?;
        let root = doc.root_element();
        if !root.has_tag_name("pool") {
            return Err(errors::xml(&format!(
                "unexpected root element <{}>, expecting <pool>",
                root.tag_name().name()
            )));
        }
        let kind_text = root
            .attribute("type")
            .ok_or_else(|| errors::xml("storage pool missing type attribute"))?;
        let kind = PoolKind::parse(kind_text)
            .ok_or_else(|| errors::xml(&format!("unknown storage pool type {kind_text}")))?;
        let name = child_text(root, "name")
            .ok_or_else(|| errors::xml("missing pool source name element"))?;
        check_name("pool", &name)?;
        let uuid = match child_text(root, "uuid") {
            Some(text) => parse_uuid(&text).ok_or_else(|| errors::xml("malformed uuid element"))?,
            None => *uuid::Uuid::new_v4().as_bytes(),
        };
        let source = child(root, "source");
        let mut def = PoolDef {
            kind,
            name,
            uuid,
            source_devices: Vec::new(),
            source_dir: None,
            source_hosts: Vec::new(),
            source_name: None,
            source_format: None,
            target_path: String::new(),
            perms: Permissions::default(),
        };
        if let Some(source) = source {
            for c in source.children().filter(|c| c.is_element()) {
                match c.tag_name().name() {
                    "device" => {
                        if let Some(p) = c.attribute("path") {
                            def.source_devices.push(p.to_string());
                        }
                    }
                    "dir" => def.source_dir = c.attribute("path").map(str::to_string),
                    "host" => {
                        if let Some(h) = c.attribute("name") {
                            def.source_hosts.push(h.to_string());
                        }
                    }
                    "name" => def.source_name = c.text().map(|t| t.trim().to_string()),
                    "format" => def.source_format = c.attribute("type").map(str::to_string),
                    _ => {}
                }
            }
        }
        let target = child(root, "target");
        let path = target.and_then(|t| child_text(t, "path"));
        def.target_path = match (path, kind) {
            (Some(p), _) => p,
            (None, PoolKind::Logical) => {
                format!(
                    "/dev/{}",
                    def.source_name.clone().unwrap_or_else(|| def.name.clone())
                )
            }
            (None, PoolKind::Disk) => "/dev".to_string(),
            (None, _) => return Err(errors::xml("missing storage pool target path")),
        };
        if !def.target_path.starts_with('/') || def.target_path.chars().any(|c| c.is_control()) {
            return Err(errors::xml(&format!(
                "target path '{}' is not absolute",
                def.target_path.escape_debug()
            )));
        }
        def.perms = Permissions::parse(target.and_then(|t| child(t, "permissions")))?;
        match kind {
            PoolKind::Fs | PoolKind::Disk if def.source_devices.is_empty() => {
                return Err(errors::xml("missing storage pool source device path"));
            }
            PoolKind::Netfs if def.source_hosts.is_empty() => {
                return Err(errors::xml("missing storage pool source host name"));
            }
            PoolKind::Netfs if def.source_dir.is_none() => {
                return Err(errors::xml("missing storage pool source path"));
            }
            _ => {}
        }
        // These reach mount, parted and the lvm2 tools as arguments.
        for p in def.source_devices.iter().chain(def.source_dir.iter()) {
            if p.chars().any(|c| c.is_control()) || !p.starts_with('/') {
                return Err(errors::xml(&format!(
                    "source path '{}' is not absolute",
                    p.escape_debug()
                )));
            }
        }
        for h in &def.source_hosts {
            if h.is_empty()
                || h.starts_with('-')
                || !h
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
            {
                return Err(errors::xml(&format!(
                    "invalid host name '{}'",
                    h.escape_debug()
                )));
            }
        }
        if let Some(n) = &def.source_name {
            if n.is_empty()
                || n.starts_with('-')
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c))
            {
                return Err(errors::xml(&format!(
                    "invalid source name '{}'",
                    n.escape_debug()
                )));
            }
        }
        if let Some(f) = &def.source_format {
            if !f.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(errors::xml(&format!(
                    "invalid source format '{}'",
                    f.escape_debug()
                )));
            }
        }
        if def.source_format.is_none() {
            def.source_format = match kind {
                PoolKind::Fs | PoolKind::Netfs => Some("auto".to_string()),
                PoolKind::Disk => Some("unknown".to_string()),
                _ => None,
            };
        }
        Ok(def)
    }

    /// The XML libvirt prints; sizes come from the live pool (zero when inactive).
    pub fn format(&self, sizes: (u64, u64, u64), target_perms: Option<(u32, u32, u32)>) -> String {
        let esc = super::xml_escape;
        let mut out = format!("<pool type='{}'>\n", self.kind.as_str());
        out.push_str(&format!("  <name>{}</name>\n", esc(&self.name)));
        out.push_str(&format!("  <uuid>{}</uuid>\n", format_uuid(&self.uuid)));
        let (cap, alloc, avail) = sizes;
        out.push_str(&format!("  <capacity unit='bytes'>{cap}</capacity>\n"));
        out.push_str(&format!(
            "  <allocation unit='bytes'>{alloc}</allocation>\n"
        ));
        out.push_str(&format!("  <available unit='bytes'>{avail}</available>\n"));
        out.push_str("  <source>\n");
        for h in &self.source_hosts {
            out.push_str(&format!("    <host name='{}'/>\n", esc(h)));
        }
        for d in &self.source_devices {
            out.push_str(&format!("    <device path='{}'/>\n", esc(d)));
        }
        if let Some(d) = &self.source_dir {
            out.push_str(&format!("    <dir path='{}'/>\n", esc(d)));
        }
        if let Some(n) = &self.source_name {
            out.push_str(&format!("    <name>{}</name>\n", esc(n)));
        }
        if let Some(f) = &self.source_format {
            out.push_str(&format!("    <format type='{}'/>\n", esc(f)));
        }
        out.push_str("  </source>\n");
        out.push_str("  <target>\n");
        out.push_str(&format!("    <path>{}</path>\n", esc(&self.target_path)));
        if self.kind != PoolKind::Disk {
            self.perms.format(&mut out, "    ", 0o711, target_perms);
        }
        out.push_str("  </target>\n</pool>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_pool_round_trips() {
        let def = PoolDef::parse(
            "<pool type='dir'><name>p</name><target><path>/srv/p</path></target></pool>",
        )
        .expect("parses");
        assert_eq!(def.kind, PoolKind::Dir);
        let text = def.format((0, 0, 0), None);
        let again = PoolDef::parse(&text).expect("re-parses");
        assert_eq!(again.format((0, 0, 0), None), text);
        assert_eq!(
            (again.name, again.uuid, again.target_path),
            (def.name, def.uuid, def.target_path)
        );
    }

    #[test]
    fn names_with_a_slash_are_refused() {
        let err = PoolDef::parse(
            "<pool type='dir'><name>a/b</name><target><path>/x</path></target></pool>",
        )
        .unwrap_err();
        assert!(
            err.message.contains("cannot contain '/'"),
            "{}",
            err.message
        );
    }

    #[test]
    fn arguments_for_host_tools_are_checked() {
        for xml in [
            "<pool type='fs'><name>f</name><source><device path='-o'/></source><target><path>/x</path></target></pool>",
            "<pool type='netfs'><name>n</name><source><host name='-oexec'/><dir path='/e'/></source><target><path>/x</path></target></pool>",
            "<pool type='logical'><name>l</name><source><name>--all</name></source></pool>",
            "<pool type='fs'><name>f</name><source><device path='/dev/x'/><format type='ext4,exec'/></source><target><path>/x</path></target></pool>",
        ] {
            assert!(PoolDef::parse(xml).is_err(), "{xml}");
        }
    }

    #[test]
    fn netfs_and_logical_pools_parse_and_print() {
        let netfs = PoolDef::parse(
            "<pool type='netfs'><name>n</name><source><host name='nfs.example'/><dir path='/export'/></source><target><path>/mnt/n</path></target></pool>",
        )
        .expect("netfs");
        let text = netfs.format((0, 0, 0), None);
        assert!(text.contains("<host name='nfs.example'/>"), "{text}");
        assert!(text.contains("<dir path='/export'/>"), "{text}");
        assert!(text.contains("<format type='auto'/>"), "{text}");
        let lvm = PoolDef::parse(
            "<pool type='logical'><name>vg0</name><source><device path='/dev/sdb'/><name>vg0</name></source></pool>",
        )
        .expect("logical");
        assert_eq!(lvm.target_path, "/dev/vg0");
    }

    #[test]
    fn fs_pool_needs_a_device() {
        assert!(PoolDef::parse(
            "<pool type='fs'><name>f</name><target><path>/x</path></target></pool>"
        )
        .is_err());
    }
}
