//! A peer's UDP socket, and how its task waits for datagrams.
//!
//! By default a peer sleeps in the runtime's reactor until a datagram arrives. On loopback the kernel runs the
//! receiver's half of every datagram (delivery, and waking the sleeping receiver, often on the other core) inside the
//! sender's `sendmmsg`, so the server is billed for waking the tool's threads: thousands of wake-ups a second that a
//! server pays nothing for when its subscribers are other machines. With [`Receiving::Every`] the socket is never
//! registered with the reactor: the peer reads it on its own clock, nobody sleeps on it, and the server's sends find
//! no one to wake. Each datagram then carries the kernel's receive timestamp (`SO_TIMESTAMPNS`, taken on delivery),
//! so latency is still measured to the moment the datagram arrived, not to when the peer next looked.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How a peer's task learns that datagrams arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiving {
    /// Sleep in the reactor until one arrives.
    OnArrival,
    /// Read every period, never sleeping on the socket.
    Every(Duration),
}

/// A datagram read by [`PeerSocket::try_recv`].
pub struct Received {
    pub len: usize,
    pub from: SocketAddr,
    /// When the kernel delivered it, in wall-clock nanoseconds since the Unix epoch (for [`arrived_ns`]); `None` when
    /// it was not stamped.
    pub stamp: Option<i128>,
}

pub enum PeerSocket {
    Reactor(tokio::net::UdpSocket),
    Polled {
        socket: std::net::UdpSocket,
        period: Duration,
        next: Instant,
        /// Whether the last read found the socket empty (or failed); until then it counts as readable, as the
        /// reactor's readiness does until a read sees `WouldBlock`.
        drained: bool,
        /// Room for the timestamp's control message, reused for every read.
        control: Vec<u8>,
    },
}

/// Asks the kernel to stamp each datagram `socket` receives (`SO_TIMESTAMPNS`), as [`Receiving::Every`] peers do.
pub fn enable_receive_timestamps(socket: &std::net::UdpSocket) -> io::Result<()> {
    stamped::enable(socket)
}

impl PeerSocket {
    /// Takes a non-blocking socket; registers it with the reactor only for [`Receiving::OnArrival`].
    pub fn new(socket: std::net::UdpSocket, receiving: Receiving) -> io::Result<PeerSocket> {
        match receiving {
            Receiving::OnArrival => Ok(PeerSocket::Reactor(tokio::net::UdpSocket::from_std(
                socket,
            )?)),
            Receiving::Every(period) => {
                enable_receive_timestamps(&socket)?;
                Ok(PeerSocket::Polled {
                    socket,
                    period,
                    next: Instant::now(),
                    drained: true,
                    control: stamped::control_buffer(),
                })
            }
        }
    }

    /// Returns when datagrams may be waiting: on arrival, or at the next tick; at once while the last read found
    /// more. Cancel-safe.
    pub async fn readable(&mut self) -> io::Result<()> {
        match self {
            PeerSocket::Reactor(s) => s.readable().await,
            PeerSocket::Polled {
                period,
                next,
                drained,
                ..
            } => {
                if !*drained {
                    // Let the runtime's other peers run between batches, as the reactor's budget would.
                    tokio::task::yield_now().await;
                    return Ok(());
                }
                tokio::time::sleep_until((*next).into()).await;
                let now = Instant::now();
                // A late tick starts the schedule again rather than catching up with reads that find nothing.
                *next = (*next + *period).max(now);
                Ok(())
            }
        }
    }

    pub fn try_recv(&mut self, buf: &mut [u8]) -> io::Result<Received> {
        match self {
            PeerSocket::Reactor(s) => s.try_recv_from(buf).map(|(len, from)| Received {
                len,
                from,
                stamp: None,
            }),
            PeerSocket::Polled {
                socket,
                control,
                drained,
                ..
            } => {
                let read = stamped::recv(socket, buf, control);
                // After an error the socket counts as drained: if the caller stops reading there, a socket that
                // keeps failing is tried again at the next tick, not in a tight loop.
                *drained = read.is_err();
                read
            }
        }
    }

    pub fn try_send_to(&self, buf: &[u8], to: SocketAddr) -> io::Result<usize> {
        match self {
            PeerSocket::Reactor(s) => s.try_send_to(buf, to),
            PeerSocket::Polled { socket, .. } => socket.send_to(buf, to),
        }
    }
}

/// When a kernel receive timestamp (wall clock) happened on the caller's monotonic clock, read as `mono_now_ns` just
/// now: only the datagram's age, a few microseconds to a tick, is measured on the wall clock. A stamp from the future
/// (the wall clock stepped back) counts as now.
pub fn arrived_ns(stamp_ns: i128, mono_now_ns: u64) -> u64 {
    let age = u64::try_from(wall_clock_ns() - stamp_ns).unwrap_or(0);
    mono_now_ns.saturating_sub(age)
}

fn wall_clock_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// Kernel receive timestamps (`SO_TIMESTAMPNS`), through nix.
#[cfg(target_os = "linux")]
mod stamped {
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{
        recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage,
    };
    use nix::sys::time::TimeSpec;

    use super::Received;

    pub fn enable(socket: &std::net::UdpSocket) -> io::Result<()> {
        setsockopt(socket, sockopt::ReceiveTimestampns, &true).map_err(io::Error::from)
    }

    pub fn control_buffer() -> Vec<u8> {
        nix::cmsg_space!(TimeSpec)
    }

    pub fn recv(
        socket: &std::net::UdpSocket,
        buf: &mut [u8],
        control: &mut [u8],
    ) -> io::Result<Received> {
        let mut iov = [io::IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(
            socket.as_raw_fd(),
            &mut iov,
            Some(control),
            MsgFlags::MSG_DONTWAIT,
        )
        .map_err(io::Error::from)?;
        let stamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
            cmsgs.find_map(|c| match c {
                ControlMessageOwned::ScmTimestampns(ts) => {
                    Some(i128::from(ts.tv_sec()) * 1_000_000_000 + i128::from(ts.tv_nsec()))
                }
                _ => None,
            })
        });
        let from = msg
            .address
            .as_ref()
            .and_then(|a| {
                a.as_sockaddr_in()
                    .map(|v4| SocketAddr::from(std::net::SocketAddrV4::from(*v4)))
                    .or_else(|| {
                        a.as_sockaddr_in6()
                            .map(|v6| SocketAddr::from(std::net::SocketAddrV6::from(*v6)))
                    })
            })
            .ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "datagram from a non-IP address")
            })?;
        Ok(Received {
            len: msg.bytes,
            from,
            stamp,
        })
    }
}

/// Elsewhere: no timestamps; latency is taken at the read.
#[cfg(not(target_os = "linux"))]
mod stamped {
    use std::io;

    use super::Received;

    pub fn enable(_: &std::net::UdpSocket) -> io::Result<()> {
        Ok(())
    }

    pub fn control_buffer() -> Vec<u8> {
        Vec::new()
    }

    pub fn recv(
        socket: &std::net::UdpSocket,
        buf: &mut [u8],
        _: &mut [u8],
    ) -> io::Result<Received> {
        socket.recv_from(buf).map(|(len, from)| Received {
            len,
            from,
            stamp: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (std::net::UdpSocket, std::net::UdpSocket) {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        b.set_nonblocking(true).unwrap();
        (a, b)
    }

    #[tokio::test]
    async fn a_polled_socket_reads_stamped_datagrams_on_its_tick() {
        let (a, b) = pair();
        let to = b.local_addr().unwrap();
        let mut s = PeerSocket::new(b, Receiving::Every(Duration::from_millis(1))).unwrap();
        let err = s.try_recv(&mut [0u8; 64]).err().map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::WouldBlock));
        // The kernel turns receive timestamps on for everyone when the first socket asks, a moment later (deferred
        // work); until then it stamps a datagram when it is read.
        std::thread::sleep(Duration::from_millis(50));
        a.send_to(b"hello", to).unwrap();
        std::thread::sleep(Duration::from_millis(3));
        s.readable().await.unwrap();
        let mut buf = [0u8; 64];
        let r = s.try_recv(&mut buf).unwrap();
        assert_eq!(&buf[..r.len], b"hello");
        assert_eq!(r.from, a.local_addr().unwrap());
        let stamp = r.stamp.expect("a kernel timestamp");
        let at = arrived_ns(stamp, 10_000_000_000);
        let age = 10_000_000_000 - at;
        assert!(
            (2_000_000..1_000_000_000).contains(&age),
            "arrived {age} ns ago"
        );
    }

    /// A read that found a datagram leaves the socket readable at once (the rest of a burst is not left for the next
    /// tick); one that found it empty waits for the tick.
    #[tokio::test]
    async fn readable_at_once_until_a_read_finds_the_socket_empty() {
        let (a, b) = pair();
        let to = b.local_addr().unwrap();
        let period = Duration::from_millis(200);
        let mut s = PeerSocket::new(b, Receiving::Every(period)).unwrap();
        s.readable().await.unwrap();
        for _ in 0..2 {
            a.send_to(b"x", to).unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
        let mut buf = [0u8; 16];
        assert!(s.try_recv(&mut buf).is_ok());
        let started = Instant::now();
        s.readable().await.unwrap();
        assert!(
            started.elapsed() < period / 2,
            "waited {:?} with a datagram left",
            started.elapsed()
        );
        assert!(s.try_recv(&mut buf).is_ok());
        let empty = s.try_recv(&mut buf).err().map(|e| e.kind());
        assert_eq!(empty, Some(io::ErrorKind::WouldBlock));
        let started = Instant::now();
        s.readable().await.unwrap();
        assert!(
            started.elapsed() >= period / 2,
            "empty, yet ready after {:?}",
            started.elapsed()
        );
    }
}
