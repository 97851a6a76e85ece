//! Binding the worker's UDP sockets from the listen settings.
//!
//! A wildcard listen IP is expanded to one socket per interface address: a STUN reply must leave from the address the
//! client sent its request to, and a socket bound to `0.0.0.0` cannot promise that. The wildcard is never advertised
//! (a client cannot reach `0.0.0.0`); each interface address is, unless an announced address is set.
//!
//! On Linux each of those sockets gets a *send twin* (`bind_with_twin`): a second socket on the same address that the
//! worker sends from and never waits on.

use std::net::{IpAddr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};

use crate::engine::LocalCandidate;
use crate::transport::ListenInfo;
use crate::Error;

/// Kernel buffer sizes asked for: bursts of video key frames to many consumers must not be dropped by the kernel.
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// A socket bound but not yet registered with a runtime: the worker's own thread does that (`mod.rs`).
pub(crate) struct BoundSocket {
    pub socket: std::net::UdpSocket,
    /// The socket's send twin, where one could be made.
    pub twin: Option<std::net::UdpSocket>,
    pub local: SocketAddr,
    pub candidate: LocalCandidate,
}

pub(crate) fn bind(listen_infos: &[ListenInfo]) -> Result<Vec<BoundSocket>, Error> {
    let mut out: Vec<BoundSocket> = Vec::new();
    for (index, info) in listen_infos.iter().enumerate() {
        let ips = if info.ip.is_unspecified() {
            interface_addresses(info.ip)
        } else {
            vec![info.ip]
        };
        if ips.is_empty() {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::AddrNotAvailable,
                format!("no interface address to listen on for {}", info.ip),
            )));
        }
        let mut port = info.port;
        for ip in ips {
            let (socket, twin) = bind_with_twin(SocketAddr::new(ip, port))?;
            let local = socket.local_addr()?;
            // With port 0 the first socket picks the port and the others of this entry share it.
            port = local.port();
            let address = info
                .announced_address
                .clone()
                .unwrap_or_else(|| ip.to_string());
            // mediasoup's priority: type preference 64 (host), local preference 10000 minus 100 per listen entry.
            let local_preference = 10_000u32.saturating_sub(100 * index as u32 + out.len() as u32);
            let priority = (64 << 24) + (local_preference << 8) + 255;
            out.push(BoundSocket {
                socket,
                twin,
                local,
                candidate: LocalCandidate {
                    local,
                    address,
                    priority,
                },
            });
        }
    }
    Ok(out)
}

/// Binds one socket of a plain transport (any address, wildcard included: with no ICE there is no candidate to keep
/// consistent). Returns it with the address it got.
pub(crate) fn bind_plain(info: &ListenInfo) -> Result<(std::net::UdpSocket, SocketAddr), Error> {
    let socket = bind_one(SocketAddr::new(info.ip, info.port))?;
    let local = socket.local_addr()?;
    Ok((socket, local))
}

fn bind_one(addr: SocketAddr) -> Result<std::net::UdpSocket, Error> {
    let socket = receiving_socket(addr)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

fn new_socket(addr: SocketAddr) -> Result<Socket, Error> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    // Best effort: the kernel caps this at net.core.wmem_max.
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    Ok(socket)
}

fn receiving_socket(addr: SocketAddr) -> Result<Socket, Error> {
    let socket = new_socket(addr)?;
    // Best effort: the kernel caps this at net.core.rmem_max.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    enable_receive_timestamps(&socket);
    Ok(socket)
}

/// How often a port the kernel picked (port 0) is tried again when another socket took it between the claim and
/// the bind.
#[cfg(target_os = "linux")]
const PORT_ATTEMPTS: usize = 8;

/// Binds the socket the worker waits on and, on Linux, its send twin: a second socket on the same address that
/// only sends.
///
/// Every datagram the kernel has sent and then frees wakes the wait queue of the socket it left from, and a socket
/// registered with epoll always has an entry there: each copy of a fan-out paid a locked epoll callback (about half
/// a point of a core at 50k datagrams/s; `docs/performance.md`). Nothing waits on the twin, so its datagrams wake
/// nothing. Both sockets carry `SO_REUSEPORT`, and the group's program sends every incoming datagram to its first
/// member, the socket the worker reads. So that sharing a port cannot hide a conflict, the port is first claimed
/// by a socket without `SO_REUSEPORT`: a port already in use fails as before, and a later bind without
/// `SO_REUSEPORT` (another ferrosoup, say) fails too. Where any of this is refused the socket is bound alone and
/// the worker sends from it.
#[cfg(target_os = "linux")]
fn bind_with_twin(
    addr: SocketAddr,
) -> Result<(std::net::UdpSocket, Option<std::net::UdpSocket>), Error> {
    for _ in 0..PORT_ATTEMPTS {
        let claim = new_socket(addr)?;
        claim.bind(&addr.into())?;
        let at = claim.local_addr()?.as_socket().unwrap_or(addr);
        drop(claim);

        let socket = receiving_socket(at)?;
        if set_reuse_port(&socket).is_err() {
            return bind_one(addr).map(|s| (s, None));
        }
        match socket.bind(&at.into()) {
            Ok(()) => {}
            // Taken since the claim: with a port of our choosing, pick another.
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && addr.port() == 0 => continue,
            Err(e) => return Err(e.into()),
        }
        if let Err(e) = steer_to_first(&socket) {
            tracing::debug!("no send twin for {at}: {e}");
            // Without the program a group could split the socket's traffic: let nothing join it, or, if even that
            // is refused, give the port up and bind it plainly.
            if setsockopt(&socket, libc::SO_REUSEPORT, &(0 as libc::c_int)).is_err() {
                drop(socket);
                return bind_one(at).map(|s| (s, None));
            }
            return Ok((socket.into(), None));
        }
        let twin = new_socket(at).and_then(|twin| {
            set_reuse_port(&twin)?;
            twin.bind(&at.into())?;
            never_fragment(&twin, at);
            Ok(twin)
        });
        return Ok(match twin {
            Ok(twin) => (socket.into(), Some(twin.into())),
            Err(e) => {
                tracing::debug!("no send twin for {at}: {e}");
                (socket.into(), None)
            }
        });
    }
    Err(Error::Io(std::io::Error::new(
        std::io::ErrorKind::AddrInUse,
        format!("no free port for {addr}"),
    )))
}

#[cfg(not(target_os = "linux"))]
fn bind_with_twin(
    addr: SocketAddr,
) -> Result<(std::net::UdpSocket, Option<std::net::UdpSocket>), Error> {
    bind_one(addr).map(|s| (s, None))
}

#[cfg(target_os = "linux")]
fn set_reuse_port(socket: &Socket) -> std::io::Result<()> {
    setsockopt(socket, libc::SO_REUSEPORT, &(1 as libc::c_int))
}

/// Has the kernel never fragment the twin's IPv4 datagrams (`IP_PMTUDISC_DO`) instead of its default
/// (`IP_PMTUDISC_WANT`). Under the default a datagram may still be fragmented, so the kernel draws each one's IP ID
/// from its shared hashed counters; never fragmented, a datagram's ID is 0, as RFC 6864 allows for atomic datagrams.
/// At 50k datagrams/s that was ~0.3 point of a core (docs/performance.md). A datagram larger than the path MTU the
/// kernel knows is refused (`EMSGSIZE`) rather than fragmented, and the transmitter sends it from the socket itself,
/// which keeps the default (`transmit.rs`). So a path whose MTU shrinks (an ICMP "fragmentation needed" teaches the
/// kernel, for every socket) still gets every datagram, as it would from mediasoup. `IP_PMTUDISC_PROBE`, which also
/// skips the path-MTU lookup and saved twice as much, was tried first: it ignores what the kernel learnt, so larger
/// datagrams to such a path would be lost for good. Best effort: without it the twin sends as the socket would.
#[cfg(target_os = "linux")]
fn never_fragment(twin: &Socket, at: SocketAddr) {
    if !at.is_ipv4() {
        // IPv6 datagrams carry no ID outside fragments: nothing measured to gain.
        return;
    }
    let never: libc::c_int = libc::IP_PMTUDISC_DO;
    if let Err(e) = setsockopt_at(twin, libc::IPPROTO_IP, libc::IP_MTU_DISCOVER, &never) {
        tracing::debug!("send twin of {at} may fragment: {e}");
    }
}

/// Gives the socket's `SO_REUSEPORT` group a program that picks member 0 (the first bound) for every datagram.
#[cfg(target_os = "linux")]
fn steer_to_first(socket: &Socket) -> std::io::Result<()> {
    let mut program = [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: 0,
    }];
    let fprog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_mut_ptr(),
    };
    setsockopt(socket, libc::SO_ATTACH_REUSEPORT_CBPF, &fprog)
}

/// `setsockopt(SOL_SOCKET, option)` with a value the kernel copies during the call.
#[cfg(target_os = "linux")]
fn setsockopt<T>(socket: &Socket, option: libc::c_int, value: &T) -> std::io::Result<()> {
    setsockopt_at(socket, libc::SOL_SOCKET, option, value)
}

/// `setsockopt(level, option)` with a value the kernel copies during the call.
#[cfg(target_os = "linux")]
fn setsockopt_at<T>(
    socket: &Socket,
    level: libc::c_int,
    option: libc::c_int,
    value: &T,
) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket, and a value of the size given that outlives the call (the kernel copies it in).
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            option,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Asks the kernel to stamp each datagram with its arrival time (`receive.rs`), so that the worker's latency
/// figures include the time a datagram waited to be read. Without it they start at the read.
#[cfg(target_os = "linux")]
fn enable_receive_timestamps(socket: &Socket) {
    if let Err(e) = setsockopt(socket, libc::SO_TIMESTAMPNS, &(1 as libc::c_int)) {
        tracing::debug!("no receive timestamps: {e}");
    }
}

#[cfg(not(target_os = "linux"))]
fn enable_receive_timestamps(_socket: &Socket) {}

/// The machine's usable addresses of the wildcard's family: LAN addresses first; loopback only when there is nothing
/// else (a machine with no network still works for local tests).
fn interface_addresses(wildcard: IpAddr) -> Vec<IpAddr> {
    let all: Vec<IpAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .filter(|ip| ip.is_ipv4() == wildcard.is_ipv4())
        .filter(|ip| match ip {
            // Link-local IPv6 needs a scope id that candidates cannot carry.
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            IpAddr::V4(_) => true,
        })
        .collect();
    let lan: Vec<IpAddr> = all.iter().copied().filter(|ip| !ip.is_loopback()).collect();
    if lan.is_empty() {
        all
    } else {
        lan
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn loopback(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    /// Reads what `socket` (non-blocking) gets until `want` datagrams or `wait` has passed.
    fn drain(
        socket: &std::net::UdpSocket,
        want: usize,
        wait: Duration,
    ) -> Vec<(Vec<u8>, SocketAddr)> {
        let mut got = Vec::new();
        let until = Instant::now() + wait;
        let mut buf = [0u8; 64];
        while got.len() < want && Instant::now() < until {
            match socket.recv_from(&mut buf) {
                Ok((n, from)) => got.push((buf[..n].to_vec(), from)),
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        got
    }

    #[test]
    fn the_twin_sends_from_the_address_and_every_datagram_reaches_the_first() {
        let (socket, twin) = bind_with_twin(loopback(0)).expect("bind");
        let twin = twin.expect("a twin on Linux");
        let local = socket.local_addr().expect("address");
        assert_eq!(twin.local_addr().expect("address"), local);

        // Many senders, so that a hash over their addresses would have split them.
        let senders: Vec<std::net::UdpSocket> = (0..20)
            .map(|_| std::net::UdpSocket::bind(loopback(0)).expect("bind sender"))
            .collect();
        for (i, sender) in senders.iter().enumerate() {
            for k in 0..5u8 {
                sender.send_to(&[i as u8, k], local).expect("send");
            }
        }
        assert_eq!(drain(&socket, 100, Duration::from_secs(1)).len(), 100);
        // All 100 were sent before the reads began: one that went to the twin is already there.
        assert!(
            drain(&twin, 1, Duration::from_millis(50)).is_empty(),
            "the twin received a datagram"
        );

        // What the twin sends comes from the socket's address (a client's ICE pair depends on it).
        twin.send_to(b"reply", senders[0].local_addr().expect("address"))
            .expect("send from the twin");
        senders[0].set_nonblocking(true).expect("non-blocking");
        assert_eq!(
            drain(&senders[0], 1, Duration::from_secs(1)),
            vec![(b"reply".to_vec(), local)]
        );
    }

    fn path_mtu_discovery(socket: &std::net::UdpSocket) -> libc::c_int {
        use std::os::fd::AsRawFd;
        let mut value: libc::c_int = -1;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a valid socket, and an int-sized value with its length.
        let result = unsafe {
            libc::getsockopt(
                socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_MTU_DISCOVER,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(result, 0, "{}", std::io::Error::last_os_error());
        value
    }

    #[test]
    fn only_the_twin_never_fragments() {
        let (socket, twin) = bind_with_twin(loopback(0)).expect("bind");
        let twin = twin.expect("a twin on Linux");
        assert_eq!(path_mtu_discovery(&twin), libc::IP_PMTUDISC_DO);
        // The socket the worker reads keeps the kernel's default: it sends what is too large for the twin.
        assert_ne!(path_mtu_discovery(&socket), libc::IP_PMTUDISC_DO);
    }

    #[test]
    fn sharing_the_port_hides_no_conflict() {
        // A port in use is refused, as a plain bind would be.
        let other = std::net::UdpSocket::bind(loopback(0)).expect("bind");
        let taken = other.local_addr().expect("address");
        assert!(bind_with_twin(taken).is_err());

        // And once bound, a second server on the same port (or anything binding it plainly) is refused.
        let (socket, _twin) = bind_with_twin(loopback(0)).expect("bind");
        let ours = socket.local_addr().expect("address");
        assert!(bind_with_twin(ours).is_err());
        assert!(std::net::UdpSocket::bind(ours).is_err());
    }
}
