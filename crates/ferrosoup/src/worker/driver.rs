//! The worker's I/O loop: the only place that touches sockets, clocks and the command queue. Everything it learns it
//! hands to the sans-IO [`Engine`], and it sends whatever the engine queues.

use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::engine::{Engine, PipeMessage};
use crate::worker::receive::{readable_any, Receiver, BATCH as RECV_BATCH};
use crate::worker::transmit::Transmitter;
use crate::worker::Command;

/// The worker's sockets, and a sender whose drop (after the sockets, by field order) tells [`crate::Worker::closed`]
/// that the ports are free again — whether the loop ended or the task was aborted.
pub(crate) struct Sockets {
    pub udp: Vec<UdpSocket>,
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
        let deadline = engine
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(mut command) => {
                    take_new_sockets(&mut command, &mut added);
                    guarded("command", || engine.handle_command(Instant::now(), command))
                }
                None => break,
            },
            Some(message) = pipe.recv() => {
                let now = Instant::now();
                guarded("pipe", || engine.handle_pipe(now, message));
                for _ in 1..RECV_BATCH {
                    match pipe.try_recv() {
                        Ok(message) => guarded("pipe", || engine.handle_pipe(now, message)),
                        Err(_) => break,
                    }
                }
            }
            index = readable_any(sockets, next_socket) => {
                next_socket = index + 1;
                let now = Instant::now();
                receiver.drain(sockets, index, |from, datagram| {
                    guarded("datagram", || engine.handle_datagram(now, index, from, datagram))
                });
            }
            _ = tokio::time::sleep_until(deadline.into()) => guarded("timer", || engine.handle_timeout(Instant::now())),
        }
        transmitter.flush(&mut engine, sockets).await;
        owned.udp.append(&mut added);
        release_sockets(&mut engine, &mut owned.udp);
    }
    engine.close(Instant::now());
    transmitter.flush(&mut engine, &owned.udp).await;
}

/// Moves the sockets a new plain transport bound out of its command. The engine numbers them after the worker's
/// others, in this order; they are listened on from the next step.
fn take_new_sockets(command: &mut Command, added: &mut Vec<UdpSocket>) {
    if let Command::CreatePlainTransport { sockets, .. } = command {
        added.append(sockets);
    }
}

/// Drops the sockets of closed plain transports, which frees their ports. The engine renumbers the socket that
/// takes a freed place exactly as `swap_remove` moves it.
fn release_sockets(engine: &mut Engine, udp: &mut Vec<UdpSocket>) {
    while let Some(index) = engine.next_released_socket() {
        if index < udp.len() {
            udp.swap_remove(index);
        }
    }
    // Both sides number the sockets alike; a mismatch would send media from the wrong port.
    debug_assert_eq!(udp.len(), engine.socket_count(), "socket lists out of step");
}

/// Runs one engine step, containing a panic to it. ferrosoup's own code does not panic on input, but its protocol
/// dependencies might; one bad datagram must not take every room of the worker down with it.
fn guarded(what: &str, step: impl FnOnce()) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(step)).is_err() {
        tracing::error!("worker {what} step panicked; the worker goes on");
    }
}
