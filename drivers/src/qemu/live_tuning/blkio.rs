//! `blkiotune`: the `<blkiotune>` weight and per-device weights and throttles, live in
//! the guest's blkio (v1) or io (v2) group as libvirt 9.0 writes them, and in the
//! persistent definition.

use super::{CONFIG, LIVE};
use crate::api::{codes, domains, DomainRef, DriverError, DriverResult, NamedParam, ParamValue};
use crate::domain_xml::{DomainDef, Element};
use crate::qemu::lifecycle::check_flags;
use crate::qemu::resource_cgroup::{
    block_dev_string, device_value, group_of, Controller, ResourceGroup,
};
use crate::qemu::Inner;

/// `VIR_TYPED_PARAM_STRING_OKAY`, which the remote client adds to getters.
const STRING_OKAY: u32 = 4;
const WEIGHT: &str = "weight";

/// One per-device tunable: its parameter, its element in `<device>` and its files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeviceTunable {
    Weight,
    ReadIops,
    WriteIops,
    ReadBytes,
    WriteBytes,
}

const TUNABLES: [DeviceTunable; 5] = [
    DeviceTunable::Weight,
    DeviceTunable::ReadIops,
    DeviceTunable::WriteIops,
    DeviceTunable::ReadBytes,
    DeviceTunable::WriteBytes,
];

impl DeviceTunable {
    fn param(self) -> &'static str {
        match self {
            DeviceTunable::Weight => "device_weight",
            DeviceTunable::ReadIops => "device_read_iops_sec",
            DeviceTunable::WriteIops => "device_write_iops_sec",
            DeviceTunable::ReadBytes => "device_read_bytes_sec",
            DeviceTunable::WriteBytes => "device_write_bytes_sec",
        }
    }

    fn element(self) -> &'static str {
        match self {
            DeviceTunable::Weight => "weight",
            DeviceTunable::ReadIops => "read_iops_sec",
            DeviceTunable::WriteIops => "write_iops_sec",
            DeviceTunable::ReadBytes => "read_bytes_sec",
            DeviceTunable::WriteBytes => "write_bytes_sec",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// IOPS and weights are unsigned ints in libvirt; bytes are unsigned long longs.
    fn max(self) -> u64 {
        match self {
            DeviceTunable::ReadBytes | DeviceTunable::WriteBytes => u64::MAX,
            _ => u64::from(u32::MAX),
        }
    }

    /// The v1 file, or the v2 `io.max` key (weights live in `io.weight`).
    fn v1_file(self) -> &'static str {
        match self {
            DeviceTunable::Weight => "blkio.weight_device",
            DeviceTunable::ReadIops => "blkio.throttle.read_iops_device",
            DeviceTunable::WriteIops => "blkio.throttle.write_iops_device",
            DeviceTunable::ReadBytes => "blkio.throttle.read_bps_device",
            DeviceTunable::WriteBytes => "blkio.throttle.write_bps_device",
        }
    }

    fn v2_key(self) -> &'static str {
        match self {
            DeviceTunable::Weight => "weight",
            DeviceTunable::ReadIops => "riops",
            DeviceTunable::WriteIops => "wiops",
            DeviceTunable::ReadBytes => "rbps",
            DeviceTunable::WriteBytes => "wbps",
        }
    }
}

/// `<blkiotune>` as libvirt models it: a weight (0: unset) and per-device values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BlkioTune {
    pub(crate) weight: u32,
    pub(crate) devices: Vec<(String, [u64; 5])>,
}

impl BlkioTune {
    pub(crate) fn of(def: &DomainDef) -> BlkioTune {
        let Some(tune) = def.extra.iter().find(|e| e.name == "blkiotune") else {
            return BlkioTune::default();
        };
        let number = |e: &Element, name: &str| -> u64 {
            e.child(name)
                .and_then(|c| c.text.as_deref())
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0)
        };
        let devices = tune
            .children
            .iter()
            .filter(|c| c.name == "device")
            .filter_map(|d| {
                let path = d.child("path")?.text.as_deref()?.trim().to_string();
                Some((path, TUNABLES.map(|t| number(d, t.element()))))
            })
            .collect();
        BlkioTune {
            weight: u32::try_from(number(tune, WEIGHT)).unwrap_or(0),
            devices,
        }
    }

    /// Writes this tuning back as `<blkiotune>`, omitted when nothing is set.
    pub(crate) fn store(&self, def: &mut DomainDef) {
        let position = def.extra.iter().position(|e| e.name == "blkiotune");
        def.extra.retain(|e| e.name != "blkiotune");
        let mut tune = Element::new("blkiotune");
        if self.weight != 0 {
            tune.children
                .push(Element::new(WEIGHT).with_text(&self.weight.to_string()));
        }
        for (path, values) in &self.devices {
            if values.iter().all(|v| *v == 0) {
                continue;
            }
            let mut device =
                Element::new("device").with_child(Element::new("path").with_text(path));
            for t in TUNABLES {
                if values[t.index()] != 0 {
                    device
                        .children
                        .push(Element::new(t.element()).with_text(&values[t.index()].to_string()));
                }
            }
            tune.children.push(device);
        }
        if !tune.children.is_empty() {
            let at = position.unwrap_or(def.extra.len()).min(def.extra.len());
            def.extra.insert(at, tune);
        }
    }

    /// libvirt's merge: a listed device's value replaces the old one; new devices with a
    /// zero value are not added.
    fn merge(&mut self, tunable: DeviceTunable, given: &[(String, u64)]) {
        for (path, value) in given {
            match self.devices.iter_mut().find(|(p, _)| p == path) {
                Some((_, values)) => values[tunable.index()] = *value,
                None if *value != 0 => {
                    let mut values = [0; 5];
                    values[tunable.index()] = *value;
                    self.devices.push((path.clone(), values));
                }
                None => {}
            }
        }
    }

    /// "path,value,path,value" of the devices with a value of `tunable`.
    fn param_text(&self, tunable: DeviceTunable) -> String {
        self.devices
            .iter()
            .filter(|(_, v)| v[tunable.index()] != 0)
            .map(|(p, v)| format!("{p},{}", v[tunable.index()]))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// libvirt's parser of "path,value[,path,value...]" strings.
fn parse_devices(text: &str, tunable: DeviceTunable) -> DriverResult<Vec<(String, u64)>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let parse_error = || {
        DriverError::new(
            codes::INVALID_ARG,
            domains::QEMU,
            format!(
                "unable to parse blkio device '{}' '{text}'",
                tunable.param()
            ),
        )
    };
    let fields: Vec<&str> = text.split(',').collect();
    if !fields.len().is_multiple_of(2) {
        return Err(parse_error());
    }
    fields
        .chunks(2)
        .map(|pair| {
            let value = pair[1]
                .parse::<u64>()
                .ok()
                .filter(|v| *v <= tunable.max())
                .ok_or_else(|| {
                    DriverError::new(
                        codes::INVALID_ARG,
                        domains::QEMU,
                        format!(
                            "invalid value '{}' for parameter '{}' of device '{}'",
                            pair[1],
                            tunable.param(),
                            pair[0]
                        ),
                    )
                })?;
            Ok((pair[0].to_string(), value))
        })
        .collect()
}

fn not_mounted() -> DriverError {
    DriverError::operation_invalid("blkio cgroup isn't mounted").in_domain(domains::QEMU)
}

fn weight_unavailable(device: bool) -> DriverError {
    let message = if device {
        "blkio device weight is valid only for cfq scheduler"
    } else {
        "blkio device weight is valid only for bfq or cfq scheduler"
    };
    DriverError::new(codes::OPERATION_INVALID, domains::CGROUP, message)
}

/// The group's weight file and how a weight is written to it.
fn weight_file(group: &ResourceGroup) -> DriverResult<(&'static str, &'static str)> {
    let candidates: [(&str, &str); 2] = if group.v2 {
        [("io.bfq.weight", ""), ("io.weight", "default ")]
    } else {
        [("blkio.bfq.weight", ""), ("blkio.weight", "")]
    };
    candidates
        .into_iter()
        .find(|(f, _)| group.has(f))
        .ok_or_else(|| weight_unavailable(false))
}

fn read_weight(group: &ResourceGroup) -> DriverResult<u32> {
    let (file, prefix) = weight_file(group)?;
    let text = group.read(file)?;
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or(text.trim());
    let value = line.trim().strip_prefix("default ").unwrap_or(line.trim());
    value.parse().map_err(|_| {
        DriverError::new(
            codes::INTERNAL_ERROR,
            domains::CGROUP,
            format!("Unable to parse '{value}' as an integer"),
        )
    })
}

/// Writes one device's value and reads back what the kernel kept.
fn apply_device(
    group: &ResourceGroup,
    tunable: DeviceTunable,
    path: &str,
    value: u64,
) -> DriverResult<u64> {
    let dev = block_dev_string(path)?;
    let (file, line) = match (group.v2, tunable) {
        (false, DeviceTunable::Weight) if !group.has(tunable.v1_file()) => {
            return Err(weight_unavailable(true))
        }
        (false, _) => (tunable.v1_file(), format!("{dev} {value}")),
        (true, DeviceTunable::Weight) if !group.has("io.weight") => {
            return Err(weight_unavailable(true))
        }
        (true, DeviceTunable::Weight) => ("io.weight", format!("{dev} {value}")),
        (true, _) => {
            let shown = if value == 0 {
                "max".to_string()
            } else {
                value.to_string()
            };
            ("io.max", format!("{dev} {}={shown}", tunable.v2_key()))
        }
    };
    group.write(file, &line)?;
    let text = group.read(file)?;
    let Some(entry) = device_value(&text, &dev) else {
        return Ok(0);
    };
    let entry = if group.v2 && tunable != DeviceTunable::Weight {
        entry
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{}=", tunable.v2_key())))
            .unwrap_or("max")
    } else {
        entry
    };
    Ok(entry.parse().unwrap_or(0))
}

/// Requested changes: the weight and, per tunable, the listed devices.
struct Request {
    weight: Option<u32>,
    devices: Vec<(DeviceTunable, Vec<(String, u64)>)>,
}

fn request(params: &[NamedParam]) -> DriverResult<Request> {
    let mut out = Request {
        weight: None,
        devices: Vec::new(),
    };
    for p in params {
        match (p.field.as_str(), &p.value) {
            (WEIGHT, ParamValue::UInt(w)) => out.weight = Some(*w),
            (field, ParamValue::String(text)) => {
                let Some(t) = TUNABLES.into_iter().find(|t| t.param() == field) else {
                    return Err(unknown_param(field));
                };
                out.devices.push((t, parse_devices(text, t)?));
            }
            (field, _) => return Err(unknown_param(field)),
        }
    }
    Ok(out)
}

fn unknown_param(name: &str) -> DriverError {
    DriverError::new(
        codes::ARGUMENT_UNSUPPORTED,
        domains::QEMU,
        format!("parameter '{name}' not supported"),
    )
}

impl Inner {
    fn blkio_group(&self, dom: &DomainRef) -> DriverResult<ResourceGroup> {
        let (_, _, pid) = self.live_parts(dom)?;
        group_of(pid, Controller::Blkio).ok_or_else(not_mounted)
    }

    pub(super) fn blkio_params(
        &self,
        dom: &DomainRef,
        flags: u32,
    ) -> DriverResult<Vec<NamedParam>> {
        check_flags(
            flags,
            LIVE | CONFIG | STRING_OKAY,
            "qemuDomainGetBlkioParameters",
        )?;
        let (live, _) = self.affect(dom, flags & (LIVE | CONFIG))?;
        let (weight, tune) = if live {
            let group = self.blkio_group(dom)?;
            let weight = read_weight(&group)?;
            let st = self.lock();
            (weight, BlkioTune::of(&st.get(dom)?.def))
        } else {
            let st = self.lock();
            let tune = BlkioTune::of(st.get(dom)?.persistent_def());
            (tune.weight, tune)
        };
        let mut params = vec![NamedParam::new(WEIGHT, ParamValue::UInt(weight))];
        params.extend(
            TUNABLES
                .iter()
                .map(|t| NamedParam::new(t.param(), ParamValue::String(tune.param_text(*t)))),
        );
        Ok(params)
    }

    pub(super) fn set_blkio_params(
        &self,
        dom: &DomainRef,
        params: &[NamedParam],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, LIVE | CONFIG, "qemuDomainSetBlkioParameters")?;
        let (live, config) = self.affect(dom, flags)?;
        let request = request(params)?;
        if live {
            let group = self.blkio_group(dom)?;
            let (def, _, _) = self.live_parts(dom)?;
            let mut tune = BlkioTune::of(&def);
            let mut failure = None;
            if let Some(weight) = request.weight {
                match weight_file(&group).and_then(|(file, prefix)| {
                    group.write(file, &format!("{prefix}{weight}"))?;
                    read_weight(&group)
                }) {
                    Ok(kept) => tune.weight = kept,
                    Err(e) => failure = Some(e),
                }
            }
            for (tunable, devices) in &request.devices {
                let mut applied = Vec::new();
                for (path, value) in devices {
                    match apply_device(&group, *tunable, path, *value) {
                        Ok(kept) => applied.push((path.clone(), kept)),
                        Err(e) => {
                            failure.get_or_insert(e);
                        }
                    }
                }
                tune.merge(*tunable, &applied);
            }
            self.change_live(dom, |def| tune.store(def))?;
            if let Some(e) = failure {
                return Err(e);
            }
        }
        if config {
            self.change_config(dom, |def| {
                let mut tune = BlkioTune::of(def);
                if let Some(weight) = request.weight {
                    tune.weight = weight;
                }
                for (tunable, devices) in &request.devices {
                    tune.merge(*tunable, devices);
                }
                tune.store(def);
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// Applies a definition's `<blkiotune>` to a guest that just started (best effort).
pub(crate) fn apply_at_start(def: &DomainDef, pid: i32) {
    let tune = BlkioTune::of(def);
    if tune.weight == 0 && tune.devices.is_empty() {
        return;
    }
    let Some(group) = group_of(pid, Controller::Blkio) else {
        return;
    };
    if tune.weight != 0 {
        if let Err(e) = weight_file(&group)
            .and_then(|(file, prefix)| group.write(file, &format!("{prefix}{}", tune.weight)))
        {
            tracing::warn!("blkio weight of '{}' not applied: {e}", def.name);
        }
    }
    for (path, values) in &tune.devices {
        for t in TUNABLES.into_iter().filter(|t| values[t.index()] != 0) {
            if let Err(e) = apply_device(&group, t, path, values[t.index()]) {
                tracing::warn!("blkio {} of '{}' not applied: {e}", t.param(), def.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_strings_parse_as_libvirt() {
        assert_eq!(
            parse_devices("/dev/a,10,/dev/b,20", DeviceTunable::ReadIops).expect("two"),
            vec![("/dev/a".to_string(), 10), ("/dev/b".to_string(), 20)]
        );
        assert!(parse_devices("", DeviceTunable::Weight)
            .expect("none")
            .is_empty());
        let odd = parse_devices("/dev/a", DeviceTunable::Weight).expect_err("odd");
        assert!(
            odd.message
                .ends_with("unable to parse blkio device 'device_weight' '/dev/a'"),
            "{}",
            odd.message
        );
        let bad = parse_devices("/dev/a,x", DeviceTunable::WriteBytes).expect_err("nan");
        assert!(bad.message.contains("invalid value 'x'"), "{}", bad.message);
        assert!(parse_devices("/dev/a,4294967296", DeviceTunable::ReadIops).is_err());
    }

    #[test]
    fn tuning_round_trips_through_the_definition() {
        let mut def = crate::domain_xml::parse_domain_xml(
            "<domain type='qemu'><name>b</name><memory>65536</memory><os><type>hvm</type></os></domain>",
            &crate::domain_xml::ParseOptions::default(),
        )
        .expect("def");
        let mut tune = BlkioTune {
            weight: 300,
            ..BlkioTune::default()
        };
        tune.merge(DeviceTunable::ReadIops, &[("/dev/vdb".into(), 100)]);
        tune.merge(DeviceTunable::WriteBytes, &[("/dev/vdb".into(), 4096)]);
        tune.merge(DeviceTunable::Weight, &[("/dev/vdc".into(), 0)]);
        tune.store(&mut def);
        let back = BlkioTune::of(&def);
        assert_eq!(back, tune);
        assert_eq!(back.param_text(DeviceTunable::ReadIops), "/dev/vdb,100");
        assert_eq!(back.param_text(DeviceTunable::Weight), "");
        let mut cleared = back.clone();
        cleared.weight = 0;
        cleared.merge(DeviceTunable::ReadIops, &[("/dev/vdb".into(), 0)]);
        cleared.merge(DeviceTunable::WriteBytes, &[("/dev/vdb".into(), 0)]);
        cleared.store(&mut def);
        assert!(!def.extra.iter().any(|e| e.name == "blkiotune"));
    }
}
