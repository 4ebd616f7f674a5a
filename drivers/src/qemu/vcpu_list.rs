//! Individual vCPUs of a definition (`<vcpus><vcpu id enabled hotpluggable order/>`), as
//! libvirt 9.0 keeps them once `setvcpu` changed one: which vCPUs are online and which
//! may be plugged and unplugged. Without the element, vCPUs below the current count
//! are online and fixed, the others offline and hot-pluggable.

use crate::domain_xml::{DomainDef, Element};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct VcpuEntry {
    pub(crate) id: u32,
    pub(crate) enabled: bool,
    pub(crate) hotpluggable: bool,
    pub(crate) order: Option<u32>,
}

/// Every vCPU of `def`, by id.
pub(crate) fn entries(def: &DomainDef) -> Vec<VcpuEntry> {
    let defaults = (0..def.vcpu.max).map(|id| VcpuEntry {
        id,
        enabled: id < def.vcpu.current,
        hotpluggable: id >= def.vcpu.current,
        order: None,
    });
    let Some(list) = def.extra.iter().find(|e| e.name == "vcpus") else {
        return defaults.collect();
    };
    defaults
        .map(|default| {
            let Some(given) = list
                .children
                .iter()
                .find(|c| c.name == "vcpu" && c.attr("id") == Some(&default.id.to_string()))
            else {
                return default;
            };
            VcpuEntry {
                id: default.id,
                enabled: given
                    .attr("enabled")
                    .map_or(default.enabled, |v| v == "yes"),
                hotpluggable: given
                    .attr("hotpluggable")
                    .map_or(default.hotpluggable, |v| v == "yes"),
                order: given.attr("order").and_then(|o| o.parse().ok()),
            }
        })
        .collect()
}

/// Whether `def` lists its vCPUs individually.
pub(crate) fn is_individual(def: &DomainDef) -> bool {
    def.extra.iter().any(|e| e.name == "vcpus")
}

/// Writes `list` as `<vcpus>` and the current count from it.
pub(crate) fn store(def: &mut DomainDef, list: &[VcpuEntry]) {
    let mut element = Element::new("vcpus");
    for v in list {
        let mut vcpu = Element::new("vcpu")
            .with_attr("id", &v.id.to_string())
            .with_attr("enabled", if v.enabled { "yes" } else { "no" })
            .with_attr("hotpluggable", if v.hotpluggable { "yes" } else { "no" });
        if let Some(order) = v.order {
            vcpu.set_attr("order", &order.to_string());
        }
        element.children.push(vcpu);
    }
    def.extra.retain(|e| e.name != "vcpus");
    def.extra.push(element);
    def.vcpu.current = list.iter().filter(|v| v.enabled).count() as u32;
}

/// Forgets individual vCPUs (after the count or maximum changed as a whole).
pub(crate) fn forget(def: &mut DomainDef) {
    def.extra.retain(|e| e.name != "vcpus");
}

/// vCPUs QEMU starts with (`-smp`): the online ones that cannot be unplugged; the
/// online hot-pluggable ones are plugged before the guest runs.
pub(crate) fn boot_count(def: &DomainDef) -> u32 {
    if !is_individual(def) {
        return def.vcpu.current;
    }
    let fixed = entries(def)
        .iter()
        .filter(|v| v.enabled && !v.hotpluggable)
        .count() as u32;
    fixed.max(1)
}

/// The online hot-pluggable vCPUs to plug at start.
pub(crate) fn plugged_at_start(def: &DomainDef) -> Vec<u32> {
    if !is_individual(def) {
        return Vec::new();
    }
    let boot = boot_count(def);
    entries(def)
        .iter()
        .filter(|v| v.enabled && v.id >= boot)
        .map(|v| v.id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain_xml::{parse_domain_xml, ParseOptions};

    fn def(vcpu: &str, vcpus: &str) -> DomainDef {
        parse_domain_xml(
            &format!(
                "<domain type='qemu'><name>v</name><memory>65536</memory>{vcpu}{vcpus}\
                 <os><type>hvm</type></os></domain>"
            ),
            &ParseOptions::default(),
        )
        .expect("def")
    }

    #[test]
    fn defaults_follow_the_current_count() {
        let d = def("<vcpu current='2'>4</vcpu>", "");
        let list = entries(&d);
        assert_eq!(list.len(), 4);
        assert!(list[1].enabled && !list[1].hotpluggable);
        assert!(!list[2].enabled && list[2].hotpluggable);
        assert_eq!(boot_count(&d), 2);
        assert!(plugged_at_start(&d).is_empty());
    }

    #[test]
    fn listed_vcpus_decide_what_is_plugged() {
        let mut d = def(
            "<vcpu current='2'>4</vcpu>",
            "<vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/>\
             <vcpu id='1' enabled='no' hotpluggable='yes'/>\
             <vcpu id='2' enabled='no' hotpluggable='yes'/>\
             <vcpu id='3' enabled='yes' hotpluggable='yes'/></vcpus>",
        );
        assert_eq!(boot_count(&d), 1);
        assert_eq!(plugged_at_start(&d), vec![3]);
        let mut list = entries(&d);
        list[2].enabled = true;
        store(&mut d, &list);
        assert_eq!(d.vcpu.current, 3);
        assert_eq!(plugged_at_start(&d), vec![2, 3]);
    }
}
