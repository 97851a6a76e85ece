//! `--baseline`: what this machine charges for a run's traffic with no SFU in the way.
//!
//! Most of an SFU's CPU at a fan-out such as 1 × 1000 pps → 50 is the kernel's UDP path: one `sendmmsg` entry per
//! copy, and on `lo` also the receivers' half (delivery into their sockets and waking them), which the kernel charges
//! to the sender. That cost moves with the host: on a shared machine the same run can cost a server 21 % one hour and
//! 30 % the next. A server's figure means little without the floor under it measured at the same time, so this mode
//! measures the floor: a forwarding thread that does only what no SFU can avoid.
//!
//! - Publishers (one thread each) send `--pps` RTP packets of `--payload` bytes to the forwarder, evenly spaced or
//!   `--burst` at a time.
//! - The forwarder is an event loop as a server's worker is: its socket registered with mio (readable and writable,
//!   edge-triggered, as tokio registers it), it sleeps in `epoll_wait`, reads what came, and sends one copy per
//!   subscriber in one `sendmmsg`, from a second socket that nothing waits on (as ferrosoup's workers send from a
//!   twin of their socket: freeing a sent datagram then wakes no epoll entry; a full buffer falls back to the
//!   registered socket, as theirs does). With the WebRTC transport (the default) it also does what SRTP costs:
//!   AES-128-GCM open of each input once and seal of each copy under the subscriber's own key, as an SFU must. No RTP rewriting,
//!   no RTCP, no bandwidth estimation, no allocation per packet.
//! - Subscribers are plain sockets drained by `--threads` sink threads blocked in `epoll_wait`, as the load tool's
//!   runtime threads are; with `--receive-every`, the sink threads read them on a tick instead and have the kernel
//!   stamp each datagram, as its subscribers then do.
//!
//! The forwarder's CPU (its thread's CPU clock, read from the main thread at the measurement's start and end) is the
//! floor; a server's figure for the same command, measured right before or after, minus the floor is what the server
//! itself costs.

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::thread::JoinHandleExt as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use mio::{Events, Interest, Poll, Token};
use serde::Serialize;

use crate::{Args, Receiving, TransportKind};

const RTP_HEADER: usize = 12;
const TAG: usize = 16;
/// Most copies one `sendmmsg` call takes, as the server's worker sends (`transmit.rs` there).
const SEND_BATCH: usize = 64;

#[derive(Debug, Clone, Serialize)]
pub struct BaselineSummary {
    pub publishers: usize,
    pub subscribers: usize,
    pub pps_per_publisher: u32,
    pub payload_bytes: usize,
    pub srtp: bool,
    pub duration_s: f64,
    /// Copies the forwarder sent during the measurement, per second.
    pub out_pps: f64,
    /// Copies the sinks received during the measurement, per second.
    pub received_pps: f64,
    /// The forwarding thread's CPU over the measurement, % of one core: the floor.
    pub forwarder_cpu_percent: f64,
}

impl BaselineSummary {
    pub fn print_table(&self) {
        let s = self;
        println!("ferrosoup-load baseline (no server: a bare forwarding loop)");
        println!(
            "  load                         {} publisher(s) × {} subscriber(s); {} pps × {} B per publisher; {}",
            s.publishers,
            s.subscribers,
            s.pps_per_publisher,
            s.payload_bytes,
            if s.srtp { "AES-128-GCM" } else { "clear RTP" }
        );
        println!("  measured for                 {:.2} s", s.duration_s);
        println!(
            "  copies out / received        {:.0} / {:.0} pps",
            s.out_pps, s.received_pps
        );
        println!(
            "  forwarder CPU (the floor)    {:.1} % of a core",
            s.forwarder_cpu_percent
        );
    }
}

/// Shared between the threads of a baseline run.
struct Shared {
    stop: AtomicBool,
    sent: AtomicU64,
    received: AtomicU64,
}

pub fn run(args: &Args) -> anyhow::Result<BaselineSummary> {
    args.check()?;
    if args.rooms != 1 || args.spawn.is_some() || args.server_pid.is_some() {
        bail!(
            "--baseline measures one room with no server: drop --rooms, --spawn and --server-pid"
        );
    }
    let srtp = matches!(args.transport, TransportKind::Webrtc);
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
    });
    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    let forwarder_socket = UdpSocket::bind(loopback).context("bind the forwarder")?;
    let forwarder_addr = forwarder_socket.local_addr()?;
    let sinks = (0..args.subscribers)
        .map(|_| UdpSocket::bind(loopback))
        .collect::<std::io::Result<Vec<_>>>()
        .context("bind the subscribers")?;
    let sink_addrs = sinks
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<std::io::Result<Vec<_>>>()?;

    let mut threads = Vec::new();
    let per_thread = args.subscribers.div_ceil(args.threads).max(1);
    let mut sinks = sinks.into_iter();
    loop {
        let share: Vec<UdpSocket> = sinks.by_ref().take(per_thread).collect();
        if share.is_empty() {
            break;
        }
        let shared = shared.clone();
        let receiving = args.receiving();
        threads.push(std::thread::spawn(move || {
            // A sink that cannot poll shows as copies not received.
            let _ = sink(share, receiving, &shared);
        }));
    }
    let forwarder = {
        let shared = shared.clone();
        std::thread::spawn(move || forward(forwarder_socket, &sink_addrs, srtp, &shared))
    };
    for index in 0..args.publishers {
        let shared = shared.clone();
        let pace = Pace {
            pps: args.pps,
            burst: args.burst.max(1),
        };
        let payload = args.payload;
        threads.push(std::thread::spawn(move || {
            publish(index as u32, forwarder_addr, pace, payload, srtp, &shared)
        }));
    }

    let clock = match ThreadClock::of(&forwarder) {
        Ok(clock) => clock,
        Err(e) => {
            shared.stop.store(true, Ordering::Relaxed);
            return Err(e);
        }
    };
    std::thread::sleep(Duration::from_secs_f64(args.warmup));
    let (sent, received) = (&shared.sent, &shared.received);
    let reading = || {
        (
            Instant::now(),
            sent.load(Ordering::Relaxed),
            received.load(Ordering::Relaxed),
            clock.read(),
        )
    };
    let start = reading();
    std::thread::sleep(Duration::from_secs_f64(args.duration));
    let end = reading();
    shared.stop.store(true, Ordering::Relaxed);
    forwarder
        .join()
        .map_err(|_| anyhow::anyhow!("the forwarder panicked"))??;
    for t in threads {
        let _ = t.join();
    }
    let cpu = end.3.saturating_sub(start.3);
    let wall = end.0.duration_since(start.0).as_secs_f64();
    Ok(BaselineSummary {
        publishers: args.publishers,
        subscribers: args.subscribers,
        pps_per_publisher: args.pps,
        payload_bytes: args.payload,
        srtp,
        duration_s: crate::report::round2(wall),
        out_pps: ((end.1 - start.1) as f64 / wall).round(),
        received_pps: ((end.2 - start.2) as f64 / wall).round(),
        forwarder_cpu_percent: crate::report::round2(cpu.as_secs_f64() / wall * 100.0),
    })
}

/// A key per SRTP direction; the nonce varies with the sequence number as SRTP's does with the packet index. The keys
/// are fixed and nonces repeat once a sequence number wraps: this measures what encryption costs, it protects nothing.
fn key(seed: u8) -> anyhow::Result<LessSafeKey> {
    let key =
        UnboundKey::new(&AES_128_GCM, &[seed; 16]).map_err(|_| anyhow::anyhow!("AES-GCM key"))?;
    Ok(LessSafeKey::new(key))
}

fn nonce(ssrc: u32, seq: u16) -> Nonce {
    let mut n = [0u8; 12];
    n[2..6].copy_from_slice(&ssrc.to_be_bytes());
    n[10..12].copy_from_slice(&seq.to_be_bytes());
    Nonce::assume_unique_for_key(n)
}

/// A publisher's schedule: `pps` packets a second, `burst` of them back to back (as `--burst` for a server run).
#[derive(Clone, Copy)]
struct Pace {
    pps: u32,
    burst: u32,
}

fn publish(index: u32, to: SocketAddr, pace: Pace, payload: usize, srtp: bool, shared: &Shared) {
    let Ok(socket) = UdpSocket::bind(SocketAddr::from(([127, 0, 0, 1], 0))) else {
        return;
    };
    let ssrc = 0x1000 + index;
    let Ok(key) = key(1) else {
        return;
    };
    let mut packet = vec![0u8; RTP_HEADER + payload + TAG];
    let started = Instant::now();
    for n in 0u64.. {
        if shared.stop.load(Ordering::Relaxed) {
            return;
        }
        let burst = u64::from(pace.burst);
        let due =
            started + Duration::from_secs_f64((n / burst * burst) as f64 / f64::from(pace.pps));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let seq = n as u16;
        packet[0] = 0x80;
        packet[1] = 96;
        packet[2..4].copy_from_slice(&seq.to_be_bytes());
        packet[8..12].copy_from_slice(&ssrc.to_be_bytes());
        let len = if srtp {
            let (header, body) = packet.split_at_mut(RTP_HEADER);
            let (plain, tag) = body.split_at_mut(payload);
            match key.seal_in_place_separate_tag(nonce(ssrc, seq), Aad::from(&*header), plain) {
                Ok(t) => tag.copy_from_slice(t.as_ref()),
                Err(_) => return,
            }
            RTP_HEADER + payload + TAG
        } else {
            RTP_HEADER + payload
        };
        let _ = socket.send_to(&packet[..len], to);
    }
}

/// The forwarding loop, until told to stop.
fn forward(
    socket: UdpSocket,
    sinks: &[SocketAddr],
    srtp: bool,
    shared: &Shared,
) -> anyhow::Result<()> {
    socket.set_nonblocking(true)?;
    let mut socket = mio::net::UdpSocket::from_std(socket);
    let mut poll = Poll::new()?;
    poll.registry().register(
        &mut socket,
        Token(0),
        Interest::READABLE | Interest::WRITABLE,
    )?;
    let mut events = Events::with_capacity(8);
    // The sinks do not look at the source port, so the twin need not share the forwarder's.
    let sender = UdpSocket::bind(SocketAddr::new(socket.local_addr()?.ip(), 0))?;
    sender.set_nonblocking(true)?;
    let inbound = key(1)?;
    let outbound = (0..sinks.len())
        .map(|i| key(2 + (i % 200) as u8))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut seqs = vec![0u16; sinks.len()];
    let names: Vec<socket2::SockAddr> = sinks.iter().map(|&a| a.into()).collect();
    let mut input = [0u8; 1500];
    let mut copies: Vec<Vec<u8>> = vec![vec![0u8; 1500]; sinks.len()];
    let mut lengths = vec![0usize; sinks.len()];
    while !shared.stop.load(Ordering::Relaxed) {
        // Which event woke it does not matter: it reads until the socket is empty.
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        while let Some(n) = next_datagram(&socket, &mut input) {
            if n < RTP_HEADER {
                continue;
            }
            let plain_len = if srtp {
                let Some(len) = n.checked_sub(TAG).filter(|&l| l >= RTP_HEADER) else {
                    continue;
                };
                let ssrc = u32::from_be_bytes([input[8], input[9], input[10], input[11]]);
                let seq = u16::from_be_bytes([input[2], input[3]]);
                let (header, body) = input[..n].split_at_mut(RTP_HEADER);
                if inbound
                    .open_in_place(nonce(ssrc, seq), Aad::from(&*header), body)
                    .is_err()
                {
                    continue;
                }
                len
            } else {
                n
            };
            for (i, copy) in copies.iter_mut().enumerate() {
                copy[..plain_len].copy_from_slice(&input[..plain_len]);
                seqs[i] = seqs[i].wrapping_add(1);
                copy[2..4].copy_from_slice(&seqs[i].to_be_bytes());
                lengths[i] = if srtp {
                    let (header, body) = copy.split_at_mut(RTP_HEADER);
                    let (plain, tag) = body.split_at_mut(plain_len - RTP_HEADER);
                    let sealed = outbound[i]
                        .seal_in_place_separate_tag(
                            nonce(0x2000 + i as u32, seqs[i]),
                            Aad::from(&*header),
                            plain,
                        )
                        .map_err(|_| anyhow::anyhow!("AES-GCM seal"))?;
                    tag[..TAG].copy_from_slice(sealed.as_ref());
                    plain_len + TAG
                } else {
                    plain_len
                };
            }
            let sent = send_all(
                [sender.as_raw_fd(), socket.as_raw_fd()],
                &copies,
                &lengths,
                &names,
                &mut poll,
                &mut events,
            );
            shared.sent.fetch_add(sent as u64, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Sends copy `i` to `names[i]` for every subscriber, [`SEND_BATCH`] per `sendmmsg`; returns how many left. They
/// leave from `fds[0]`, the unwatched sender, until its buffer is full, then from `fds[1]`, the socket `poll` watches.
fn send_all(
    fds: [RawFd; 2],
    copies: &[Vec<u8>],
    lengths: &[usize],
    names: &[socket2::SockAddr],
    poll: &mut Poll,
    events: &mut Events,
) -> usize {
    let [mut fd, watched] = fds;
    let mut done = 0;
    while done < copies.len() {
        let n = (copies.len() - done).min(SEND_BATCH);
        let mut iov: [libc::iovec; SEND_BATCH] = std::array::from_fn(|k| {
            let i = (done + k).min(copies.len() - 1);
            libc::iovec {
                iov_base: copies[i].as_ptr().cast_mut().cast(),
                iov_len: lengths[i],
            }
        });
        // SAFETY: mmsghdr is a plain C struct for which all-zero is a valid (empty) value.
        let mut messages: [libc::mmsghdr; SEND_BATCH] = unsafe { std::mem::zeroed() };
        for (k, m) in messages.iter_mut().enumerate().take(n) {
            m.msg_hdr.msg_name = names[done + k].as_ptr().cast_mut().cast();
            m.msg_hdr.msg_namelen = names[done + k].len();
            m.msg_hdr.msg_iov = &mut iov[k];
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: the first `n` headers point at addresses and buffers that outlive the call.
        let sent = unsafe { libc::sendmmsg(fd, messages.as_mut_ptr(), n as libc::c_uint, 0) };
        match sent {
            s if s > 0 => done += s as usize,
            _ if std::io::Error::last_os_error().kind() == ErrorKind::WouldBlock => {
                if fd != watched {
                    fd = watched;
                    continue;
                }
                // Wait for room in the send buffer (or anything: the next try tells).
                let _ = poll.poll(events, Some(Duration::from_millis(10)));
            }
            _ => done += 1,
        }
    }
    done
}

/// Reads the next datagram into `buf`; `None` once the socket is empty. Edge-triggered polling needs reads to go on
/// to `WouldBlock`, so an error (an ICMP report from a closed peer, consumed by the read that returns it) is skipped;
/// a few in a row at most, so that a socket that keeps failing cannot hold its loop.
fn next_datagram(socket: &mio::net::UdpSocket, buf: &mut [u8]) -> Option<usize> {
    for _ in 0..4 {
        match socket.recv(buf) {
            Ok(n) => return Some(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
            Err(_) => continue,
        }
    }
    None
}

fn sink(sockets: Vec<UdpSocket>, receiving: Receiving, shared: &Shared) -> std::io::Result<()> {
    let mut buf = [0u8; 1500];
    let drain = |s: &mio::net::UdpSocket, buf: &mut [u8]| {
        while next_datagram(s, buf).is_some() {
            shared.received.fetch_add(1, Ordering::Relaxed);
        }
    };
    if matches!(receiving, Receiving::Every(_)) {
        // The tool's subscribers reading on a tick have the kernel stamp what they receive; so do these. Once any
        // socket asks, the kernel reads the clock for every datagram delivered on the host, which on `lo` is paid
        // inside the sender's `sendmmsg`: part of the floor, as it is part of a server's figure.
        for s in &sockets {
            crate::socket::enable_receive_timestamps(s)?;
        }
    }
    let mut sockets = sockets
        .into_iter()
        .map(|s| {
            s.set_nonblocking(true)
                .map(|()| mio::net::UdpSocket::from_std(s))
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    if let Receiving::Every(period) = receiving {
        while !shared.stop.load(Ordering::Relaxed) {
            std::thread::sleep(period);
            for s in &sockets {
                drain(s, &mut buf);
            }
        }
        return Ok(());
    }
    let mut poll = Poll::new()?;
    for (i, s) in sockets.iter_mut().enumerate() {
        poll.registry().register(s, Token(i), Interest::READABLE)?;
    }
    let mut events = Events::with_capacity(64);
    while !shared.stop.load(Ordering::Relaxed) {
        poll.poll(&mut events, Some(Duration::from_millis(100)))?;
        for event in &events {
            if let Some(s) = sockets.get(event.token().0) {
                drain(s, &mut buf);
            }
        }
    }
    Ok(())
}

/// Another thread's CPU clock (`pthread_getcpuclockid`), read from this one while that thread runs.
struct ThreadClock(libc::clockid_t);

impl ThreadClock {
    fn of<T>(thread: &JoinHandle<T>) -> anyhow::Result<ThreadClock> {
        let mut id: libc::clockid_t = 0;
        // SAFETY: a live thread's handle (joined only after the last read) and a pointer to a local.
        let r = unsafe { libc::pthread_getcpuclockid(thread.as_pthread_t(), &mut id) };
        if r != 0 {
            bail!(
                "pthread_getcpuclockid: {}",
                std::io::Error::from_raw_os_error(r)
            );
        }
        Ok(ThreadClock(id))
    }

    fn read(&self) -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: a pointer to a local timespec; the clock id is the forwarder's, which runs until after the reads.
        unsafe { libc::clock_gettime(self.0, &mut ts) };
        Duration::new(
            ts.tv_sec.max(0) as u64,
            ts.tv_nsec.clamp(0, 999_999_999) as u32,
        )
    }
}
