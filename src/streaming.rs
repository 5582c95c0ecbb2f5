//! Response bodies written by blocking code (poster bundles, XLSX exports): a
//! [`ChunkWriter`] is a `Write` whose bytes go, in chunks, down a bounded channel to a
//! streaming response, so that the writer waits for a slow client instead of buffering
//! for it, and stops when the client goes away.

use std::io::Write;

use actix_web::web::Bytes;
use futures_util::Stream;
use tokio::sync::mpsc::{Receiver, Sender, channel};

/// A piece of a response body; an `Err` aborts the response.
pub type Chunk = Result<Bytes, std::io::Error>;

/// Chunks written but not yet taken by the response: with [`ChunkWriter::CHUNK`], at
/// most a megabyte or so is held for a slow client.
const QUEUED_CHUNKS: usize = 4;

/// A writer and the response body it feeds (for `HttpResponse::streaming`). The writer
/// blocks while the body is full, so it must run on a blocking thread.
pub fn chunked() -> (ChunkWriter, impl Stream<Item = Chunk> + 'static) {
    let (sender, receiver) = channel(QUEUED_CHUNKS);
    let body = futures_util::stream::unfold(receiver, |mut receiver: Receiver<Chunk>| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let writer = ChunkWriter {
        sender,
        buffer: Vec::with_capacity(ChunkWriter::CHUNK),
    };
    (writer, body)
}

/// Sends what is written to the response in chunks of [`ChunkWriter::CHUNK`] bytes; call
/// `flush` at the end to send the rest. Writing fails with `BrokenPipe` once the client
/// has gone away.
pub struct ChunkWriter {
    sender: Sender<Chunk>,
    buffer: Vec<u8>,
}

impl ChunkWriter {
    /// Bytes per chunk.
    pub const CHUNK: usize = 256 * 1024;

    /// A way to abort the response after this writer has been handed to an encoder.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle(self.sender.clone())
    }

    fn send(&mut self) -> std::io::Result<()> {
        let chunk = Bytes::from(std::mem::take(&mut self.buffer));
        self.sender
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= Self::CHUNK {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            Ok(())
        } else {
            self.send()
        }
    }
}

/// Aborts a response whose body is being written: the status line has been sent long
/// before, so the client learns of the failure from a transfer that breaks off instead
/// of ending (no final chunk), never from a file that looks complete.
pub struct AbortHandle(Sender<Chunk>);

impl AbortHandle {
    /// Whether the response is gone (the client went away): nothing to abort.
    pub fn client_gone(&self) -> bool {
        self.0.is_closed()
    }

    /// Ends the body with an error (the cause is for the log, which the caller writes).
    pub fn abort(self, what: &'static str) {
        let _ = self.0.blocking_send(Err(std::io::Error::other(what)));
    }
}
