//! Encoding replies and the error bodies libvirtd sends.

use drivers::api::DriverError;
use protocol::error::{codes, domains, RemoteError};
use protocol::frame;
use protocol::header::{Header, Status};
use protocol::xdr::Xdr;

/// A successful reply carrying `ret`.
pub fn ok_reply<T: Xdr>(call: &Header, ret: &T) -> Vec<u8> {
    frame::encode_message_with(&call.reply_to(), ret)
}

/// A successful reply whose `count` descriptors follow it: REPLY_WITH_FDS
/// with the count word before `ret`, or a plain reply when there are none,
/// as libvirtd sends.
pub fn fds_reply<T: Xdr>(call: &Header, ret: &T, count: usize) -> Vec<u8> {
    if count == 0 {
        return ok_reply(call, ret);
    }
    let mut header = call.reply_to();
    header.mtype = protocol::header::MessageType::ReplyWithFds as u32;
    let mut body = (count as u32).to_be_bytes().to_vec();
    body.extend_from_slice(&protocol::xdr::to_bytes(ret));
    frame::encode_message(&header, &body)
}

/// An empty successful reply.
pub fn empty_reply(call: &Header) -> Vec<u8> {
    frame::encode_message(&call.reply_to(), &[])
}

pub fn error_reply(call: &Header, err: &RemoteError) -> Vec<u8> {
    let mut header = call.reply_to();
    header.status = Status::Error as u32;
    frame::encode_message_with(&header, err)
}

/// An error from the RPC layer itself (domain VIR_FROM_RPC), formatted like
/// libvirtd's: the template is "%s" and the detail is the whole message.
pub fn rpc_error(code: i32, message: &str) -> RemoteError {
    with_template(code, domains::RPC, message, "%s", message)
}

/// libvirtd's "internal error: <detail>" of the RPC layer, with its template.
pub fn rpc_internal(detail: &str) -> RemoteError {
    with_template(
        codes::INTERNAL_ERROR,
        domains::RPC,
        &format!("internal error: {detail}"),
        "internal error: %s",
        detail,
    )
}

/// libvirtd's "operation failed: <why>" of the RPC layer, with its template
/// (a client over its limit of event callbacks).
pub fn rpc_operation_failed(why: &dyn std::fmt::Display) -> RemoteError {
    let why = why.to_string();
    with_template(
        codes::OPERATION_FAILED,
        domains::RPC,
        &format!("operation failed: {why}"),
        "operation failed: %s",
        &why,
    )
}

pub fn with_template(code: i32, domain: i32, message: &str, str1: &str, str2: &str) -> RemoteError {
    let mut err = RemoteError::new(code, domain, message);
    err.str1 = Some(str1.to_string());
    err.str2 = Some(str2.to_string());
    err
}

pub fn from_driver(err: DriverError) -> RemoteError {
    let mut out = RemoteError::new(err.code, err.domain, err.message);
    out.str1 = err.str1;
    out.str2 = err.str2;
    out.int1 = err.int1;
    out.int2 = err.int2;
    out
}

/// Encodes the outcome of a handler: a value or the driver's error.
pub fn respond<T: Xdr>(call: &Header, result: Result<T, RemoteError>) -> Vec<u8> {
    match result {
        Ok(ret) => ok_reply(call, &ret),
        Err(err) => error_reply(call, &err),
    }
}
