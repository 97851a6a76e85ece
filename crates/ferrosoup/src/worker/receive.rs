//! Reading datagrams, many per system call.
//!
//! On Linux a readable socket is drained with `recvmmsg(2)`, up to [`BATCH`] datagrams per call, into buffers kept for
//! the worker's life; elsewhere with one `recv_from` per datagram. Either way at most [`BATCH`] datagrams are read per
//! wake-up before the engine's output is flushed, which bounds the latency a burst adds to what it triggers.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::task::Poll;

use tokio::net::UdpSocket;

/// Datagrams read per wake-up.
pub(crate) const BATCH: usize = 32;
/// Larger than any datagram we accept (path MTU on a LAN is 1500; jumbo loopback tests stay under this).
const BUFFER: usize = 4096;

/// Receive buffers, reused for every read.
pub(crate) struct Receiver {
    buffers: Vec<u8>,
    /// Per datagram of the last read: (length, sender; `None` for a sender that is not an IP address).
    received: Vec<(usize, Option<SocketAddr>)>,
}

impl Receiver {
    pub fn new() -> Receiver {
        Receiver {
            // Zeroed pages are mapped lazily: an idle worker pays for what it has touched only.
            buffers: vec![0u8; BATCH * BUFFER],
            received: Vec::with_capacity(BATCH),
        }
    }

    /// Reads what socket `index` has waiting (up to [`BATCH`] datagrams) and hands each to `handle` with its sender;
    /// `handle` may modify the datagram in place.
    pub fn drain(
        &mut self,
        sockets: &[UdpSocket],
        index: usize,
        mut handle: impl FnMut(SocketAddr, &mut [u8]),
    ) {
        let Some(socket) = sockets.get(index) else {
            return;
        };
        self.read(socket);
        for (i, &(len, from)) in self.received.iter().enumerate() {
            let Some(from) = from else {
                continue;
            };
            if let Some(datagram) = self.buffers.get_mut(i * BUFFER..i * BUFFER + len) {
                handle(from, datagram);
            }
        }
    }

    #[cfg(target_os = "linux")]
    fn read(&mut self, socket: &UdpSocket) {
        use std::os::fd::AsRawFd;
        self.received.clear();
        let fd = socket.as_raw_fd();
        // Receive errors (ICMP reports on Linux) are consumed one per call; a few more calls read past them.
        for _ in 0..4 {
            let buffers = &mut self.buffers;
            let received = &mut self.received;
            match socket.try_io(tokio::io::Interest::READABLE, || {
                recvmmsg(fd, buffers, received)
            }) {
                Ok(_) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => continue,
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn read(&mut self, socket: &UdpSocket) {
        self.received.clear();
        let mut errors = 0;
        while self.received.len() < BATCH && errors < 4 {
            let i = self.received.len();
            let Some(buf) = self.buffers.get_mut(i * BUFFER..(i + 1) * BUFFER) else {
                return;
            };
            match socket.try_recv_from(buf) {
                Ok((len, from)) => self.received.push((len, Some(from))),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => errors += 1,
            }
        }
    }
}

/// Waits until any of `sockets` has something to read, looking from index `start` on (round robin, so one busy
/// socket cannot starve the others); returns its index.
pub(crate) async fn readable_any(sockets: &[UdpSocket], start: usize) -> usize {
    poll_fn(|cx| {
        let n = sockets.len();
        for index in (0..n).map(|i| (start + i) % n) {
            if let Some(Poll::Ready(Ok(()))) = sockets.get(index).map(|s| s.poll_recv_ready(cx)) {
                return Poll::Ready(index);
            }
        }
        Poll::Pending
    })
    .await
}

/// One `recvmmsg(2)` call into `buffers` (BATCH slots of BUFFER bytes); fills `received` with each datagram's length
/// and sender, and returns how many were read.
#[cfg(target_os = "linux")]
fn recvmmsg(
    fd: std::os::fd::RawFd,
    buffers: &mut [u8],
    received: &mut Vec<(usize, Option<SocketAddr>)>,
) -> std::io::Result<usize> {
    received.clear();
    let mut iov: [libc::iovec; BATCH] = std::array::from_fn(|_| libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    });
    // One pass over the buffer: every pointer comes from the same borrow.
    for (slot, chunk) in iov.iter_mut().zip(buffers.chunks_exact_mut(BUFFER)) {
        slot.iov_base = chunk.as_mut_ptr().cast();
        slot.iov_len = chunk.len();
    }
    let mut names: [socket2::SockAddrStorage; BATCH] =
        std::array::from_fn(|_| socket2::SockAddrStorage::zeroed());
    // SAFETY: a plain C struct for which all-zero is a valid value.
    let mut messages: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, message) in messages.iter_mut().enumerate() {
        // SockAddrStorage is a transparent wrapper of the C sockaddr_storage.
        message.msg_hdr.msg_name = (&mut names[i] as *mut socket2::SockAddrStorage).cast();
        message.msg_hdr.msg_namelen = names[i].size_of();
        message.msg_hdr.msg_iov = &mut iov[i];
        message.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: every header points at a buffer of `iov_len` bytes and an address slot that outlive the call; the
    // kernel writes at most that much into each and sets msg_len and msg_namelen.
    let n = unsafe {
        libc::recvmmsg(
            fd,
            messages.as_mut_ptr(),
            BATCH as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    for (message, name) in messages.iter().zip(names).take(n as usize) {
        let name_len = message.msg_hdr.msg_namelen.min(name.size_of());
        // SAFETY: the kernel filled `name` with an address of `msg_namelen` bytes, at most the storage's size.
        let addr = unsafe { socket2::SockAddr::new(name, name_len) };
        // A datagram larger than the buffer arrives cut, as with `recv_from`: it fails authentication (SRTP) or is
        // counted by its first bytes, like any other junk; only a clear plain transport's own sender could get its
        // cut packet forwarded.
        received.push(((message.msg_len as usize).min(BUFFER), addr.as_socket()));
    }
    Ok(n as usize)
}
