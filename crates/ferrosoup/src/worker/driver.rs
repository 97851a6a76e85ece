//! The worker's I/O loop: the only place that touches sockets, clocks and the command queue. Everything it learns it
//! hands to the sans-IO [`Engine`], and it sends whatever the engine queues.

use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::engine::{Engine, PipeMessage};
use crate::worker::receive::{readable_any, Receiver, BATCH as RECV_BATCH};
use crate::worker::transmit::{Transmitter, BATCH as SEND_BATCH};
use crate::worker::Command;

/// The worker's sockets by slot (`None`: a free plain transport slot), and a sender whose drop (after the sockets, by
/// field order) tells [`crate::Worker::closed`] that the ports are free again — whether the loop ended or the task
/// was aborted.
pub(crate) struct Sockets {
    pub udp: Vec<Option<UdpSocket>>,
    /// Send twins of the first slots (`sockets.rs`), by the same index; the others send from `udp`.
    pub twins: Vec<Option<std::net::UdpSocket>>,
    pub _released: tokio::sync::watch::Sender<()>,
}

pub(crate) async fn run(
    mut engine: Engine,
    mut owned: Sockets,
    mut commands: mpsc::UnboundedReceiver<Command>,
    mut pipe: mpsc::Receiver<PipeMessage>,
) {
    let mut receiver = Receiver::new();
    // Where the next search for a readable socket starts, so that a busy socket cannot starve the others.
    let mut next_socket = 0;
    let mut transmitter = Transmitter::new();
    // Sockets of plain transports created in this step, adopted once the step's output is sent.
    let mut added: Vec<UdpSocket> = Vec::new();
    loop {
        let sockets = &owned.udp;
        let twins = &owned.twins;
        let deadline = engine
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(mut command) => match take_new_sockets(&mut command, &mut added) {
                    Ok(()) => guarded("command", || engine.handle_command(Instant::now(), command)),
                    Err(e) => refuse(command, e),
                },
                None => break,
            },
            Some(message) = pipe.recv() => {
                let now = Instant::now();
                let mut next = Some(message);
                for _ in 0..RECV_BATCH {
                    let Some(message) = next.take().or_else(|| pipe.try_recv().ok()) else {
                        break;
                    };
                    let arrival = message.arrival();
                    handle_input(&mut engine, &mut transmitter, sockets, twins, arrival, "pipe", |e| {
                        e.handle_pipe(now, message)
                    })
                    .await;
                }
            }
            index = readable_any(sockets, next_socket) => {
                next_socket = index + 1;
                let now = Instant::now();
                for i in 0..receiver.read_from(sockets, index) {
                    let Some((from, datagram, arrival)) = receiver.get(i) else {
                        continue;
                    };
                    handle_input(&mut engine, &mut transmitter, sockets, twins, arrival, "datagram", |e| {
                        e.handle_datagram(now, index, from, datagram)
                    })
                    .await;
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => guarded("timer", || engine.handle_timeout(Instant::now())),
        }
        transmitter.flush(&mut engine, sockets, twins).await;
        adopt_sockets(&mut engine, &mut owned.udp, &mut added);
        release_sockets(&mut engine, &mut owned.udp);
    }
    engine.close(Instant::now());
    transmitter
        .flush(&mut engine, &owned.udp, &owned.twins)
        .await;
}

/// Hands the engine one input (a datagram or a piped packet) that arrived at `arrival`, notes what it queued for the
/// latency figures, and sends the queue once it fills half a `sendmmsg` batch. Small outputs (a reply, one copy per
/// input) gather over the whole read and go out in few calls; a fan-out goes out as soon as its input is handled
/// rather than waiting for the rest of the read, which would add their handling time to every copy's latency.
async fn handle_input(
    engine: &mut Engine,
    transmitter: &mut Transmitter,
    sockets: &[Option<UdpSocket>],
    twins: &[Option<std::net::UdpSocket>],
    arrival: u64,
    what: &str,
    step: impl FnOnce(&mut Engine),
) {
    let queued = engine.queued();
    engine.set_arrival(arrival);
    guarded(what, || step(engine));
    transmitter.caused(engine.queued().saturating_sub(queued), arrival);
    if engine.queued() >= SEND_BATCH / 2 {
        transmitter.flush(engine, sockets, twins).await;
    }
}

/// Moves the sockets a new plain transport bound out of its command and registers them with this thread's runtime.
/// The engine gives them their slots, in this order (`adopt_sockets`); they are listened on from the next step.
fn take_new_sockets(command: &mut Command, added: &mut Vec<UdpSocket>) -> std::io::Result<()> {
    if let Command::CreatePlainTransport { sockets, .. } = command {
        let registered = std::mem::take(sockets)
            .into_iter()
            .map(UdpSocket::from_std)
            .collect::<std::io::Result<Vec<_>>>()?;
        added.extend(registered);
    }
    Ok(())
}

/// Answers a plain transport whose sockets could not be registered with the error; the engine never sees it.
fn refuse(command: Command, error: std::io::Error) {
    if let Command::CreatePlainTransport { reply, .. } = command {
        let _ = reply.send(Err(error.into()));
    }
}

/// Puts the sockets of plain transports created in this step into the slots the engine gave them. A socket the
/// engine gave no slot (its step failed before) is dropped, which frees its port.
fn adopt_sockets(
    engine: &mut Engine,
    udp: &mut Vec<Option<UdpSocket>>,
    added: &mut Vec<UdpSocket>,
) {
    for socket in added.drain(..) {
        let Some(slot) = engine.next_adopted_socket() else {
            continue;
        };
        if udp.len() <= slot {
            udp.resize_with(slot + 1, || None);
        }
        if let Some(place) = udp.get_mut(slot) {
            *place = Some(socket);
        }
    }
    while engine.next_adopted_socket().is_some() {}
}

/// Drops the sockets of closed plain transports, which frees their ports. Other sockets keep their slots.
fn release_sockets(engine: &mut Engine, udp: &mut Vec<Option<UdpSocket>>) {
    while let Some(slot) = engine.next_released_socket() {
        if let Some(place) = udp.get_mut(slot) {
            *place = None;
        }
    }
    while matches!(udp.last(), Some(None)) {
        udp.pop();
    }
}

/// Runs one engine step, containing a panic to it. ferrosoup's own code does not panic on input, but its protocol
/// dependencies might; one bad datagram must not take every room of the worker down with it.
fn guarded(what: &str, step: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).is_err() {
        tracing::error!("worker {what} step panicked; the worker goes on");
    }
}
