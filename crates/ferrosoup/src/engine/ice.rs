//! ICE-lite for one transport, on the `is` agent.
//!
//! The server never sends checks: it answers the client's binding requests, learns the client's address from them and
//! sends media to the pair the client nominates. mediasoup-client never signals its own ufrag, so it is learned from
//! the USERNAME of the first binding request that passes the integrity check with our password.
//!
//! Consent: the `is` agent calls a pair stale 15 s after the client's last valid check; mediasoup (and RFC 7675's
//! guidance for servers) waits 30 s. So a `disconnected` from the agent is held back `CONSENT_GRACE` more and reported
//! only if no check arrived meanwhile. Media keeps flowing to the selected pair either way.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use is::stun::{StunMessage, StunPacket};
use is::{Candidate, IceAgent, IceAgentEvent, IceConnectionState, IceCreds, Protocol};
use rand::distr::{Alphanumeric, SampleString};

use crate::transport::{IceParameters, IceState};

/// Something the ICE agent concluded.
pub(crate) enum IceOutput {
    /// Send to `remote` from the local address `local`.
    Nominated {
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// The agent's connection state changed.
    State(IceState),
}

/// How much longer than the agent's 15 s a silent client keeps its consent (30 s in all, as mediasoup).
const CONSENT_GRACE: Duration = Duration::from_secs(15);

pub(crate) struct IceLite {
    agent: IceAgent,
    parameters: IceParameters,
    remote_known: bool,
    /// The agent said `disconnected`: when to report it, unless the client speaks again first.
    disconnect_at: Option<Instant>,
    /// The grace ran out: report `disconnected` at the next poll.
    disconnect_due: bool,
    /// The last time the agent was fed (for deadlines set while polling).
    now: Option<Instant>,
}

impl IceLite {
    /// An agent with fresh random credentials answering on the given local addresses.
    pub fn new(local_addresses: &[SocketAddr]) -> Self {
        let mut rng = rand::rng();
        let creds = IceCreds {
            ufrag: Alphanumeric.sample_string(&mut rng, 16),
            pass: Alphanumeric.sample_string(&mut rng, 32),
        };
        let mut agent = IceAgent::new(creds.clone());
        agent.set_ice_lite(true);
        agent.set_controlling(false);
        for addr in local_addresses {
            if let Ok(candidate) = Candidate::host(*addr, "udp") {
                agent.add_local_candidate(candidate);
            }
        }
        IceLite {
            agent,
            parameters: IceParameters {
                username_fragment: creds.ufrag,
                password: creds.pass,
                ice_lite: true,
            },
            remote_known: false,
            disconnect_at: None,
            disconnect_due: false,
            now: None,
        }
    }

    pub fn parameters(&self) -> &IceParameters {
        &self.parameters
    }

    /// Feeds one STUN message received on `local` from `remote`. Returns whether it was accepted.
    pub fn handle_stun(
        &mut self,
        now: Instant,
        local: SocketAddr,
        remote: SocketAddr,
        message: StunMessage<'_>,
    ) -> bool {
        self.now = Some(now);
        if !message.is_binding_request() {
            return false;
        }
        if !self.remote_known {
            // Only an authenticated request may tell us the client's ufrag; otherwise anybody who guessed nothing
            // could pin a bogus one before the real client arrives.
            if !self.agent.accepts_message(&message) {
                return false;
            }
            let Some((_, remote_ufrag)) = message.split_username() else {
                return false;
            };
            self.agent.set_remote_credentials(IceCreds {
                ufrag: remote_ufrag.to_string(),
                // An ICE-lite agent never sends requests, so the client's password is never needed.
                pass: String::new(),
            });
            self.remote_known = true;
        }
        self.agent.handle_packet(
            now,
            StunPacket {
                proto: Protocol::Udp,
                source: remote,
                destination: local,
                message,
            },
        )
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = Some(now);
        self.agent.handle_timeout(now);
        if self.disconnect_at.is_some_and(|at| at <= now) {
            self.disconnect_at = None;
            self.disconnect_due = true;
        }
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        match (self.agent.poll_timeout(), self.disconnect_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next STUN reply to send: (local address, remote address, bytes).
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        self.agent
            .poll_transmit()
            .map(|t| (t.source, t.destination, t.contents.into()))
    }

    pub fn poll_output(&mut self) -> Option<IceOutput> {
        if std::mem::take(&mut self.disconnect_due) {
            return Some(IceOutput::State(IceState::Disconnected));
        }
        loop {
            let out = match self.agent.poll_event()? {
                // The engine registers client addresses where checks arrive, knowing the socket.
                IceAgentEvent::DiscoveredRecv { .. } => continue,
                IceAgentEvent::NominatedSend {
                    source,
                    destination,
                    ..
                } => IceOutput::Nominated {
                    local: source,
                    remote: destination,
                },
                IceAgentEvent::IceConnectionStateChange(state) => IceOutput::State(match state {
                    IceConnectionState::New | IceConnectionState::Checking => continue,
                    IceConnectionState::Disconnected => {
                        let now = self.now.unwrap_or_else(Instant::now);
                        self.disconnect_at = Some(now + CONSENT_GRACE);
                        continue;
                    }
                    // Back within the grace: nothing was reported, so nothing changes for the engine (it drops a
                    // state equal to the one it has).
                    IceConnectionState::Connected => {
                        self.disconnect_at = None;
                        IceState::Connected
                    }
                    IceConnectionState::Completed => {
                        self.disconnect_at = None;
                        IceState::Completed
                    }
                }),
                IceAgentEvent::IceRestart(_) => continue,
            };
            return Some(out);
        }
    }
}
