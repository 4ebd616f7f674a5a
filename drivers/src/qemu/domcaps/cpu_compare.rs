//! CPU comparison and baseline (`cpu-compare`, `cpu-baseline`,
//! `hypervisor-cpu-compare`, `hypervisor-cpu-baseline`). A CPU definition stands for
//! the features of its model, plus those it requires, minus those it disables; the
//! features of the models and of the host come from QEMU's own static expansions (the
//! probe), where libvirt uses its CPU map.

use std::collections::BTreeSet;

use super::cpu_map::{cpuid_vendor_name, feature_name, vendor_name};
use super::probe::EmulatorCaps;
use crate::api::{codes, domains, DriverError, DriverResult};
use crate::domain_xml::escape;

/// `virCPUCompareResult`.
pub const INCOMPATIBLE: i32 = 0;
pub const IDENTICAL: i32 = 1;
pub const SUPERSET: i32 = 2;

/// `VIR_CONNECT_COMPARE_CPU_FAIL_INCOMPATIBLE`.
pub const FAIL_INCOMPATIBLE: u32 = 1;
/// `VIR_CONNECT_BASELINE_CPU_EXPAND_FEATURES`.
pub const EXPAND_FEATURES: u32 = 1;

const CPU_INCOMPATIBLE: i32 = 81;

fn error(code: i32, message: String) -> DriverError {
    DriverError::new(code, domains::CPU, message)
}

/// One CPU definition reduced to what comparison needs.
struct CpuSpec {
    model: Option<String>,
    vendor: Option<String>,
    required: BTreeSet<String>,
    disabled: BTreeSet<String>,
}

/// libvirt feature name -> QEMU's.
fn qemu_feature_name(name: &str) -> String {
    match name {
        "lahf_lm" => "lahf-lm".into(),
        "fxsr_opt" => "fxsr-opt".into(),
        "cmp_legacy" => "cmp-legacy".into(),
        "tsc_adjust" => "tsc-adjust".into(),
        "nodeid_msr" => "nodeid-msr".into(),
        "perfctr_core" => "perfctr-core".into(),
        "perfctr_nb" => "perfctr-nb".into(),
        "pclmuldq" => "pclmulqdq".into(),
        "ds_cpl" => "ds-cpl".into(),
        other => other.to_string(),
    }
}

/// The `<cpu>` elements of a document (a bare `<cpu>`, or capabilities and domain
/// documents that hold one).
fn parse_cpus(xml: &str) -> DriverResult<Vec<CpuSpec>> {
    crate::domain_xml::check_xml_limits(xml)
        .map_err(|e| error(codes::XML_ERROR, format!("(CPU_definition): {e}")))?;
    let options = roxmltree::ParsingOptions {
        nodes_limit: crate::domain_xml::MAX_NODES,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| {
        error(
            codes::XML_ERROR,
            format!("(CPU_definition):{}: {e}", e.pos().row),
        )
    })?;
    let cpus: Vec<CpuSpec> = doc
        .descendants()
        .filter(|n| n.has_tag_name("cpu"))
        .map(|cpu| {
            let text = |name: &str| {
                cpu.children()
                    .find(|c| c.has_tag_name(name))
                    .and_then(|c| c.text())
                    .map(|t| t.trim().to_string())
            };
            let mut spec = CpuSpec {
                model: text("model"),
                vendor: text("vendor"),
                required: BTreeSet::new(),
                disabled: BTreeSet::new(),
            };
            for feature in cpu.children().filter(|c| c.has_tag_name("feature")) {
                let Some(name) = feature.attribute("name") else {
                    continue;
                };
                match feature.attribute("policy").unwrap_or("require") {
                    "disable" | "forbid" => spec.disabled.insert(qemu_feature_name(name)),
                    "optional" => false,
                    _ => spec.required.insert(qemu_feature_name(name)),
                };
            }
            spec
        })
        .collect();
    if cpus.is_empty() {
        return Err(error(
            codes::INVALID_ARG,
            "no CPU definition found in the XML".into(),
        ));
    }
    Ok(cpus)
}

/// The features and vendor a definition stands for.
fn resolve(
    spec: &CpuSpec,
    caps: &EmulatorCaps,
) -> DriverResult<(Option<String>, BTreeSet<String>)> {
    let mut features = BTreeSet::new();
    let mut vendor = spec.vendor.clone();
    if let Some(model) = &spec.model {
        let known = caps
            .models
            .iter()
            .find(|m| &m.name == model)
            .ok_or_else(|| error(codes::INVALID_ARG, format!("Unknown CPU model {model}")))?;
        features.extend(known.features.iter().cloned());
        let map_vendor = vendor_name(model);
        if vendor.is_none() && map_vendor != "unknown" {
            vendor = Some(map_vendor.to_string());
        }
    } else if spec.required.is_empty() {
        return Err(error(codes::INVALID_ARG, "no CPU model specified".into()));
    }
    features.extend(spec.required.iter().cloned());
    for disabled in &spec.disabled {
        features.remove(disabled);
    }
    Ok((vendor, features))
}

/// How the CPU in `xml` relates to a host CPU with `host_vendor` and `host_features`.
pub fn compare(
    xml: &str,
    caps: &EmulatorCaps,
    host_vendor: &str,
    host_features: &BTreeSet<String>,
    flags: u32,
    host_words: &str,
) -> DriverResult<i32> {
    let cpus = parse_cpus(xml)?;
    let (vendor, features) = resolve(&cpus[0], caps)?;
    let vendor_ok = vendor.is_none_or(|v| v == host_vendor);
    let result = if !vendor_ok || !features.is_subset(host_features) {
        INCOMPATIBLE
    } else if features == *host_features {
        IDENTICAL
    } else {
        SUPERSET
    };
    if result == INCOMPATIBLE && flags & FAIL_INCOMPATIBLE != 0 {
        return Err(DriverError::new(
            CPU_INCOMPATIBLE,
            domains::CPU,
            format!("the CPU is incompatible with {host_words}"),
        ));
    }
    Ok(result)
}

/// The most capable CPU every definition in `xmls` can run as, limited to `usable`
/// features (the hypervisor's) when given.
pub fn baseline(
    xmls: &[String],
    caps: &EmulatorCaps,
    usable: Option<&BTreeSet<String>>,
    flags: u32,
) -> DriverResult<String> {
    let mut common: Option<BTreeSet<String>> = None;
    let mut vendors: BTreeSet<Option<String>> = BTreeSet::new();
    for xml in xmls {
        for spec in parse_cpus(xml)? {
            let (vendor, features) = resolve(&spec, caps)?;
            vendors.insert(vendor);
            common = Some(match common {
                None => features,
                Some(all) => all.intersection(&features).cloned().collect(),
            });
        }
    }
    let mut common = common.ok_or_else(|| {
        error(
            codes::INVALID_ARG,
            "nonzero ncpus doesn't match with NULL xmlCPUs".into(),
        )
    })?;
    if let Some(usable) = usable {
        common = common.intersection(usable).cloned().collect();
    }
    let vendor = match vendors.len() {
        1 => vendors.into_iter().next().flatten(),
        _ => None,
    };
    let model = caps
        .models
        .iter()
        .filter(|m| m.features.is_subset(&common))
        .filter(|m| {
            let model_vendor = vendor_name(&m.name);
            model_vendor == "unknown" || Some(model_vendor) == vendor.as_deref()
        })
        .max_by_key(|m| m.features.len())
        .ok_or_else(|| {
            error(
                codes::OPERATION_FAILED,
                "Cannot find suitable CPU model for given data".into(),
            )
        })?;
    let mut out = String::from("<cpu mode='custom' match='exact'>\n");
    out.push_str(&format!(
        "  <model fallback='forbid'>{}</model>\n",
        escape(&model.name)
    ));
    if vendor_name(&model.name) != "unknown" {
        if let Some(vendor) = &vendor {
            out.push_str(&format!("  <vendor>{}</vendor>\n", escape(vendor)));
        }
    }
    let listed: Vec<&String> = if flags & EXPAND_FEATURES != 0 {
        common.iter().collect()
    } else {
        common.difference(&model.features).collect()
    };
    for feature in listed {
        out.push_str(&format!(
            "  <feature policy='require' name='{}'/>\n",
            escape(&feature_name(feature))
        ));
    }
    out.push_str("</cpu>\n");
    Ok(out)
}

/// "GenuineIntel" as libvirt names vendors.
pub fn host_vendor(caps: &EmulatorCaps) -> &'static str {
    cpuid_vendor_name(&caps.host_vendor)
}
