//! ICE-lite for one transport, on the `is` agent.
//!
//! The server never sends checks: it answers the client's binding requests, learns the client's address from them and
//! sends media to the pair the client nominates. mediasoup-client never signals its own ufrag, so it is learned from
//! the USERNAME of the first binding request that passes the integrity check with our password.

use std::net::SocketAddr;
use std::time::Instant;

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

pub(crate) struct IceLite {
    agent: IceAgent,
    parameters: IceParameters,
    remote_known: bool,
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
        self.agent.handle_timeout(now);
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.agent.poll_timeout()
    }

    /// The next STUN reply to send: (local address, remote address, bytes).
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, SocketAddr, Vec<u8>)> {
        self.agent
            .poll_transmit()
            .map(|t| (t.source, t.destination, t.contents.into()))
    }

    pub fn poll_output(&mut self) -> Option<IceOutput> {
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
                    IceConnectionState::Connected => IceState::Connected,
                    IceConnectionState::Completed => IceState::Completed,
                    IceConnectionState::Disconnected => IceState::Disconnected,
                }),
                IceAgentEvent::IceRestart(_) => continue,
            };
            return Some(out);
        }
    }
}
