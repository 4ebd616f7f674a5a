//! The secret driver API (libvirt's `virtsecretd`): a secondary driver that every
//! hypervisor connection also reaches, and the primary one of `secret:///system`.
//! Every method defaults to libvirt's "not supported" answer naming the public API.

use std::sync::Arc;

use super::{DriverError, DriverResult, Uuid};

/// What a client holds for a secret (libvirt's `remote_nonnull_secret`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretHandle {
    pub uuid: Uuid,
    /// `VIR_SECRET_USAGE_TYPE_*`.
    pub usage_type: i32,
    /// The volume path, Ceph/TLS/vTPM name or iSCSI target; empty for usage "none".
    pub usage_id: String,
}

/// `VIR_SECRET_USAGE_TYPE_*`.
pub mod secret_usage {
    pub const NONE: i32 = 0;
    pub const VOLUME: i32 = 1;
    pub const CEPH: i32 = 2;
    pub const ISCSI: i32 = 3;
    pub const TLS: i32 = 4;
    pub const VTPM: i32 = 5;
}

/// `VIR_SECRET_EVENT_*` lifecycle events.
pub mod secret_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
}

/// `VIR_CONNECT_LIST_SECRETS_*` filters.
pub mod secret_list_flags {
    pub const EPHEMERAL: u32 = 1 << 0;
    pub const NO_EPHEMERAL: u32 = 1 << 1;
    pub const PRIVATE: u32 = 1 << 2;
    pub const NO_PRIVATE: u32 = 1 << 3;
    pub const ALL: u32 = EPHEMERAL | NO_EPHEMERAL | PRIVATE | NO_PRIVATE;
}

/// What happened to a secret, pushed by the driver to the daemon's fan-out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretEventKind {
    /// `VIR_SECRET_EVENT_ID_LIFECYCLE` with a [`secret_event`] type and detail.
    Lifecycle { event: i32, detail: i32 },
    /// `VIR_SECRET_EVENT_ID_VALUE_CHANGED`.
    ValueChanged,
}

/// One event about one secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretEvent {
    pub secret: SecretHandle,
    pub kind: SecretEventKind,
}

/// Where the secret driver delivers its events.
pub type SecretEventSink = Arc<dyn Fn(SecretEvent) + Send + Sync>;

/// One client's view of the secret driver.
pub trait SecretConnection: Send + Sync {
    fn num_of_secrets(&self) -> DriverResult<i32> {
        Err(DriverError::no_support("virConnectNumOfSecrets"))
    }
    /// UUID strings of at most `max` secrets.
    fn list_secret_uuids(&self, _max: usize) -> DriverResult<Vec<String>> {
        Err(DriverError::no_support("virConnectListSecrets"))
    }
    fn list_all_secrets(&self, _flags: u32) -> DriverResult<Vec<SecretHandle>> {
        Err(DriverError::no_support("virConnectListAllSecrets"))
    }
    fn secret_lookup_by_uuid(&self, _uuid: &Uuid) -> DriverResult<SecretHandle> {
        Err(DriverError::no_support("virSecretLookupByUUID"))
    }
    fn secret_lookup_by_usage(&self, _usage_type: i32, _id: &str) -> DriverResult<SecretHandle> {
        Err(DriverError::no_support("virSecretLookupByUsage"))
    }
    fn secret_define_xml(&self, _xml: &str, _flags: u32) -> DriverResult<SecretHandle> {
        Err(DriverError::no_support("virSecretDefineXML"))
    }
    fn secret_get_xml_desc(&self, _secret: &SecretHandle, _flags: u32) -> DriverResult<String> {
        Err(DriverError::no_support("virSecretGetXMLDesc"))
    }
    fn secret_set_value(
        &self,
        _secret: &SecretHandle,
        _value: &[u8],
        _flags: u32,
    ) -> DriverResult<()> {
        Err(DriverError::no_support("virSecretSetValue"))
    }
    /// The value as a client asks for it: refused for a private secret.
    fn secret_get_value(&self, _secret: &SecretHandle, _flags: u32) -> DriverResult<Vec<u8>> {
        Err(DriverError::no_support("virSecretGetValue"))
    }
    /// The value as another daemon of this host asks for it (system identity):
    /// private secrets too.
    fn secret_get_value_for_daemon(
        &self,
        _secret: &SecretHandle,
        _flags: u32,
    ) -> DriverResult<Vec<u8>> {
        Err(DriverError::no_support("virSecretGetValue"))
    }
    fn secret_undefine(&self, _secret: &SecretHandle) -> DriverResult<()> {
        Err(DriverError::no_support("virSecretUndefine"))
    }
    /// The client closed its connection.
    fn close(&self) {}
}

/// The secret driver shared by every connection.
pub trait SecretDriver: Send + Sync {
    fn open(&self, read_only: bool) -> DriverResult<Arc<dyn SecretConnection>>;
    /// The value of secret `uuid` for the daemon's own use (a guest's disk
    /// passphrase): private secrets included, as libvirt's internal calls get them.
    fn value_for_daemon(&self, _uuid: &Uuid) -> DriverResult<Vec<u8>> {
        Err(DriverError::no_support("virSecretGetValue"))
    }
    /// SIGHUP: re-read the persistent secrets from disk.
    fn reload(&self) -> Vec<String> {
        Vec::new()
    }
}
