//! The `Connection` methods that only read the domain list, the same in every
//! driver. `list_queries!(inner.lock)` inside an `impl Connection` block
//! defines them on a connection that reaches its list as `self.inner.lock()`.

/// Defines `list_domain_ids`, `num_of_domains`, `list_defined_domains`,
/// `num_of_defined_domains`, the three lookups and the per-domain facts every
/// driver answers from its list alone (`get_autostart`, `is_active`,
/// `is_persistent`, `get_max_memory`).
macro_rules! list_queries {
    ($($lock:ident).+) => {
        fn list_domain_ids(&self, max: usize) -> $crate::api::DriverResult<Vec<i32>> {
            Ok(self.$($lock).+().active_ids(max))
        }

        fn num_of_domains(&self) -> $crate::api::DriverResult<i32> {
            Ok(self.$($lock).+().count(true))
        }

        fn list_defined_domains(&self, max: usize) -> $crate::api::DriverResult<Vec<String>> {
            Ok(self.$($lock).+().inactive_names(max))
        }

        fn num_of_defined_domains(&self) -> $crate::api::DriverResult<i32> {
            Ok(self.$($lock).+().count(false))
        }

        fn lookup_by_name(&self, name: &str) -> $crate::api::DriverResult<$crate::api::DomainHandle> {
            self.$($lock).+().lookup_by_name(name)
        }

        fn lookup_by_uuid(
            &self,
            uuid: &$crate::api::Uuid,
        ) -> $crate::api::DriverResult<$crate::api::DomainHandle> {
            self.$($lock).+().lookup_by_uuid(uuid)
        }

        fn lookup_by_id(&self, id: i32) -> $crate::api::DriverResult<$crate::api::DomainHandle> {
            self.$($lock).+().lookup_by_id(id)
        }

        fn get_autostart(&self, dom: &$crate::api::DomainRef) -> $crate::api::DriverResult<bool> {
            Ok(self.$($lock).+().get(dom)?.autostart)
        }

        fn is_active(&self, dom: &$crate::api::DomainRef) -> $crate::api::DriverResult<bool> {
            Ok(self.$($lock).+().get(dom)?.is_active())
        }

        fn is_persistent(&self, dom: &$crate::api::DomainRef) -> $crate::api::DriverResult<bool> {
            Ok(self.$($lock).+().get(dom)?.persistent)
        }

        fn get_max_memory(&self, dom: &$crate::api::DomainRef) -> $crate::api::DriverResult<u64> {
            Ok(self.$($lock).+().get(dom)?.def.max_memory_kib)
        }
    };
}

pub(crate) use list_queries;
