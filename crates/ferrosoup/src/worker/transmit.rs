//! Sending the engine's queued datagrams, many per system call.
//!
//! An SFU sends one packet per consumer for every packet it receives, each to a different address, so the cost of a
//! fan-out is dominated by the kernel's per-call overhead. On Linux the queue goes out with `sendmmsg(2)`, up to
//! [`BATCH`] datagrams per call; elsewhere (macOS and Windows, where Tauri apps also run) one `send_to` per datagram.
//! UDP GSO is not used: it needs every segment of a call to go to the same address, which fan-out never gives.
//! A worker socket's datagrams leave from its send twin where it has one (`sockets.rs`), so that freeing them wakes
//! no epoll entry.
//!
//! The transmitter also measures the worker's latency: the driver tells it how many datagrams each input caused and
//! when that input arrived, and once the kernel has taken a datagram its time in the worker is recorded
//! (`latency.rs`). Datagrams of timers and commands are not measured.

use std::collections::VecDeque;

use tokio::net::UdpSocket;

use crate::engine::{Datagram, Engine};
use crate::worker::receive::wall_clock_nanos;
use crate::worker::LatencyHistogram;

/// Datagrams per `sendmmsg` call: one incoming packet's fan-out to a room of this size fits in one call.
pub(crate) const BATCH: usize = 64;

/// Reused between flushes so that sending allocates nothing.
pub(crate) struct Transmitter {
    batch: Vec<Datagram>,
    /// When the input that caused each datagram of `batch` arrived (wall-clock ns; 0: not measured).
    arrivals: Vec<u64>,
    /// The inputs of this step, in the order the engine queued their output: (datagrams caused, arrival).
    causes: VecDeque<(usize, u64)>,
}

impl Transmitter {
    pub fn new() -> Transmitter {
        Transmitter {
            batch: Vec::with_capacity(BATCH),
            arrivals: Vec::with_capacity(BATCH),
            causes: VecDeque::with_capacity(2 * super::receive::BATCH),
        }
    }

    /// Notes that the input handled last (arrived at `arrival`) queued `datagrams` datagrams after the ones noted
    /// before. Called for every input of a step, so that the next flush can pair datagrams with arrivals.
    pub fn caused(&mut self, datagrams: usize, arrival: u64) {
        if datagrams > 0 {
            self.causes.push_back((datagrams, arrival));
        }
    }

    /// The arrival of the input that caused the next datagram of the engine's queue.
    fn next_arrival(&mut self) -> u64 {
        let Some((left, arrival)) = self.causes.front_mut() else {
            return 0;
        };
        let arrival = *arrival;
        *left -= 1;
        if *left == 0 {
            self.causes.pop_front();
        }
        arrival
    }

    /// Sends everything the engine has queued, in order, and gives the buffers back to the engine's pool. A datagram
    /// that cannot be sent (no route, socket error) is dropped, as UDP would; a full socket buffer is waited out.
    pub async fn flush(
        &mut self,
        engine: &mut Engine,
        sockets: &[Option<UdpSocket>],
        twins: &[Option<std::net::UdpSocket>],
    ) {
        let mut carry = engine.poll_transmit();
        while let Some(first) = carry.take() {
            let socket_index = first.socket;
            self.push(first);
            while self.batch.len() < BATCH {
                match engine.poll_transmit() {
                    Some(next) if next.socket == socket_index => self.push(next),
                    other => {
                        carry = other;
                        break;
                    }
                }
            }
            if let Some(socket) = sockets.get(socket_index).and_then(Option::as_ref) {
                let twin = twins.get(socket_index).and_then(Option::as_ref);
                self.send_batch(socket, twin, engine.latency_mut()).await;
            }
            self.arrivals.clear();
            for datagram in self.batch.drain(..) {
                engine.recycle(datagram);
            }
            if carry.is_none() {
                carry = engine.poll_transmit();
            }
        }
        // Everything noted was queued, so this is empty unless a step's count went wrong; never carry it over.
        self.causes.clear();
    }

    fn push(&mut self, datagram: Datagram) {
        let arrival = self.next_arrival();
        self.arrivals.push(arrival);
        self.batch.push(datagram);
    }

    /// Records how long the datagrams `range` of the batch, just taken by the kernel, were in the worker.
    fn record(&self, range: std::ops::Range<usize>, latency: &mut LatencyHistogram) {
        let Some(arrivals) = self.arrivals.get(range) else {
            return;
        };
        if arrivals.iter().all(|&a| a == 0) {
            return;
        }
        let now = wall_clock_nanos();
        for &arrival in arrivals.iter().filter(|&&a| a != 0) {
            latency.record(now.saturating_sub(arrival));
        }
    }

    /// Sends the batch from `twin` (the socket's send twin, `sockets.rs`) where there is one, else from `socket`.
    /// A full buffer is waited out on `socket`, which the runtime watches: the twin's own buffer filling up sends the
    /// rest from there.
    #[cfg(target_os = "linux")]
    async fn send_batch(
        &mut self,
        socket: &UdpSocket,
        twin: Option<&std::net::UdpSocket>,
        latency: &mut LatencyHistogram,
    ) {
        use std::os::fd::AsRawFd;
        let fd = socket.as_raw_fd();
        let mut twin = twin;
        let mut done = 0;
        while done < self.batch.len() {
            let pending = &self.batch[done..];
            let sent = match (twin, pending) {
                (Some(twin), [one]) => twin.send_to(&one.data, one.to).map(|_| 1),
                (Some(twin), _) => sendmmsg(twin.as_raw_fd(), pending),
                // One datagram (a plain transport's socket gets one per incoming packet): no batch to set up.
                (None, [one]) => socket.try_send_to(&one.data, one.to).map(|_| 1),
                (None, _) => socket.try_io(tokio::io::Interest::WRITABLE, || sendmmsg(fd, pending)),
            };
            match sent {
                Ok(sent) => {
                    let sent = sent.max(1);
                    self.record(done..done + sent, latency);
                    done += sent;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if twin.take().is_some() {
                        continue;
                    }
                    if socket.writable().await.is_err() {
                        return;
                    }
                }
                // Larger than the twin lets leave whole (it never fragments: `sockets.rs`): the socket itself may.
                Err(e) if twin.is_some() && e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    let one = &pending[0];
                    match socket.try_send_to(&one.data, one.to) {
                        Ok(_) => self.record(done..done + 1, latency),
                        Err(e) => tracing::trace!("send to {} failed: {e}", one.to),
                    }
                    done += 1;
                }
                Err(e) => {
                    // sendmmsg fails only when its first datagram fails: drop that one and go on with the rest.
                    tracing::trace!("send to {} failed: {e}", pending[0].to);
                    done += 1;
                }
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    async fn send_batch(
        &mut self,
        socket: &UdpSocket,
        _twin: Option<&std::net::UdpSocket>,
        latency: &mut LatencyHistogram,
    ) {
        for (i, datagram) in self.batch.iter().enumerate() {
            let sent = match socket.try_send_to(&datagram.data, datagram.to) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    socket.send_to(&datagram.data, datagram.to).await
                }
                other => other,
            };
            match sent {
                Ok(_) => self.record(i..i + 1, latency),
                Err(e) => tracing::trace!("send to {} failed: {e}", datagram.to),
            }
        }
    }
}

/// One `sendmmsg(2)` call for up to [`BATCH`] datagrams; returns how many the kernel took.
///
/// Only the entries in use are written, with each family's own C address: zeroing all [`BATCH`] headers and 132-byte
/// `SockAddr`s cost 13 KB of stack writes per call whatever the batch. (What that saved did not show beyond the
/// host's noise at 1 × 1000 pps → 50; docs/performance.md.)
#[cfg(target_os = "linux")]
fn sendmmsg(fd: std::os::fd::RawFd, datagrams: &[Datagram]) -> std::io::Result<usize> {
    use std::mem::MaybeUninit;

    let datagrams = &datagrams[..datagrams.len().min(BATCH)];
    let mut names = [const { MaybeUninit::<RawAddr>::uninit() }; BATCH];
    let mut iov = [const { MaybeUninit::<libc::iovec>::uninit() }; BATCH];
    let mut messages = [const { MaybeUninit::<libc::mmsghdr>::uninit() }; BATCH];
    for (i, datagram) in datagrams.iter().enumerate() {
        let (name, name_len) = RawAddr::new(datagram.to);
        let name: *mut RawAddr = names[i].write(name);
        let iov: *mut libc::iovec = iov[i].write(libc::iovec {
            iov_base: datagram.data.as_ptr().cast_mut().cast(),
            iov_len: datagram.data.len(),
        });
        // SAFETY: mmsghdr is a plain C struct for which all-zero is a valid (empty) value.
        let mut message: libc::mmsghdr = unsafe { std::mem::zeroed() };
        message.msg_hdr.msg_name = name.cast();
        message.msg_hdr.msg_namelen = name_len;
        message.msg_hdr.msg_iov = iov;
        message.msg_hdr.msg_iovlen = 1;
        messages[i].write(message);
    }
    // SAFETY: the first `datagrams.len()` headers are initialised and point at addresses and buffers that outlive the
    // call; the kernel reads no further, only reads them, and writes each header's msg_len. MaybeUninit<T> has T's
    // layout.
    let sent = unsafe {
        libc::sendmmsg(
            fd,
            messages.as_mut_ptr().cast(),
            datagrams.len() as libc::c_uint,
            0,
        )
    };
    if sent < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// A destination as the kernel reads it: the C address of its family, 16 or 28 bytes where socket2's `SockAddr` is
/// 132.
#[cfg(target_os = "linux")]
#[repr(C)]
union RawAddr {
    v4: libc::sockaddr_in,
    v6: libc::sockaddr_in6,
}

#[cfg(target_os = "linux")]
impl RawAddr {
    /// The address and its length for `msg_namelen`.
    fn new(addr: std::net::SocketAddr) -> (RawAddr, libc::socklen_t) {
        match addr {
            std::net::SocketAddr::V4(a) => (
                RawAddr {
                    v4: libc::sockaddr_in {
                        sin_family: libc::AF_INET as libc::sa_family_t,
                        sin_port: a.port().to_be(),
                        sin_addr: libc::in_addr {
                            s_addr: u32::from_ne_bytes(a.ip().octets()),
                        },
                        sin_zero: [0; 8],
                    },
                },
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            ),
            std::net::SocketAddr::V6(a) => (
                RawAddr {
                    v6: libc::sockaddr_in6 {
                        sin6_family: libc::AF_INET6 as libc::sa_family_t,
                        sin6_port: a.port().to_be(),
                        // As std and socket2 pass it: the value as given, the caller's byte order.
                        sin6_flowinfo: a.flowinfo(),
                        sin6_addr: libc::in6_addr {
                            s6_addr: a.ip().octets(),
                        },
                        sin6_scope_id: a.scope_id(),
                    },
                },
                std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            ),
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    /// The kernel must read the same bytes as from the `SockAddr` this replaced.
    #[test]
    fn raw_addresses_match_socket2() {
        for addr in [
            "127.0.0.1:5004",
            "192.168.1.20:65535",
            "[::1]:40000",
            "[fe80::1%3]:9",
        ] {
            let addr: SocketAddr = addr.parse().expect("address");
            let (raw, len) = RawAddr::new(addr);
            let expected = socket2::SockAddr::from(addr);
            assert_eq!(len, expected.len(), "{addr}");
            // SAFETY: both point at `len` initialised bytes (the union's active member is at least that long).
            let (ours, theirs) = unsafe {
                (
                    std::slice::from_raw_parts((&raw as *const RawAddr).cast::<u8>(), len as usize),
                    std::slice::from_raw_parts(expected.as_ptr().cast::<u8>(), len as usize),
                )
            };
            assert_eq!(ours, theirs, "{addr}");
        }
    }

    #[test]
    fn one_call_sends_to_every_destination() {
        let sender = UdpSocket::bind("127.0.0.1:0").expect("bind sender");
        let receivers: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind receiver"))
            .collect();
        let datagrams: Vec<Datagram> = receivers
            .iter()
            .enumerate()
            .map(|(i, r)| Datagram {
                socket: 0,
                to: r.local_addr().expect("address"),
                data: vec![i as u8; 10 + i],
            })
            .collect();
        assert_eq!(
            sendmmsg(sender.as_raw_fd(), &datagrams).expect("sendmmsg"),
            3
        );
        for (i, receiver) in receivers.iter().enumerate() {
            let mut buf = [0u8; 64];
            let (n, from) = receiver.recv_from(&mut buf).expect("receive");
            assert_eq!(&buf[..n], &vec![i as u8; 10 + i][..]);
            assert_eq!(from, sender.local_addr().expect("address"));
        }
    }
}
