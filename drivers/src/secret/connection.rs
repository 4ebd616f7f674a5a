//! One client's view of the secret driver: flag checks and filters as
//! libvirt's secret driver applies them, then the shared [`Secrets`].

use std::sync::Arc;

use super::Secrets;
use crate::api::{
    domains, format_uuid, secret_list_flags as lf, DriverError, DriverResult, SecretConnection,
    SecretDriver, SecretHandle, Uuid,
};

/// The secret driver registered with the daemon.
pub struct SecretDriverHandle(pub Arc<Secrets>);

impl SecretDriver for SecretDriverHandle {
    fn open(&self, _read_only: bool) -> DriverResult<Arc<dyn SecretConnection>> {
        Ok(Arc::new(SecretConn(self.0.clone())))
    }

    fn reload(&self) -> Vec<String> {
        self.0.load_all()
    }

    fn value_for_daemon(&self, uuid: &Uuid) -> DriverResult<Vec<u8>> {
        self.0.internal_value(uuid)
    }
}

struct SecretConn(Arc<Secrets>);

fn check_flags(flags: u32, allowed: u32, function: &str) -> DriverResult<()> {
    if flags & !allowed != 0 {
        return Err(DriverError::unsupported_flags(
            domains::SECRET,
            flags & !allowed,
            function,
        ));
    }
    Ok(())
}

/// Whether a secret passes the `VIR_CONNECT_LIST_SECRETS_*` filters.
fn matches(flags: u32, ephemeral: bool, private: bool) -> bool {
    let pick = |yes: u32, no: u32, value: bool| {
        flags & (yes | no) == 0 || (flags & yes != 0 && value) || (flags & no != 0 && !value)
    };
    pick(lf::EPHEMERAL, lf::NO_EPHEMERAL, ephemeral) && pick(lf::PRIVATE, lf::NO_PRIVATE, private)
}

impl SecretConnection for SecretConn {
    fn num_of_secrets(&self) -> DriverResult<i32> {
        Ok(self.0.handles().len() as i32)
    }

    fn list_secret_uuids(&self, max: usize) -> DriverResult<Vec<String>> {
        Ok(self
            .0
            .handles()
            .into_iter()
            .take(max)
            .map(|(h, _, _)| format_uuid(&h.uuid))
            .collect())
    }

    fn list_all_secrets(&self, flags: u32) -> DriverResult<Vec<SecretHandle>> {
        check_flags(flags, lf::ALL, "secretConnectListAllSecrets")?;
        Ok(self
            .0
            .handles()
            .into_iter()
            .filter(|(_, eph, private)| matches(flags, *eph, *private))
            .map(|(h, _, _)| h)
            .collect())
    }

    fn secret_lookup_by_uuid(&self, uuid: &Uuid) -> DriverResult<SecretHandle> {
        self.0.lookup_uuid(uuid)
    }

    fn secret_lookup_by_usage(&self, usage_type: i32, id: &str) -> DriverResult<SecretHandle> {
        self.0.lookup_usage(usage_type, id)
    }

    fn secret_define_xml(&self, xml: &str, flags: u32) -> DriverResult<SecretHandle> {
        check_flags(flags, 0, "secretDefineXML")?;
        self.0.define(xml)
    }

    fn secret_get_xml_desc(&self, secret: &SecretHandle, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "secretGetXMLDesc")?;
        self.0.xml_desc(&secret.uuid)
    }

    fn secret_set_value(
        &self,
        secret: &SecretHandle,
        value: &[u8],
        flags: u32,
    ) -> DriverResult<()> {
        check_flags(flags, 0, "secretSetValue")?;
        self.0.set_value(&secret.uuid, value)
    }

    fn secret_get_value(&self, secret: &SecretHandle, flags: u32) -> DriverResult<Vec<u8>> {
        check_flags(flags, 0, "secretGetValue")?;
        self.0.get_value(&secret.uuid)
    }

    fn secret_get_value_for_daemon(
        &self,
        secret: &SecretHandle,
        flags: u32,
    ) -> DriverResult<Vec<u8>> {
        check_flags(flags, 0, "secretGetValue")?;
        self.0.internal_value(&secret.uuid)
    }

    fn secret_undefine(&self, secret: &SecretHandle) -> DriverResult<()> {
        self.0.undefine(&secret.uuid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_combine_like_libvirt() {
        assert!(matches(0, true, false));
        assert!(matches(lf::EPHEMERAL, true, false));
        assert!(!matches(lf::EPHEMERAL, false, false));
        assert!(matches(lf::EPHEMERAL | lf::NO_EPHEMERAL, false, true));
        assert!(!matches(lf::NO_PRIVATE, false, true));
        assert!(matches(lf::NO_EPHEMERAL | lf::PRIVATE, false, true));
    }
}
