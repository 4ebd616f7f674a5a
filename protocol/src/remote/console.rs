//! Console streams: DOMAIN_OPEN_CONSOLE creates a stream whose data then flow
//! as STREAM messages carrying the call's procedure and serial.

use super::limits::DOMAIN_SEND_KEY_MAX;
use super::objects::NonnullDomain;
use crate::xdr_struct;

xdr_struct! {
    pub struct DomainOpenConsoleArgs {
        pub dom: NonnullDomain,
        pub dev_name: Option<String>,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainOpenChannelArgs {
        pub dom: NonnullDomain,
        pub name: Option<String>,
        pub flags: u32,
    }
}

/// Largest payload of one STREAM message (libvirt's VIR_NET_MESSAGE_LEGACY_PAYLOAD_MAX).
pub const STREAM_CHUNK_MAX: usize = 262_120;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::{from_bytes, to_bytes};

    #[test]
    fn open_console_args_round_trip() {
        let args = DomainOpenConsoleArgs {
            dom: NonnullDomain {
                name: "c1".into(),
                uuid: [3; 16],
                id: 42,
            },
            dev_name: None,
            flags: 0,
        };
        let bytes = to_bytes(&args);
        // name (4 + 4 padded), uuid 16, id 4, absent dev_name 4, flags 4
        assert_eq!(bytes.len(), 8 + 16 + 4 + 4 + 4);
        assert_eq!(
            from_bytes::<DomainOpenConsoleArgs>(&bytes).expect("decodes"),
            args
        );
    }
}

xdr_struct! {
    pub struct DomainScreenshotArgs {
        pub dom: NonnullDomain,
        pub screen: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct DomainScreenshotRet {
        pub mime: Option<String>,
    }
}

xdr_struct! {
    pub struct DomainSendKeyArgs {
        pub dom: NonnullDomain,
        pub codeset: u32,
        pub holdtime: u32,
        pub keycodes: Vec<u32> [DOMAIN_SEND_KEY_MAX],
        pub flags: u32,
    }
}

xdr_struct! {
    /// DOMAIN_OPEN_GRAPHICS, sent as CALL_WITH_FDS: the client's socket
    /// travels as the one descriptor.
    pub struct DomainOpenGraphicsArgs {
        pub dom: NonnullDomain,
        pub idx: u32,
        pub flags: u32,
    }
}

xdr_struct! {
    /// DOMAIN_OPEN_GRAPHICS_FD: answered with REPLY_WITH_FDS carrying one
    /// end of a socket pair whose other end the display server took.
    pub struct DomainOpenGraphicsFdArgs {
        pub dom: NonnullDomain,
        pub idx: u32,
        pub flags: u32,
    }
}
