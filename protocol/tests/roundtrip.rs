//! Randomized round trips: encode, decode, compare; encodings are always a
//! multiple of four bytes and decoding consumes exactly what was written.

mod common;

use common::rng::Rng;
use protocol::admin::{AdminClientRef, AdminServerRef, ServerListClientsRet};
use protocol::frame::{encode_message, FrameDecoder};
use protocol::remote::{
    CharArray, ConnectListAllDomainsRet, ConnectOpenArgs, DomainEventCallbackLifecycleMsg,
    DomainGetInfoRet, DomainGetSecurityLabelListRet, DomainGetSecurityLabelRet, NodeGetInfoRet,
    NonnullDomain,
};
use protocol::xdr::{from_bytes_exact, to_bytes, Xdr};
use protocol::{Header, RemoteError, TypedParam, TypedParamValue};
use std::fmt::Debug;

const ROUNDS: usize = 2_000;

fn check<T: Xdr + PartialEq + Debug>(v: &T) {
    let bytes = to_bytes(v);
    assert!(
        bytes.len().is_multiple_of(4),
        "{v:?} encoded to {} bytes",
        bytes.len()
    );
    assert_eq!(&from_bytes_exact::<T>(&bytes).unwrap(), v);
}

fn opt_string(rng: &mut Rng) -> Option<String> {
    (rng.below(3) > 0).then(|| rng.string())
}

fn domain(rng: &mut Rng) -> NonnullDomain {
    NonnullDomain {
        name: rng.string(),
        uuid: rng.uuid(),
        id: rng.next_u32() as i32,
    }
}

fn typed_param(rng: &mut Rng) -> TypedParam {
    let value = match rng.below(7) {
        0 => TypedParamValue::Int(rng.next_u32() as i32),
        1 => TypedParamValue::UInt(rng.next_u32()),
        2 => TypedParamValue::LLong(rng.next_u64() as i64),
        3 => TypedParamValue::ULLong(rng.next_u64()),
        // Finite doubles only: NaN never compares equal.
        4 => TypedParamValue::Double(rng.next_u32() as f64 / 7.0),
        5 => TypedParamValue::Boolean(rng.below(2) as i32),
        _ => TypedParamValue::String(rng.string()),
    };
    TypedParam::new(rng.string(), value)
}

#[test]
fn primitives_round_trip() {
    let mut rng = Rng::new(1);
    for _ in 0..ROUNDS {
        check(&rng.next_u32());
        check(&(rng.next_u32() as i32));
        check(&rng.next_u64());
        check(&(rng.next_u64() as i64));
        check(&f64::from_bits(rng.next_u64() & !(0x7ff << 52)));
        check(&(rng.below(2) == 1));
        check(&rng.string());
        check(&opt_string(&mut rng));
        check(&rng.uuid());
    }
}

#[test]
fn remote_types_round_trip() {
    let mut rng = Rng::new(2);
    for _ in 0..ROUNDS {
        check(&ConnectOpenArgs {
            name: opt_string(&mut rng),
            flags: rng.next_u32(),
        });
        let n = rng.below(5);
        check(&ConnectListAllDomainsRet {
            domains: (0..n).map(|_| domain(&mut rng)).collect(),
            ret: n as u32,
        });
        check(&DomainGetInfoRet {
            state: rng.next_u32() as u8,
            max_mem: rng.next_u64(),
            memory: rng.next_u64(),
            nr_virt_cpu: rng.next_u32() as u16,
            cpu_time: rng.next_u64(),
        });
        let mut model = [0u8; 32];
        model.copy_from_slice(&rng.bytes(32));
        check(&NodeGetInfoRet {
            model,
            memory: rng.next_u64(),
            cpus: 1,
            mhz: rng.next_u32() as i32,
            nodes: 1,
            sockets: 2,
            cores: 3,
            threads: 4,
        });
        check(&DomainGetSecurityLabelListRet {
            labels: (0..rng.below(3))
                .map(|_| DomainGetSecurityLabelRet {
                    label: CharArray(rng.bytes_below(9)),
                    enforcing: rng.below(2) as i32,
                })
                .collect(),
            ret: 0,
        });
        check(&DomainEventCallbackLifecycleMsg {
            callback_id: rng.next_u32() as i32,
            dom: domain(&mut rng),
            event: rng.below(9) as i32,
            detail: rng.below(9) as i32,
        });
        check(&typed_param(&mut rng));
        check(&RemoteError {
            code: rng.below(111) as i32,
            domain: rng.below(73) as i32,
            message: opt_string(&mut rng),
            level: 2,
            str1: opt_string(&mut rng),
            str2: opt_string(&mut rng),
            str3: opt_string(&mut rng),
            int1: -1,
            int2: rng.next_u32() as i32,
        });
    }
}

#[test]
fn admin_types_round_trip() {
    let mut rng = Rng::new(3);
    for _ in 0..ROUNDS {
        let n = rng.below(4);
        check(&ServerListClientsRet {
            clients: (0..n)
                .map(|_| AdminClientRef {
                    srv: AdminServerRef { name: rng.string() },
                    id: rng.next_u64(),
                    timestamp: rng.next_u64() as i64,
                    transport: rng.below(3) as u32,
                })
                .collect(),
            ret: n as u32,
        });
    }
}

#[test]
fn frame_decoder_reassembles_random_splits() {
    let mut rng = Rng::new(4);
    for _ in 0..200 {
        let msgs: Vec<Vec<u8>> = (0..1 + rng.below(5))
            .map(|i| {
                let h = Header {
                    prog: rng.next_u32(),
                    vers: 1,
                    proc_: rng.next_u32() as i32,
                    mtype: rng.below(7) as u32,
                    serial: i as u32,
                    status: 0,
                };
                encode_message(&h, &rng.bytes_below(64))
            })
            .collect();
        let wire: Vec<u8> = msgs.concat();
        let mut dec = FrameDecoder::new();
        let mut got = Vec::new();
        let mut pos = 0;
        while pos < wire.len() {
            let end = (pos + 1 + rng.below(40)).min(wire.len());
            dec.push(&wire[pos..end]);
            pos = end;
            while let Some(m) = dec.next_message().unwrap() {
                got.push(m.to_wire());
            }
        }
        assert_eq!(got, msgs);
        assert_eq!(dec.buffered(), 0);
    }
}
