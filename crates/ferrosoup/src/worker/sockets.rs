//! Binding the worker's UDP sockets from the listen settings.
//!
//! A wildcard listen IP is expanded to one socket per interface address: a STUN reply must leave from the address the
//! client sent its request to, and a socket bound to `0.0.0.0` cannot promise that. The wildcard is never advertised
//! (a client cannot reach `0.0.0.0`); each interface address is, unless an announced address is set.

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
            let socket = bind_one(SocketAddr::new(ip, port))?;
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
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Best effort: the kernel caps these at net.core.[rw]mem_max.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.set_nonblocking(true)?;
    enable_receive_timestamps(&socket);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Asks the kernel to stamp each datagram with its arrival time (`receive.rs`), so that the worker's latency
/// figures include the time a datagram waited to be read. Without it they start at the read.
#[cfg(target_os = "linux")]
fn enable_receive_timestamps(socket: &Socket) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket and a c_int option value that outlives the call.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result != 0 {
        tracing::debug!("no receive timestamps: {}", std::io::Error::last_os_error());
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
