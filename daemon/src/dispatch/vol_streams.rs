//! `vol-upload` and `vol-download`: the call is answered once the volume is
//! open, then its bytes flow as STREAM messages (and STREAM_HOLE messages
//! for sparse transfers) between the client and a worker thread that reads
//! or writes the volume through the storage driver.
//!
//! Upload: the worker writes what the client sends; only the client's finish
//! completes the volume (the driver then replaces it), and is answered when
//! that is done. An abort or a disconnect drops the driver's writer, which
//! discards the partial data. Download: the worker sends data while the
//! client's queue has room (so a slow reader slows the disk, not the daemon's
//! memory), then an empty message at the end, and answers the client's finish.

use std::sync::Arc;

use drivers::api::{DriverError, StorageConnection, TransferChunk, VolumeHandle};
use protocol::frame;
use protocol::header::{Header, MessageType, Status};
use protocol::remote::STREAM_CHUNK_MAX;

use super::reply::{empty_reply, error_reply, from_driver};
use super::streams::{VolumeMessage, VolumeStream};
use super::{Action, Job, Session};
use crate::server::client::{Outgoing, OutgoingSender};

/// `VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM` / `VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM`.
const SPARSE_STREAM: u32 = 1;

fn stream_header(call: &Header, status: Status) -> Header {
    let mut h = *call;
    h.mtype = MessageType::Stream as u32;
    h.status = status as u32;
    h
}

fn stream_error(call: &Header, err: DriverError) -> Vec<u8> {
    frame::encode_message_with(&stream_header(call, Status::Error), &from_driver(err))
}

fn stream_ok(call: &Header) -> Vec<u8> {
    frame::encode_message(&stream_header(call, Status::Ok), &[])
}

pub struct Transfer {
    pub vol: VolumeHandle,
    pub offset: u64,
    pub length: u64,
    pub flags: u32,
}

pub fn upload(
    session: &mut Session,
    st: Arc<dyn StorageConnection>,
    h: &Header,
    t: Transfer,
) -> Action {
    let stream = session.streams.reserve_volume(h.serial);
    let out = session.sender();
    let header = *h;
    Action::Job(Job {
        header,
        run: Box::new(
            move || match st.vol_upload(&t.vol, t.offset, t.length, t.flags) {
                Err(e) => error_reply(&header, &from_driver(e)),
                Ok(writer) => {
                    let _ = out.send(Outgoing::Message(empty_reply(&header)));
                    std::thread::spawn(move || write_loop(writer, stream, header, out));
                    Vec::new()
                }
            },
        ),
    })
}

fn write_loop(
    mut writer: Box<dyn drivers::api::VolumeWriter>,
    stream: VolumeStream,
    header: Header,
    out: OutgoingSender,
) {
    while let Ok(message) = stream.rx.recv() {
        let result = match message {
            VolumeMessage::Data(bytes) => {
                let n = bytes.len();
                let r = writer.write(TransferChunk::Data(bytes));
                stream.consumed(n, &out);
                r
            }
            VolumeMessage::Hole(len) => writer.write(TransferChunk::Hole(len)),
            VolumeMessage::Finish => {
                let reply = match writer.finish() {
                    Ok(()) => stream_ok(&header),
                    Err(e) => stream_error(&header, e),
                };
                let _ = out.send(Outgoing::Message(reply));
                return;
            }
            VolumeMessage::Abort => return,
        };
        if let Err(e) = result {
            let _ = out.send(Outgoing::Message(stream_error(&header, e)));
            // Keep draining so the session's count of queued input falls.
            while let Ok(VolumeMessage::Data(bytes)) = stream.rx.recv() {
                stream.consumed(bytes.len(), &out);
            }
            return;
        }
    }
    // The client went away without finishing: dropping the writer discards it.
}

pub fn download(
    session: &mut Session,
    st: Arc<dyn StorageConnection>,
    h: &Header,
    t: Transfer,
) -> Action {
    let stream = session.streams.reserve_volume(h.serial);
    let out = session.sender();
    let header = *h;
    let runtime = tokio::runtime::Handle::current();
    Action::Job(Job {
        header,
        run: Box::new(
            move || match st.vol_download(&t.vol, t.offset, t.length, t.flags) {
                Err(e) => error_reply(&header, &from_driver(e)),
                Ok(reader) => {
                    let _ = out.send(Outgoing::Message(empty_reply(&header)));
                    let sparse = t.flags & SPARSE_STREAM != 0;
                    std::thread::spawn(move || {
                        read_loop(reader, stream, header, out, sparse, runtime)
                    });
                    Vec::new()
                }
            },
        ),
    })
}

fn read_loop(
    mut reader: Box<dyn drivers::api::VolumeReader>,
    stream: VolumeStream,
    header: Header,
    out: OutgoingSender,
    sparse: bool,
    runtime: tokio::runtime::Handle,
) {
    let data_header = stream_header(&header, Status::Continue);
    let mut hole_header = data_header;
    hole_header.mtype = MessageType::StreamHole as u32;
    loop {
        match stream.rx.try_recv() {
            Ok(VolumeMessage::Abort) | Err(std::sync::mpsc::TryRecvError::Disconnected) => return,
            _ => {}
        }
        if !out.stream_has_room() {
            runtime.block_on(out.stream_room());
            continue;
        }
        let message = match reader.next_chunk() {
            Ok(Some(TransferChunk::Data(bytes))) => {
                let mut message = Vec::new();
                for part in bytes.chunks(STREAM_CHUNK_MAX) {
                    message.extend(frame::encode_message(&data_header, part));
                }
                message
            }
            Ok(Some(TransferChunk::Hole(len))) if sparse => {
                frame::encode_message_with(&hole_header, &(len as i64, 0u32))
            }
            Ok(Some(TransferChunk::Hole(len))) => {
                // A client that did not ask for holes gets the zeros.
                let mut message = Vec::new();
                let mut left = len;
                let zeros = vec![0u8; STREAM_CHUNK_MAX];
                while left > 0 {
                    let n = left.min(zeros.len() as u64) as usize;
                    message.extend(frame::encode_message(&data_header, &zeros[..n]));
                    left -= n as u64;
                    if message.len() > 4 * STREAM_CHUNK_MAX {
                        if out
                            .send(Outgoing::Message(std::mem::take(&mut message)))
                            .is_err()
                        {
                            return;
                        }
                        if !out.stream_has_room() {
                            runtime.block_on(out.stream_room());
                        }
                    }
                }
                message
            }
            Ok(None) => {
                let _ = out.send(Outgoing::Message(frame::encode_message(&data_header, &[])));
                break;
            }
            Err(e) => {
                let _ = out.send(Outgoing::Message(stream_error(&header, e)));
                return;
            }
        };
        if !message.is_empty() && out.send(Outgoing::Message(message)).is_err() {
            return;
        }
    }
    // End of data: the client finishes the stream and gets its answer.
    if let Ok(VolumeMessage::Finish) = stream.rx.recv() {
        let _ = out.send(Outgoing::Message(stream_ok(&header)));
    }
}
