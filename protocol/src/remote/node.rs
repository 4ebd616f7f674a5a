//! Host (node) information procedures.

use super::chars::{decode_fixed_chars, encode_fixed_chars};
use super::limits::{
    NODE_CPU_STATS_MAX, NODE_MAX_CELLS, NODE_MEMORY_STATS_MAX, SECURITY_DOI_MAX, SECURITY_MODEL_MAX,
};
use super::CharArray;
use crate::xdr::{Decoder, Xdr, XdrError};
use crate::xdr_struct;

/// NODE_GET_INFO reply. `model` is a fixed `char[32]`: 32 words on the wire,
/// NUL-padded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeGetInfoRet {
    pub model: [u8; 32],
    /// KiB.
    pub memory: u64,
    pub cpus: i32,
    pub mhz: i32,
    pub nodes: i32,
    pub sockets: i32,
    pub cores: i32,
    pub threads: i32,
}

impl NodeGetInfoRet {
    /// Builds the `model` field from text, truncated to 31 bytes + NUL.
    pub fn model_from_str(text: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        let n = text.len().min(31);
        out[..n].copy_from_slice(&text.as_bytes()[..n]);
        out
    }

    /// The `model` text up to its first NUL.
    pub fn model_text(&self) -> String {
        CharArray(self.model.to_vec()).text()
    }
}

impl Xdr for NodeGetInfoRet {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_fixed_chars(&self.model, out);
        self.memory.encode(out);
        for v in [
            self.cpus,
            self.mhz,
            self.nodes,
            self.sockets,
            self.cores,
            self.threads,
        ] {
            v.encode(out);
        }
    }

    fn decode(d: &mut Decoder<'_>) -> Result<Self, XdrError> {
        Ok(NodeGetInfoRet {
            model: decode_fixed_chars::<32>(d)?,
            memory: d.u64()?,
            cpus: d.i32()?,
            mhz: d.i32()?,
            nodes: d.i32()?,
            sockets: d.i32()?,
            cores: d.i32()?,
            threads: d.i32()?,
        })
    }
}

xdr_struct! {
    pub struct NodeGetFreeMemoryRet {
        /// Bytes.
        pub free_mem: u64,
    }
}

xdr_struct! {
    pub struct NodeGetCellsFreeMemoryArgs {
        pub start_cell: i32,
        pub maxcells: i32,
    }
}

xdr_struct! {
    pub struct NodeGetCellsFreeMemoryRet {
        pub cells: Vec<u64> [NODE_MAX_CELLS],
    }
}

xdr_struct! {
    /// NODE_GET_SECURITY_MODEL reply; both fields include the trailing NUL.
    pub struct NodeGetSecurityModelRet {
        pub model: CharArray [SECURITY_MODEL_MAX],
        pub doi: CharArray [SECURITY_DOI_MAX],
    }
}

xdr_struct! {
    /// One `{field, value}` entry of the CPU and memory statistics replies.
    pub struct NodeStatsEntry {
        pub field: String,
        pub value: u64,
    }
}

xdr_struct! {
    pub struct NodeGetCpuStatsArgs {
        pub cpu_num: i32,
        pub nparams: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeGetCpuStatsRet {
        pub params: Vec<NodeStatsEntry> [NODE_CPU_STATS_MAX],
        pub nparams: i32,
    }
}

xdr_struct! {
    pub struct NodeGetMemoryStatsArgs {
        pub nparams: i32,
        pub cell_num: i32,
        pub flags: u32,
    }
}

xdr_struct! {
    pub struct NodeGetMemoryStatsRet {
        pub params: Vec<NodeStatsEntry> [NODE_MEMORY_STATS_MAX],
        pub nparams: i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xdr::{from_bytes, to_bytes};

    #[test]
    fn node_info_is_160_bytes() {
        let info = NodeGetInfoRet {
            model: NodeGetInfoRet::model_from_str("x86_64"),
            memory: 1 << 20,
            cpus: 4,
            mhz: 2000,
            nodes: 1,
            sockets: 1,
            cores: 4,
            threads: 1,
        };
        let bytes = to_bytes(&info);
        assert_eq!(bytes.len(), 160);
        assert_eq!(&bytes[..8], &[0, 0, 0, b'x', 0, 0, 0, b'8']);
        let back: NodeGetInfoRet = from_bytes(&bytes).unwrap();
        assert_eq!(back.model_text(), "x86_64");
        assert_eq!(back, info);
    }
}
