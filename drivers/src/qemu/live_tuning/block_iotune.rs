//! Per-disk I/O throttling (`virsh blkdeviotune`): QEMU's `block_set_io_throttle`
//! on running guests, `<iotune>` of the disk in the definitions (applied as the
//! `throttling.*` options of the drive at start), and `inject-nmi`.

use serde_json::{json, Map, Value};

use super::{CONFIG, LIVE};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::command::opt_value;
use crate::qemu::hotplug_refusal;
use crate::qemu::lifecycle::check_flags;
use crate::qemu::Inner;

/// `VIR_TYPED_PARAM_STRING_OKAY`, which the remote client adds to getters.
const STRING_OKAY: u32 = 4;
/// libvirt's upper bound of every limit (`QEMU_BLOCK_IOTUNE_MAX`).
const IOTUNE_MAX: u64 = 1_000_000_000_000_000;
const GROUP_NAME: &str = "group_name";

/// libvirt's parameter (and `<iotune>` element) names in libvirt's order, with
/// QEMU's `block_set_io_throttle`/`query-block` name and the `-drive` option.
const FIELDS: [(&str, &str, &str); 20] = [
    ("total_bytes_sec", "bps", "bps-total"),
    ("read_bytes_sec", "bps_rd", "bps-read"),
    ("write_bytes_sec", "bps_wr", "bps-write"),
    ("total_iops_sec", "iops", "iops-total"),
    ("read_iops_sec", "iops_rd", "iops-read"),
    ("write_iops_sec", "iops_wr", "iops-write"),
    ("total_bytes_sec_max", "bps_max", "bps-total-max"),
    ("read_bytes_sec_max", "bps_rd_max", "bps-read-max"),
    ("write_bytes_sec_max", "bps_wr_max", "bps-write-max"),
    ("total_iops_sec_max", "iops_max", "iops-total-max"),
    ("read_iops_sec_max", "iops_rd_max", "iops-read-max"),
    ("write_iops_sec_max", "iops_wr_max", "iops-write-max"),
    ("size_iops_sec", "iops_size", "iops-size"),
    (GROUP_NAME, "group", "group"),
    (
        "total_bytes_sec_max_length",
        "bps_max_length",
        "bps-total-max-length",
    ),
    (
        "read_bytes_sec_max_length",
        "bps_rd_max_length",
        "bps-read-max-length",
    ),
    (
        "write_bytes_sec_max_length",
        "bps_wr_max_length",
        "bps-write-max-length",
    ),
    (
        "total_iops_sec_max_length",
        "iops_max_length",
        "iops-total-max-length",
    ),
    (
        "read_iops_sec_max_length",
        "iops_rd_max_length",
        "iops-read-max-length",
    ),
    (
        "write_iops_sec_max_length",
        "iops_wr_max_length",
        "iops-write-max-length",
    ),
];

/// Fields that libvirt changes together: giving one of a set resets the others.
const SETS: [&[&str]; 8] = [
    &["total_bytes_sec", "read_bytes_sec", "write_bytes_sec"],
    &["total_iops_sec", "read_iops_sec", "write_iops_sec"],
    &[
        "total_bytes_sec_max",
        "read_bytes_sec_max",
        "write_bytes_sec_max",
    ],
    &[
        "total_iops_sec_max",
        "read_iops_sec_max",
        "write_iops_sec_max",
    ],
    &["size_iops_sec"],
    &[GROUP_NAME],
    &[
        "total_bytes_sec_max_length",
        "read_bytes_sec_max_length",
        "write_bytes_sec_max_length",
    ],
    &[
        "total_iops_sec_max_length",
        "read_iops_sec_max_length",
        "write_iops_sec_max_length",
    ],
];

/// One disk's throttling, by libvirt field name (numbers) plus the group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IoTune {
    values: Vec<(&'static str, u64)>,
    group: Option<String>,
}

impl IoTune {
    fn get(&self, field: &str) -> u64 {
        self.values
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(0, |(_, v)| *v)
    }

    fn set(&mut self, field: &'static str, value: u64) {
        self.values.retain(|(f, _)| *f != field);
        if value > 0 {
            self.values.push((field, value));
        }
    }

    fn enabled(&self) -> bool {
        self.values.iter().any(|(_, v)| *v > 0)
    }

    /// The `<iotune>` element of a disk.
    fn of_disk(disk: &Element) -> IoTune {
        let mut tune = IoTune::default();
        let Some(el) = disk.child("iotune") else {
            return tune;
        };
        for (field, _, _) in FIELDS {
            let text = el.child(field).and_then(|c| c.text.as_deref());
            if field == GROUP_NAME {
                tune.group = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
            } else if let Some(v) = text.and_then(|t| t.trim().parse().ok()) {
                tune.set(field, v);
            }
        }
        tune
    }

    /// Stores the values as the disk's `<iotune>` (removed when nothing is limited).
    fn write_to(&self, disk: &mut Element) {
        disk.children.retain(|c| c.name != "iotune");
        let mut el = Element::new("iotune");
        for (field, _, _) in FIELDS {
            if field == GROUP_NAME {
                if let Some(group) = self.group.as_deref().filter(|_| self.enabled()) {
                    el.children.push(Element::new(field).with_text(group));
                }
            } else if self.get(field) > 0 {
                el.children
                    .push(Element::new(field).with_text(&self.get(field).to_string()));
            }
        }
        if !el.children.is_empty() {
            // libvirt's place for it: right after `<target>`.
            let at = disk
                .children
                .iter()
                .position(|c| c.name == "target")
                .map_or(disk.children.len(), |i| i + 1);
            disk.children.insert(at, el);
        }
    }

    /// The values as `query-block` reports them for a device.
    fn of_query_block(inserted: &Value) -> IoTune {
        let mut tune = IoTune::default();
        for (field, qmp, _) in FIELDS {
            if field == GROUP_NAME {
                tune.group = inserted
                    .get(qmp)
                    .and_then(Value::as_str)
                    .map(str::to_string);
            } else {
                tune.set(
                    field,
                    inserted.get(qmp).and_then(Value::as_u64).unwrap_or(0),
                );
            }
        }
        tune
    }

    fn params(&self) -> Vec<NamedParam> {
        FIELDS
            .iter()
            .map(|(field, _, _)| {
                let value = if *field == GROUP_NAME {
                    ParamValue::String(self.group.clone().unwrap_or_default())
                } else {
                    ParamValue::ULLong(self.get(field))
                };
                NamedParam::new(field, value)
            })
            .collect()
    }

    /// Arguments of `block_set_io_throttle` for the disk whose alias is `id`
    /// (its drive is `drive-<alias>`, which every bus's frontend uses).
    fn qmp_args(&self, id: &str) -> Value {
        let mut args = Map::new();
        args.insert("device".into(), json!(format!("drive-{id}")));
        for (field, qmp, _) in FIELDS {
            if field == GROUP_NAME {
                if let Some(group) = &self.group {
                    args.insert(qmp.into(), json!(group));
                }
            } else if !qmp.ends_with("_length") || self.get(field) > 0 {
                // QEMU refuses a burst length of 0: left out, it keeps its default.
                args.insert(qmp.into(), json!(self.get(field)));
            }
        }
        Value::Object(args)
    }
}

/// The `throttling.*` options of a disk's `-drive` (empty without `<iotune>`).
pub fn drive_throttling(disk: &Element) -> String {
    let tune = IoTune::of_disk(disk);
    if !tune.enabled() {
        return String::new();
    }
    let mut out = String::new();
    for (field, _, option) in FIELDS {
        if field == GROUP_NAME {
            if let Some(group) = &tune.group {
                out.push_str(&format!(",throttling.group={}", opt_value(group)));
            }
        } else if tune.get(field) > 0 {
            out.push_str(&format!(",throttling.{option}={}", tune.get(field)));
        }
    }
    out
}

fn invalid_arg(message: String) -> DriverError {
    DriverError::new(codes::INVALID_ARG, domains::QEMU, message)
}

fn config_unsupported(message: String) -> DriverError {
    DriverError::new(codes::CONFIG_UNSUPPORTED, domains::QEMU, message)
}

/// The disk a name (target) or source path names.
fn disk_index(def: &DomainDef, name: &str) -> Option<usize> {
    let disks = || {
        def.devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.name == "disk")
    };
    let target = |d: &Element| d.child("target").and_then(|t| t.attr("dev")) == Some(name);
    let source = |d: &Element| {
        d.child("source")
            .and_then(|s| s.attr("file").or_else(|| s.attr("dev")))
            == Some(name)
    };
    disks()
        .find(|(_, d)| target(d))
        .or_else(|| disks().find(|(_, d)| source(d)))
        .map(|(i, _)| i)
}

/// The given parameters, checked as libvirt checks them.
fn parse_params(params: &[NamedParam]) -> DriverResult<(IoTune, Vec<&'static str>)> {
    let mut given = IoTune::default();
    let mut names = Vec::new();
    for p in params {
        let Some((field, _, _)) = FIELDS.iter().find(|(f, _, _)| *f == p.field) else {
            return Err(DriverError::new(
                codes::ARGUMENT_UNSUPPORTED,
                domains::QEMU,
                format!("parameter '{}' not supported", p.field),
            ));
        };
        match (&p.value, *field == GROUP_NAME) {
            (ParamValue::String(group), true) => {
                if group.chars().any(|c| c.is_control()) {
                    return Err(invalid_arg(format!("invalid group name '{group}'")));
                }
                given.group = Some(group.clone()).filter(|g| !g.is_empty());
            }
            (ParamValue::ULLong(v), false) => {
                if *v > IOTUNE_MAX {
                    return Err(invalid_arg(format!(
                        "block I/O throttle limit value must be no more than {IOTUNE_MAX}"
                    )));
                }
                given.set(field, *v);
            }
            (_, group) => {
                return Err(invalid_arg(format!(
                    "invalid type for parameter '{}', expected '{}'",
                    p.field,
                    if group { "string" } else { "ullong" }
                )))
            }
        }
        names.push(*field);
    }
    for kind in ["bytes_sec", "iops_sec", "bytes_sec_max", "iops_sec_max"] {
        let total = given.get(&format!("total_{kind}"));
        if total > 0
            && (given.get(&format!("read_{kind}")) > 0 || given.get(&format!("write_{kind}")) > 0)
        {
            return Err(invalid_arg(format!(
                "total and read/write of {kind} cannot be set at the same time"
            )));
        }
    }
    Ok((given, names))
}

/// The new values: sets of fields not given keep their old values.
fn merge(old: &IoTune, given: &IoTune, names: &[&str]) -> DriverResult<IoTune> {
    let mut new = IoTune::default();
    for set in SETS {
        let from = if set.iter().any(|f| names.contains(f)) {
            given
        } else {
            old
        };
        for field in set.iter() {
            let field = FIELDS
                .iter()
                .find(|(f, _, _)| f == field)
                .map(|(f, _, _)| *f);
            match field {
                Some(GROUP_NAME) => new.group = from.group.clone(),
                Some(field) => new.set(field, from.get(field)),
                None => {}
            }
        }
    }
    for kind in ["bytes_sec", "iops_sec"] {
        for dir in ["total", "read", "write"] {
            let base = format!("{dir}_{kind}");
            let max = format!("{base}_max");
            if new.get(&max) > 0 && new.get(&base) == 0 {
                return Err(config_unsupported(if names.iter().any(|n| *n == base) {
                    format!("cannot reset '{base}' when '{max}' is set")
                } else {
                    format!("value '{max}' cannot be set if '{base}' is not set")
                }));
            }
            let length = format!("{max}_length");
            if new.get(&length) > 0 && new.get(&max) == 0 {
                return Err(config_unsupported(if names.iter().any(|n| *n == max) {
                    format!("cannot reset '{max}' when '{length}' is set")
                } else {
                    format!("value '{length}' cannot be set if '{max}' is not set")
                }));
            }
        }
    }
    Ok(new)
}

/// QEMU's id of a disk of a running guest (its alias).
fn device_id(disk: &Element) -> DriverResult<String> {
    disk.child("alias")
        .and_then(|a| a.attr("name"))
        .map(str::to_string)
        .ok_or_else(|| {
            DriverError::new(
                codes::OPERATION_INVALID,
                domains::QEMU,
                "block I/O throttling is not supported for this disk",
            )
        })
}

impl crate::api::DomainExtraCalls for crate::qemu::connection::QemuConnection {
    fn block_iotune(
        &self,
        dom: &DomainRef,
        disk: Option<&str>,
        flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        self.inner.block_iotune(dom, disk, flags)
    }

    fn set_block_iotune(
        &self,
        dom: &DomainRef,
        disk: &str,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_block_iotune(dom, disk, params, flags)
    }

    fn inject_nmi(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        self.inner.inject_nmi(dom, flags)
    }

    fn interface_params(
        &self,
        dom: &DomainRef,
        device: &str,
        flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        self.inner.interface_params(dom, device, flags)
    }

    fn set_interface_params(
        &self,
        dom: &DomainRef,
        device: &str,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_interface_params(dom, device, params, flags)
    }

    fn rename(&self, dom: &DomainRef, new_name: &str, flags: u32) -> DriverResult<()> {
        self.inner.rename(dom, new_name, flags)
    }

    fn set_lifecycle_action(
        &self,
        dom: &DomainRef,
        kind: u32,
        action: u32,
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_lifecycle_action(dom, kind, action, flags)
    }

    fn set_iothread_params(
        &self,
        dom: &DomainRef,
        id: u32,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        self.inner.set_iothread_params(dom, id, params, flags)
    }

    fn start_dirty_rate_calc(&self, dom: &DomainRef, seconds: i32, flags: u32) -> DriverResult<()> {
        self.inner.start_dirty_rate_calc(dom, seconds, flags)
    }

    fn core_dump(&self, dom: &DomainRef, to: &str, format: u32, flags: u32) -> DriverResult<()> {
        self.inner.core_dump(dom, to, format, flags)
    }

    fn block_peek(
        &self,
        dom: &DomainRef,
        path: &str,
        offset: u64,
        size: u32,
        flags: u32,
    ) -> DriverResult<Vec<u8>> {
        self.inner.block_peek(dom, path, offset, size, flags)
    }

    fn memory_peek(
        &self,
        dom: &DomainRef,
        offset: u64,
        size: u32,
        flags: u32,
    ) -> DriverResult<Vec<u8>> {
        self.inner.memory_peek(dom, offset, size, flags)
    }

    fn node_memory_params(&self, flags: u32) -> DriverResult<Vec<NamedParam>> {
        crate::qemu::host_memory::ksm_params(flags)
    }

    fn set_node_memory_params(&self, params: &[NamedParam], flags: u32) -> DriverResult<()> {
        crate::qemu::host_memory::set_ksm_params(params, flags)
    }

    fn node_free_pages(
        &self,
        pages: &[u32],
        start_cell: i32,
        cell_count: u32,
        flags: u32,
    ) -> DriverResult<Vec<u64>> {
        crate::qemu::host_memory::free_pages(pages, start_cell, cell_count, flags)
    }

    fn node_alloc_pages(
        &self,
        sizes: &[u32],
        counts: &[u64],
        start_cell: i32,
        cell_count: u32,
        flags: u32,
    ) -> DriverResult<i32> {
        crate::qemu::host_page_pools::alloc_pages(sizes, counts, start_cell, cell_count, flags)
    }

    fn domain_xml_to_native(&self, format: &str, xml: &str, flags: u32) -> DriverResult<String> {
        self.inner.xml_to_native(format, xml, flags)
    }
}

impl Inner {
    fn block_iotune(
        &self,
        dom: &DomainRef,
        disk: Option<&str>,
        flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        check_flags(
            flags,
            LIVE | CONFIG | STRING_OKAY,
            "qemuDomainGetBlockIoTune",
        )?;
        let (live, _) = self.affect(dom, flags & (LIVE | CONFIG))?;
        let Some(name) = disk else {
            return Ok(IoTune::default().params());
        };
        if !live {
            let def = self.lock().get(dom)?.persistent_def().clone();
            let index = disk_index(&def, name)
                .ok_or_else(|| invalid_arg(format!("disk '{name}' not found in domain")))?;
            return Ok(IoTune::of_disk(&def.devices[index]).params());
        }
        let (def, monitor, _) = self.live_parts(dom)?;
        let index = disk_index(&def, name)
            .ok_or_else(|| invalid_arg(format!("disk '{name}' not found in domain")))?;
        let id = device_id(&def.devices[index])?;
        let reply = monitor
            .execute("query-block", None)
            .map_err(|e| hotplug_refusal("query-block", e))?;
        let drive = format!("drive-{id}");
        let inserted = reply
            .as_array()
            .and_then(|list| {
                list.iter().find(|b| {
                    b.get("device").and_then(Value::as_str) == Some(drive.as_str())
                        || b.get("qdev").and_then(Value::as_str) == Some(id.as_str())
                })
            })
            .and_then(|b| b.get("inserted"))
            .cloned()
            .unwrap_or(Value::Null);
        Ok(IoTune::of_query_block(&inserted).params())
    }

    fn set_block_iotune(
        &self,
        dom: &DomainRef,
        name: &str,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetBlockIoTune")?;
        let (given, names) = parse_params(params)?;
        let (live, config) = self.affect(dom, flags)?;
        if live {
            let (def, monitor, _) = self.live_parts(dom)?;
            let index = disk_index(&def, name)
                .ok_or_else(|| invalid_arg(format!("disk '{name}' not found in domain")))?;
            let disk = &def.devices[index];
            let new = merge(&IoTune::of_disk(disk), &given, &names)?;
            let id = device_id(disk)?;
            monitor
                .execute("block_set_io_throttle", Some(new.qmp_args(&id)))
                .map_err(|e| hotplug_refusal("block_set_io_throttle", e))?;
            self.change_live(dom, |def| {
                if let Some(disk) = def.devices.get_mut(index) {
                    new.write_to(disk);
                }
            })?;
        }
        if config {
            self.change_config(dom, |def| {
                let index = disk_index(def, name).ok_or_else(|| {
                    invalid_arg(format!(
                        "missing persistent configuration for disk '{name}'"
                    ))
                })?;
                let disk = &mut def.devices[index];
                let new = merge(&IoTune::of_disk(disk), &given, &names)?;
                new.write_to(disk);
                Ok(())
            })?;
        }
        Ok(())
    }

    fn inject_nmi(&self, dom: &DomainRef, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "qemuDomainInjectNMI")?;
        let (_, monitor, _) = self.live_parts(dom)?;
        monitor
            .execute("inject-nmi", None)
            .map_err(|e| hotplug_refusal("inject-nmi", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ull(field: &str, v: u64) -> NamedParam {
        NamedParam::new(field, ParamValue::ULLong(v))
    }

    #[test]
    fn total_with_read_is_refused() {
        let err = parse_params(&[ull("total_bytes_sec", 1), ull("read_bytes_sec", 2)]).unwrap_err();
        assert!(err
            .to_string()
            .contains("total and read/write of bytes_sec"));
    }

    #[test]
    fn giving_one_of_a_set_resets_the_others() {
        let mut old = IoTune::default();
        old.set("read_bytes_sec", 5);
        old.set("total_iops_sec", 7);
        let (given, names) = parse_params(&[ull("total_bytes_sec", 9)]).unwrap();
        let new = merge(&old, &given, &names).unwrap();
        assert_eq!(new.get("total_bytes_sec"), 9);
        assert_eq!(new.get("read_bytes_sec"), 0);
        assert_eq!(new.get("total_iops_sec"), 7);
    }

    #[test]
    fn max_needs_its_base() {
        let (given, names) = parse_params(&[ull("total_bytes_sec_max", 9)]).unwrap();
        let err = merge(&IoTune::default(), &given, &names).unwrap_err();
        assert!(err
            .to_string()
            .contains("value 'total_bytes_sec_max' cannot be set if 'total_bytes_sec' is not set"));
    }

    #[test]
    fn iotune_element_round_trips_into_drive_options() {
        let mut disk = Element::new("disk");
        let mut tune = IoTune::default();
        tune.set("total_bytes_sec", 1000);
        tune.group = Some("g,1".into());
        tune.write_to(&mut disk);
        assert_eq!(IoTune::of_disk(&disk), tune);
        assert_eq!(
            drive_throttling(&disk),
            ",throttling.bps-total=1000,throttling.group=g,,1"
        );
    }
}
