//! `virNetworkPortGetParameters` / `virNetworkPortSetParameters`: a port's
//! `<bandwidth>` as typed parameters. As in libvirt's network driver, setting
//! them records the new bandwidth in the port (its XML and the status file);
//! the rules on the guest's tap belong to the hypervisor driver, which applies
//! a NIC's bandwidth when the guest starts and on `domiftune`.

use crate::api::{
    codes, domains, BandwidthRate, DriverError, DriverResult, NamedParam, NetworkPortHandle,
    ParamValue, PortBandwidth,
};

use super::objects::{self, not_active};
use super::xml::ForwardMode;
use super::Networks;

const IN_AVERAGE: &str = "inbound.average";
const IN_PEAK: &str = "inbound.peak";
const IN_BURST: &str = "inbound.burst";
const IN_FLOOR: &str = "inbound.floor";
const OUT_AVERAGE: &str = "outbound.average";
const OUT_PEAK: &str = "outbound.peak";
const OUT_BURST: &str = "outbound.burst";

/// The `<bandwidth>` child of a `<networkport>` (or of a status file's port).
pub fn parse(parent: roxmltree::Node) -> PortBandwidth {
    let Some(bw) = parent.children().find(|c| c.has_tag_name("bandwidth")) else {
        return PortBandwidth::default();
    };
    let rate = |which: &str| {
        bw.children()
            .find(|c| c.has_tag_name(which))
            .map(|el| BandwidthRate::from_attrs(|name| el.attribute(name)))
    };
    PortBandwidth::new(rate("inbound"), rate("outbound"))
}

/// The parameters of `bw` in libvirt's order.
pub fn to_params(bw: &PortBandwidth) -> Vec<NamedParam> {
    bw.to_params()
}

/// The bandwidth `params` describe: fields not given are 0, unknown fields are
/// ignored, and a direction without its average (or inbound floor) is dropped,
/// as libvirt does.
pub fn from_params(params: &[NamedParam]) -> DriverResult<PortBandwidth> {
    let mut inbound = BandwidthRate::default();
    let mut outbound = BandwidthRate::default();
    for p in params {
        let slot = match p.field.as_str() {
            IN_AVERAGE => &mut inbound.average,
            IN_PEAK => &mut inbound.peak,
            IN_BURST => &mut inbound.burst,
            IN_FLOOR => &mut inbound.floor,
            OUT_AVERAGE => &mut outbound.average,
            OUT_PEAK => &mut outbound.peak,
            OUT_BURST => &mut outbound.burst,
            _ => continue,
        };
        *slot = match p.value {
            ParamValue::UInt(v) => v,
            _ => {
                return Err(DriverError::new(
                    codes::INVALID_ARG,
                    domains::NETWORK,
                    format!("invalid type for parameter '{}', expected 'uint'", p.field),
                ))
            }
        };
    }
    Ok(PortBandwidth::new(Some(inbound), Some(outbound)))
}

fn check_flags(flags: u32, function: &str) -> DriverResult<()> {
    crate::domain_list::check_flags(domains::NETWORK, flags, 0, function)
}

pub fn get(
    driver: &Networks,
    port: &NetworkPortHandle,
    flags: u32,
) -> DriverResult<Vec<NamedParam>> {
    check_flags(flags, "networkPortGetParameters")?;
    let mut inner = driver.lock();
    let obj = Networks::find(&mut inner, &port.network)?;
    let p = obj
        .ports
        .iter()
        .find(|p| p.uuid == port.uuid)
        .ok_or_else(|| super::ports::no_port(&port.uuid))?;
    if !obj.active {
        return Err(not_active(obj.def.name()));
    }
    Ok(to_params(&p.bandwidth))
}

pub fn set(
    driver: &Networks,
    port: &NetworkPortHandle,
    params: &[NamedParam],
    flags: u32,
) -> DriverResult<()> {
    check_flags(flags, "networkPortSetParameters")?;
    let bandwidth = from_params(params)?;
    let mut inner = driver.lock();
    let obj = Networks::find(&mut inner, &port.network)?;
    let index = obj
        .ports
        .iter()
        .position(|p| p.uuid == port.uuid)
        .ok_or_else(|| super::ports::no_port(&port.uuid))?;
    if !obj.active {
        return Err(not_active(obj.def.name()));
    }
    replace(driver, obj, index, bandwidth)
}

/// The bandwidth of the port of NIC `mac` on `network` changed with the NIC's
/// (`domiftune`).
pub fn set_by_mac(
    driver: &Networks,
    network: &str,
    mac: &str,
    bandwidth: PortBandwidth,
) -> DriverResult<()> {
    let mut inner = driver.lock();
    let Some(obj) = inner.nets.iter_mut().find(|n| n.def.name() == network) else {
        return Err(objects::no_network_name(network));
    };
    let Some(index) = obj
        .ports
        .iter()
        .position(|p| p.mac.eq_ignore_ascii_case(mac))
    else {
        // A guest started before its port existed (none to keep in step).
        return Ok(());
    };
    replace(driver, obj, index, bandwidth)
}

fn replace(
    driver: &Networks,
    obj: &mut objects::NetObj,
    index: usize,
    bandwidth: PortBandwidth,
) -> DriverResult<()> {
    if bandwidth.inbound.is_some_and(|r| r.floor > 0) {
        return Err(floor_refused(obj, &obj.ports[index].mac));
    }
    obj.ports[index].bandwidth = bandwidth;
    objects::save_status(driver.paths(), obj)
}

/// A floor needs the network's own inbound QoS to borrow from: libvirt's two
/// refusals, and ours for networks that have it (their QoS classes are not
/// built by this driver).
fn floor_refused(obj: &objects::NetObj, mac: &str) -> DriverError {
    let floor_modes = matches!(
        obj.def.forward_mode(),
        ForwardMode::Nat | ForwardMode::Route | ForwardMode::Open | ForwardMode::Isolated
    );
    let has_inbound_qos = obj
        .def
        .root()
        .child("bandwidth")
        .and_then(|b| b.child("inbound"))
        .is_some();
    let message = if !floor_modes {
        format!(
            "Invalid use of 'floor' on interface with MAC address {mac} - 'floor' is only \
             supported for interface type 'network' with forward type 'nat', 'route', 'open' \
             or none"
        )
    } else if !has_inbound_qos {
        format!(
            "Invalid use of 'floor' on interface with MAC address {mac} - network '{}' has no \
             inbound QoS set",
            obj.def.name()
        )
    } else {
        format!(
            "'floor' on interface with MAC address {mac}: guaranteed rates on network '{}' \
             are not supported",
            obj.def.name()
        )
    };
    DriverError::new(codes::OPERATION_UNSUPPORTED, domains::NETWORK, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_round_trip_and_directions_need_an_average() {
        let params = vec![
            NamedParam::new(IN_AVERAGE, ParamValue::UInt(2000)),
            NamedParam::new(IN_BURST, ParamValue::UInt(64)),
            NamedParam::new(OUT_PEAK, ParamValue::UInt(9)),
            NamedParam::new("other", ParamValue::String("x".into())),
        ];
        let bw = from_params(&params).expect("valid");
        assert_eq!(bw.inbound.map(|r| (r.average, r.burst)), Some((2000, 64)));
        assert_eq!(bw.outbound, None, "outbound without average is dropped");
        let fields: Vec<String> = to_params(&bw).into_iter().map(|p| p.field).collect();
        assert_eq!(fields, [IN_AVERAGE, IN_PEAK, IN_FLOOR, IN_BURST]);
        assert_eq!(
            bw.xml(2),
            "  <bandwidth>\n    <inbound average='2000' burst='64'/>\n  </bandwidth>\n"
        );
        let text = format!("<port>{}</port>", bw.xml(0));
        let doc = roxmltree::Document::parse(&text).expect("well-formed");
        assert_eq!(parse(doc.root_element()), bw);
        assert!(from_params(&[NamedParam::new(IN_PEAK, ParamValue::LLong(1))]).is_err());
    }
}
