//! The domain calls libvirt-guests makes, typed: list, look up, save, shut down,
//! start and time sync. Each maps to the single remote procedure virsh would use.

use protocol::programs::remote_proc as p;
use protocol::remote::{
    ConnectListAllDomainsArgs, ConnectListAllDomainsRet, DomainCreateArgs,
    DomainCreateWithFlagsArgs, DomainCreateWithFlagsRet, DomainGetStateArgs, DomainGetStateRet,
    DomainLookupByNameArgs, DomainLookupByNameRet, DomainLookupByUuidArgs, DomainLookupByUuidRet,
    DomainManagedSaveArgs, DomainShutdownArgs, NonnullDomain,
};
use protocol::xdr_struct;

use super::connection::{Client, ClientError};

/// `VIR_CONNECT_LIST_DOMAINS_*` filters.
pub mod list_filter {
    pub const ACTIVE: u32 = 1;
    pub const PERSISTENT: u32 = 4;
    pub const TRANSIENT: u32 = 8;
}

/// `VIR_DOMAIN_SAVE_BYPASS_CACHE`.
const SAVE_BYPASS_CACHE: u32 = 1;
/// `VIR_DOMAIN_START_BYPASS_CACHE`.
const START_BYPASS_CACHE: u32 = 4;
/// `VIR_DOMAIN_TIME_SYNC`.
const TIME_SYNC: u32 = 1;

xdr_struct! {
    /// DOMAIN_GET_JOB_INFO arguments.
    pub struct JobInfoArgs {
        pub dom: NonnullDomain,
    }
}

xdr_struct! {
    /// DOMAIN_GET_JOB_INFO reply: progress of the running job, in bytes.
    pub struct JobInfoRet {
        pub type_: i32,
        pub time_elapsed: u64,
        pub time_remaining: u64,
        pub data_total: u64,
        pub data_processed: u64,
        pub data_remaining: u64,
        pub mem_total: u64,
        pub mem_processed: u64,
        pub mem_remaining: u64,
        pub file_total: u64,
        pub file_processed: u64,
        pub file_remaining: u64,
    }
}

xdr_struct! {
    /// DOMAIN_SET_TIME arguments.
    pub struct SetTimeArgs {
        pub dom: NonnullDomain,
        pub seconds: i64,
        pub nseconds: u32,
        pub flags: u32,
    }
}

/// The running domains matching `filter` (ACTIVE is always added), ordered by id as
/// `virsh list` shows them. Xen's Domain-0 (the all-zero UUID) is the host itself and
/// never listed.
pub fn list_running(client: &mut Client, filter: u32) -> Result<Vec<NonnullDomain>, ClientError> {
    let args = ConnectListAllDomainsArgs {
        need_results: 1,
        flags: filter | list_filter::ACTIVE,
    };
    let ret: ConnectListAllDomainsRet = client.call(p::CONNECT_LIST_ALL_DOMAINS, &args)?;
    let mut domains = ret.domains;
    domains.retain(|d| d.uuid != [0u8; 16]);
    domains.sort_by_key(|d| d.id);
    Ok(domains)
}

pub fn lookup_uuid(client: &mut Client, uuid: &[u8; 16]) -> Result<NonnullDomain, ClientError> {
    let ret: DomainLookupByUuidRet = client.call(
        p::DOMAIN_LOOKUP_BY_UUID,
        &DomainLookupByUuidArgs { uuid: *uuid },
    )?;
    Ok(ret.dom)
}

pub fn lookup_name(client: &mut Client, name: &str) -> Result<NonnullDomain, ClientError> {
    let args = DomainLookupByNameArgs {
        name: name.to_string(),
    };
    let ret: DomainLookupByNameRet = client.call(p::DOMAIN_LOOKUP_BY_NAME, &args)?;
    Ok(ret.dom)
}

/// The guest's name, or an empty string when it cannot be found (as `virsh domname`
/// failing leaves the script with an empty name).
pub fn name_of(client: &mut Client, uuid: &[u8; 16]) -> String {
    lookup_uuid(client, uuid)
        .map(|d| d.name)
        .unwrap_or_default()
}

/// Whether the guest runs (has an id). A guest that no longer exists is not running.
pub fn is_running(client: &mut Client, uuid: &[u8; 16]) -> Result<bool, ClientError> {
    match lookup_uuid(client, uuid) {
        Ok(dom) => Ok(dom.id != -1),
        Err(e) if e.is_no_domain() => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn state_of(client: &mut Client, dom: &NonnullDomain) -> Result<i32, ClientError> {
    let args = DomainGetStateArgs {
        dom: dom.clone(),
        flags: 0,
    };
    let ret: DomainGetStateRet = client.call(p::DOMAIN_GET_STATE, &args)?;
    Ok(ret.state)
}

pub fn managed_save(
    client: &mut Client,
    dom: &NonnullDomain,
    bypass_cache: bool,
) -> Result<(), ClientError> {
    let args = DomainManagedSaveArgs {
        dom: dom.clone(),
        flags: if bypass_cache { SAVE_BYPASS_CACHE } else { 0 },
    };
    client.call(p::DOMAIN_MANAGED_SAVE, &args)
}

pub fn job_info(client: &mut Client, dom: &NonnullDomain) -> Result<JobInfoRet, ClientError> {
    client.call(p::DOMAIN_GET_JOB_INFO, &JobInfoArgs { dom: dom.clone() })
}

pub fn shutdown(client: &mut Client, dom: &NonnullDomain) -> Result<(), ClientError> {
    client.call(p::DOMAIN_SHUTDOWN, &DomainShutdownArgs { dom: dom.clone() })
}

/// Starts a defined guest (restoring its managed save image if it has one).
pub fn start(
    client: &mut Client,
    dom: &NonnullDomain,
    bypass_cache: bool,
) -> Result<(), ClientError> {
    if bypass_cache {
        let args = DomainCreateWithFlagsArgs {
            dom: dom.clone(),
            flags: START_BYPASS_CACHE,
        };
        let _: DomainCreateWithFlagsRet = client.call(p::DOMAIN_CREATE_WITH_FLAGS, &args)?;
        Ok(())
    } else {
        client.call(p::DOMAIN_CREATE, &DomainCreateArgs { dom: dom.clone() })
    }
}

/// Asks the guest agent to set the guest clock from the host's.
pub fn sync_time(client: &mut Client, dom: &NonnullDomain) -> Result<(), ClientError> {
    let args = SetTimeArgs {
        dom: dom.clone(),
        seconds: 0,
        nseconds: 0,
        flags: TIME_SYNC,
    };
    client.call(p::DOMAIN_SET_TIME, &args)
}

/// `6695eb01-f6a4-8304-79aa-97f2502e193f` form.
pub fn format_uuid(uuid: &[u8; 16]) -> String {
    let hex: String = uuid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Parses a UUID with or without dashes; `None` when it is not 32 hex digits.
pub fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut uuid = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digits = std::str::from_utf8(pair).ok()?;
        uuid[i] = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(uuid)
}

/// virsh's words for a domain state.
pub fn state_name(state: i32) -> &'static str {
    match state {
        0 => "no state",
        1 => "running",
        2 => "idle",
        3 => "paused",
        4 => "in shutdown",
        5 => "shut off",
        6 => "crashed",
        7 => "pmsuspended",
        _ => "unknown",
    }
}

/// A size the way virsh prints job progress (`512.000 MiB`).
pub fn pretty_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.3} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_round_trip() {
        let text = "6695eb01-f6a4-8304-79aa-97f2502e193f";
        let uuid = parse_uuid(text).expect("valid uuid");
        assert_eq!(uuid[0], 0x66);
        assert_eq!(format_uuid(&uuid), text);
        assert_eq!(parse_uuid("6695eb01"), None);
        assert_eq!(parse_uuid("zz95eb01-f6a4-8304-79aa-97f2502e193f"), None);
    }

    #[test]
    fn sizes_as_virsh_prints_them() {
        assert_eq!(pretty_size(100), "100 B");
        assert_eq!(pretty_size(512 * 1024 * 1024), "512.000 MiB");
        assert_eq!(pretty_size(1536 * 1024 * 1024), "1.500 GiB");
    }

    #[test]
    fn state_names() {
        assert_eq!(state_name(1), "running");
        assert_eq!(state_name(5), "shut off");
        assert_eq!(state_name(42), "unknown");
    }
}
