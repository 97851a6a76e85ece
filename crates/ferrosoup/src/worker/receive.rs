//! Reading datagrams, many per system call.
//!
//! On Linux a readable socket is drained with `recvmmsg(2)`, up to [`BATCH`] datagrams per call, into buffers kept for
//! the worker's life; elsewhere with one `recv_from` per datagram. Either way at most [`BATCH`] datagrams are read per
//! wake-up before the engine's output is flushed, which bounds the latency a burst adds to what it triggers.
//!
//! Each datagram comes with its arrival time (nanoseconds of the wall clock): on Linux the kernel's receive timestamp
//! (`SO_TIMESTAMPNS`, set on every socket), so that the time it waited in the socket buffer counts; elsewhere, and
//! if the kernel gave none, the time of the read.

use std::future::poll_fn;
use std::net::SocketAddr;
use std::task::Poll;

use tokio::net::UdpSocket;

/// Datagrams read per wake-up.
pub(crate) const BATCH: usize = 32;
/// Larger than any datagram we accept (path MTU on a LAN is 1500; jumbo loopback tests stay under this).
const BUFFER: usize = 4096;

pub(crate) struct Received {
    len: usize,
    from: Option<SocketAddr>,
    /// Wall-clock nanoseconds.
    arrival: u64,
}

/// Receive buffers, reused for every read.
pub(crate) struct Receiver {
    buffers: Vec<u8>,
    /// Per datagram of the last read: length, sender (`None` for one that is not an IP address) and arrival.
    received: Vec<Received>,
}

impl Receiver {
    pub fn new() -> Receiver {
        Receiver {
            // Zeroed pages are mapped lazily: an idle worker pays for what it has touched only.
            buffers: vec![0u8; BATCH * BUFFER],
            received: Vec::with_capacity(BATCH),
        }
    }

    /// Reads what socket `index` has waiting, up to [`BATCH`] datagrams; returns how many (see [`Receiver::get`]).
    pub fn read_from(&mut self, sockets: &[Option<UdpSocket>], index: usize) -> usize {
        match sockets.get(index).and_then(Option::as_ref) {
            Some(socket) => self.read(socket),
            None => self.received.clear(),
        }
        self.received.len()
    }

    /// Datagram `i` of the last read, with its sender and arrival time; `None` for one whose sender is not an IP
    /// address. The caller may modify it in place.
    pub fn get(&mut self, i: usize) -> Option<(SocketAddr, &mut [u8], u64)> {
        let r = self.received.get(i)?;
        let from = r.from?;
        let datagram = self.buffers.get_mut(i * BUFFER..i * BUFFER + r.len)?;
        Some((from, datagram, r.arrival))
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
                // A short read found the socket empty, as the next call would by failing with EAGAIN: saying so
                // clears the readiness now, which saves each wake-up a loop turn and a system call. (tokio clears it
                // only if no event came since it was read, so a datagram that arrived meanwhile is not missed.)
                match recvmmsg(fd, buffers, received)? {
                    n if n < BATCH => Err(std::io::ErrorKind::WouldBlock.into()),
                    n => Ok(n),
                }
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
                Ok((len, from)) => self.received.push(Received {
                    len,
                    from: Some(from),
                    arrival: wall_clock_nanos(),
                }),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => errors += 1,
            }
        }
    }
}

/// Waits until any of `sockets` has something to read, looking from index `start` on (round robin, so one busy
/// socket cannot starve the others); returns its index. Empty slots are skipped.
pub(crate) async fn readable_any(sockets: &[Option<UdpSocket>], start: usize) -> usize {
    poll_fn(|cx| {
        let n = sockets.len();
        for index in (0..n).map(|i| (start + i) % n) {
            let socket = sockets.get(index).and_then(Option::as_ref);
            if let Some(Poll::Ready(Ok(()))) = socket.map(|s| s.poll_recv_ready(cx)) {
                return Poll::Ready(index);
            }
        }
        Poll::Pending
    })
    .await
}

/// One `recvmmsg(2)` call into `buffers` (BATCH slots of BUFFER bytes); fills `received` with each datagram's length,
/// sender and arrival, and returns how many were read.
#[cfg(target_os = "linux")]
fn recvmmsg(
    fd: std::os::fd::RawFd,
    buffers: &mut [u8],
    received: &mut Vec<Received>,
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
    // Room for one `SCM_TIMESTAMPNS` message each, aligned as cmsghdr needs (u64 ≥ size_t's alignment).
    let mut control = [[0u64; CONTROL_WORDS]; BATCH];
    // SAFETY: a plain C struct for which all-zero is a valid value.
    let mut messages: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    for (i, message) in messages.iter_mut().enumerate() {
        // SockAddrStorage is a transparent wrapper of the C sockaddr_storage.
        message.msg_hdr.msg_name = (&mut names[i] as *mut socket2::SockAddrStorage).cast();
        message.msg_hdr.msg_namelen = names[i].size_of();
        message.msg_hdr.msg_iov = &mut iov[i];
        message.msg_hdr.msg_iovlen = 1;
        message.msg_hdr.msg_control = control[i].as_mut_ptr().cast();
        message.msg_hdr.msg_controllen = std::mem::size_of_val(&control[i]) as _;
    }
    // SAFETY: every header points at a buffer of `iov_len` bytes, an address slot and a control buffer that outlive
    // the call; the kernel writes at most that much into each and sets msg_len, msg_namelen and msg_controllen.
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
    let read_at = wall_clock_nanos();
    for (message, name) in messages.iter().zip(names).take(n as usize) {
        let name_len = message.msg_hdr.msg_namelen.min(name.size_of());
        // SAFETY: the kernel filled `name` with an address of `msg_namelen` bytes, at most the storage's size.
        let addr = unsafe { socket2::SockAddr::new(name, name_len) };
        // A datagram larger than the buffer arrives cut, as with `recv_from`: it fails authentication (SRTP) or is
        // counted by its first bytes, like any other junk; only a clear plain transport's own sender could get its
        // cut packet forwarded.
        received.push(Received {
            len: (message.msg_len as usize).min(BUFFER),
            from: addr.as_socket(),
            arrival: kernel_timestamp(&message.msg_hdr).unwrap_or(read_at),
        });
    }
    Ok(n as usize)
}

/// u64 words of control buffer per datagram: a cmsghdr and a timespec, with room to spare.
#[cfg(target_os = "linux")]
const CONTROL_WORDS: usize = 8;

/// The `SCM_TIMESTAMPNS` of a received message, as wall-clock nanoseconds.
#[cfg(target_os = "linux")]
fn kernel_timestamp(header: &libc::msghdr) -> Option<u64> {
    // SAFETY: `header` is one the kernel just filled in: msg_control/msg_controllen describe our control buffer and
    // the messages it wrote into it, which the CMSG macros walk within those bounds.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(header);
        while !cmsg.is_null() {
            let whole = libc::CMSG_LEN(std::mem::size_of::<libc::timespec>() as u32) as usize;
            if (*cmsg).cmsg_level == libc::SOL_SOCKET
                && (*cmsg).cmsg_type == libc::SCM_TIMESTAMPNS
                && (*cmsg).cmsg_len as usize >= whole
            {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                return u64::try_from(ts.tv_sec)
                    .ok()?
                    .checked_mul(1_000_000_000)?
                    .checked_add(u64::try_from(ts.tv_nsec).ok()?);
            }
            cmsg = libc::CMSG_NXTHDR(header, cmsg);
        }
    }
    None
}

/// Nanoseconds since the Unix epoch: the clock the kernel's receive timestamps use.
pub(crate) fn wall_clock_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::transport::ListenInfo;

    /// A socket bound as the worker binds its own, its address, and a socket to send to it from.
    fn worker_socket_and_sender() -> (std::net::UdpSocket, SocketAddr, std::net::UdpSocket) {
        let info = ListenInfo {
            ip: std::net::Ipv4Addr::LOCALHOST.into(),
            announced_address: None,
            port: 0,
        };
        let (socket, local) = crate::worker::bind_plain(&info).expect("bind");
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind sender");
        (socket, local, sender)
    }

    /// The arrival is when the kernel got the datagram, not when the worker read it: time spent waiting in the socket
    /// buffer counts as the worker's.
    #[tokio::test]
    async fn arrival_is_the_kernel_receive_time() {
        let (socket, local, sender) = worker_socket_and_sender();
        // The kernel turns receive timestamping on for the whole stack from a deferred work item.
        std::thread::sleep(std::time::Duration::from_millis(100));
        sender.send_to(b"hello", local).expect("send");
        let sent = wall_clock_nanos();
        std::thread::sleep(std::time::Duration::from_millis(50));

        let sockets = [Some(
            tokio::net::UdpSocket::from_std(socket).expect("register"),
        )];
        let index = readable_any(&sockets, 0).await;
        let mut receiver = Receiver::new();
        assert_eq!(receiver.read_from(&sockets, index), 1);
        let read = wall_clock_nanos();
        let (from, data, arrival) = receiver.get(0).expect("a datagram");
        assert_eq!(from, sender.local_addr().expect("address"));
        assert_eq!(data, b"hello");
        let arrival = &arrival;
        assert!(*arrival <= sent, "stamped at {arrival}, sent by {sent}");
        assert!(
            read - arrival >= 50_000_000,
            "waited only {} ns",
            read - arrival
        );
    }

    /// A short read clears the readiness without another system call, and nothing sent afterwards is missed; a full
    /// batch leaves it set, since more may wait.
    #[tokio::test]
    async fn short_reads_clear_readiness_and_miss_nothing() {
        let (socket, local, sender) = worker_socket_and_sender();
        let sockets = [Some(
            tokio::net::UdpSocket::from_std(socket).expect("register"),
        )];
        let mut receiver = Receiver::new();
        let is_readable = |sockets: &[Option<tokio::net::UdpSocket>]| {
            let waker = std::task::Waker::noop();
            let mut cx = std::task::Context::from_waker(waker);
            sockets[0]
                .as_ref()
                .is_some_and(|s| s.poll_recv_ready(&mut cx).is_ready())
        };
        let wait = std::time::Duration::from_secs(5);

        for i in 0..BATCH + 5 {
            sender.send_to(&[i as u8], local).expect("send");
        }
        let index = tokio::time::timeout(wait, readable_any(&sockets, 0))
            .await
            .expect("readable");
        assert_eq!(receiver.read_from(&sockets, index), BATCH);
        assert!(
            is_readable(&sockets),
            "a full batch leaves the socket readable"
        );
        assert_eq!(receiver.read_from(&sockets, index), 5);
        assert!(!is_readable(&sockets), "a short read clears the readiness");

        sender.send_to(b"later", local).expect("send");
        let index = tokio::time::timeout(wait, readable_any(&sockets, 0))
            .await
            .expect("woken again");
        assert_eq!(receiver.read_from(&sockets, index), 1);
        assert_eq!(
            receiver.get(0).map(|(_, data, _)| data.to_vec()),
            Some(b"later".to_vec())
        );
    }
}
