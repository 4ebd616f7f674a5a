//! Array and string limits of the remote program (libvirt 9.0 values).
//! Decoding checks these before allocating.

pub const DOMAIN_LIST_MAX: usize = 16_384;
pub const NETWORK_LIST_MAX: usize = 16_384;
pub const INTERFACE_LIST_MAX: usize = 16_384;
pub const STORAGE_POOL_LIST_MAX: usize = 16_384;
pub const STORAGE_VOL_LIST_MAX: usize = 16_384;
pub const NODE_DEVICE_LIST_MAX: usize = 65_536;
pub const SECRET_LIST_MAX: usize = 16_384;
pub const NWFILTER_LIST_MAX: usize = 16_384;
pub const AUTH_TYPE_LIST_MAX: usize = 20;
pub const NODE_MAX_CELLS: usize = 1_024;
pub const NODE_CPU_STATS_MAX: usize = 16;
pub const NODE_MEMORY_STATS_MAX: usize = 16;
pub const SECURITY_MODEL_MAX: usize = 257;
pub const SECURITY_LABEL_MAX: usize = 4_097;
pub const SECURITY_DOI_MAX: usize = 257;
pub const SECURITY_LABEL_LIST_MAX: usize = 64;
pub const DOMAIN_MESSAGES_MAX: usize = 2_048;
pub const DOMAIN_SCHEDULER_PARAMETERS_MAX: usize = 16;
pub const DOMAIN_MEMORY_PARAMETERS_MAX: usize = 16;
pub const DOMAIN_JOB_STATS_MAX: usize = 64;
pub const DOMAIN_EVENT_TUNABLE_MAX: usize = 2_048;
pub const DOMAIN_EVENT_GRAPHICS_IDENTITY_MAX: usize = 20;
pub const CPUMAP_MAX: usize = 2_048;
pub const VCPUINFO_MAX: usize = 16_384;
pub const CPUMAPS_MAX: usize = 8_388_608;
