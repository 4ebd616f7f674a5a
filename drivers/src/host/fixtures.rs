//! Fake sysfs/procfs trees for the host module's tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use super::sysfs::HostRoots;

/// A temporary directory holding `sys/` and `proc/` trees; removed on drop.
pub(crate) struct FakeHost {
    pub(crate) dir: PathBuf,
    pub(crate) roots: HostRoots,
}

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

impl FakeHost {
    pub(crate) fn new() -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("host-fixture-{}-{id}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create fixture dir");
        let roots = HostRoots {
            sysfs: dir.join("sys"),
            procfs: dir.join("proc"),
        };
        FakeHost { dir, roots }
    }

    /// Writes `content` to `rel` (relative to the fixture directory), creating parents.
    pub(crate) fn write(&self, rel: &str, content: &str) {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create fixture parent");
        }
        std::fs::write(&path, content).expect("write fixture file");
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// One CPU's topology files.
    pub(crate) fn cpu(&self, cpu: u32, socket: i32, die: i32, core: u32, siblings: &str) {
        let base = format!("sys/devices/system/cpu/cpu{cpu}/topology");
        self.write(
            &format!("{base}/physical_package_id"),
            &format!("{socket}\n"),
        );
        self.write(&format!("{base}/die_id"), &format!("{die}\n"));
        self.write(&format!("{base}/core_id"), &format!("{core}\n"));
        self.write(
            &format!("{base}/thread_siblings_list"),
            &format!("{siblings}\n"),
        );
    }

    /// A NUMA node with its CPUs, memory, distances and huge page pools.
    pub(crate) fn node(&self, node: u32, cpulist: &str, mem_kib: u64, distance: &str) {
        let base = format!("sys/devices/system/node/node{node}");
        self.write(&format!("{base}/cpulist"), &format!("{cpulist}\n"));
        self.write(
            &format!("{base}/meminfo"),
            &format!(
                "Node {node} MemTotal:       {mem_kib} kB\nNode {node} MemFree:        1000 kB\n"
            ),
        );
        self.write(&format!("{base}/distance"), &format!("{distance}\n"));
        for (size, count) in [(2048, 0), (1_048_576, 0)] {
            self.write(
                &format!("{base}/hugepages/hugepages-{size}kB/nr_hugepages"),
                &format!("{count}\n"),
            );
        }
        for node_cpu in super::sysfs::parse_cpu_list(cpulist).expect("fixture cpulist") {
            self.write(&format!("{base}/cpu{node_cpu}/online"), "1\n");
        }
    }

    /// A two-socket host: node N holds socket N with two cores of two threads each
    /// (CPUs 4N..4N+3), 8 CPUs online, 2 GiB per node, 2M and 1G huge pages, one L3 cache
    /// per socket.
    pub(crate) fn two_node_host() -> FakeHost {
        let host = FakeHost::new();
        host.write("sys/devices/system/cpu/present", "0-7\n");
        host.write("sys/devices/system/cpu/online", "0-7\n");
        for cpu in 0..8u32 {
            let socket = cpu / 4;
            let core = (cpu % 4) / 2;
            let first = cpu - cpu % 2;
            host.cpu(
                cpu,
                socket as i32,
                0,
                core,
                &format!("{first}-{}", first + 1),
            );
            let cache = format!("sys/devices/system/cpu/cpu{cpu}/cache");
            host.write(&format!("{cache}/index0/level"), "1\n");
            host.write(&format!("{cache}/index0/id"), &format!("{}\n", cpu / 2));
            host.write(&format!("{cache}/index0/type"), "Data\n");
            host.write(&format!("{cache}/index0/size"), "32K\n");
            host.write(
                &format!("{cache}/index0/shared_cpu_list"),
                &format!("{first}-{}\n", first + 1),
            );
            host.write(&format!("{cache}/index3/level"), "3\n");
            host.write(&format!("{cache}/index3/id"), &format!("{socket}\n"));
            host.write(&format!("{cache}/index3/type"), "Unified\n");
            host.write(&format!("{cache}/index3/size"), "16384K\n");
            host.write(
                &format!("{cache}/index3/shared_cpu_list"),
                &format!("{}-{}\n", socket * 4, socket * 4 + 3),
            );
        }
        host.node(0, "0-3", 2_097_152, "10 21");
        host.node(1, "4-7", 2_097_152, "21 10");
        host.write(
            "sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages",
            "16\n",
        );
        for size in [2048, 1_048_576] {
            host.write(
                &format!("sys/kernel/mm/hugepages/hugepages-{size}kB/nr_hugepages"),
                "0\n",
            );
        }
        host.write("proc/cpuinfo", &fake_cpuinfo(8));
        host.write(
            "proc/meminfo",
            "MemTotal:        4194304 kB\nMemFree:  1 kB\n",
        );
        host
    }
}

impl Drop for FakeHost {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An x86 /proc/cpuinfo with `cpus` processor blocks; the last block reports 2400.900 MHz.
pub(crate) fn fake_cpuinfo(cpus: u32) -> String {
    let mut text = String::new();
    for cpu in 0..cpus {
        let mhz = if cpu + 1 == cpus {
            "2400.900"
        } else {
            "2100.000"
        };
        text.push_str(&format!(
            "processor\t: {cpu}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 85\n\
             model name\t: Intel(R) Xeon(R) Gold\nstepping\t: 7\nmicrocode\t: 0x5003604\n\
             cpu MHz\t\t: {mhz}\ncache size\t: 16384 KB\nflags\t\t: fpu vme de pse tsc \
             constant_tsc nonstop_tsc vmx\naddress sizes\t: 46 bits physical, 48 bits virtual\n\n"
        ));
    }
    text
}
