//! CPU model procedures: the model names a CPU driver knows (`virsh cpu-models`).

use std::sync::Arc;

use drivers::api::Connection;
use protocol::header::Header;
use protocol::remote::*;

use super::{drv, job, Action};

pub fn connect_get_cpu_model_names(
    conn: &Arc<dyn Connection>,
    h: &Header,
    a: ConnectGetCpuModelNamesArgs,
) -> Action {
    let conn = conn.clone();
    job(h, move || {
        drv(conn.cpu_model_names(&a.arch, a.flags)).map(|models| ConnectGetCpuModelNamesRet {
            ret: models.len() as i32,
            models: if a.need_results != 0 {
                models
            } else {
                Vec::new()
            },
        })
    })
}
