//! Datagrams waiting to be sent, and the pool of buffers they are written into.
//!
//! Buffers go back to the pool after the driver sends them, so the steady state allocates nothing per packet.

use std::collections::VecDeque;
use std::net::SocketAddr;

/// Enough for a full-MTU RTP packet plus SRTP/SRTCP overhead.
const BUFFER_CAPACITY: usize = 1600;
/// Buffers kept for reuse; more than this in flight at once are simply freed.
const POOL_LIMIT: usize = 4096;

/// One datagram to send from socket `socket` to `to`.
pub(crate) struct Datagram {
    pub socket: usize,
    pub to: SocketAddr,
    pub data: Vec<u8>,
}

#[derive(Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Datagram>,
    pool: Vec<Vec<u8>>,
}

impl Outbox {
    /// An empty buffer from the pool.
    pub fn buffer(&mut self) -> Vec<u8> {
        self.pool
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(BUFFER_CAPACITY))
    }

    pub fn push(&mut self, socket: usize, to: SocketAddr, data: Vec<u8>) {
        self.queue.push_back(Datagram { socket, to, data });
    }

    /// Copies `bytes` into a pooled buffer and queues it.
    pub fn push_copy(&mut self, socket: usize, to: SocketAddr, bytes: &[u8]) {
        let mut data = self.buffer();
        data.extend_from_slice(bytes);
        self.push(socket, to, data);
    }

    /// Lets `write` fill a pooled buffer of `size` bytes and queues the first `n` bytes it reports; a `None` (nothing
    /// to send, or the packet could not be built) puts the buffer back.
    pub fn push_with(
        &mut self,
        socket: usize,
        to: SocketAddr,
        size: usize,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) -> bool {
        let mut data = self.buffer();
        data.resize(size, 0);
        match write(&mut data) {
            Some(n) if n <= data.len() => {
                data.truncate(n);
                self.push(socket, to, data);
                true
            }
            _ => {
                self.recycle(data);
                false
            }
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn pop(&mut self) -> Option<Datagram> {
        self.queue.pop_front()
    }

    pub fn recycle(&mut self, mut data: Vec<u8>) {
        if self.pool.len() < POOL_LIMIT && data.capacity() >= BUFFER_CAPACITY {
            data.clear();
            self.pool.push(data);
        }
    }
}
