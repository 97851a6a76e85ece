//! DTLS for one transport, on `dimpl`: role selection, the peer-certificate check and SRTP key export.
//!
//! The browser normally starts the handshake right after ICE, and mediasoup-client signals `connect` before that; a few
//! records that arrive before `connect` are kept and replayed once the role is known.

use std::time::Instant;

use dimpl::{Dtls, KeyingMaterial, Output, SrtpProfile};

use crate::certificate::{fingerprint_of, DtlsIdentity};
use crate::transport::{DtlsParameters, DtlsRole, DtlsState};

/// Records kept before `connect`; a handshake's first flight fits easily.
const MAX_EARLY_RECORDS: usize = 8;

/// What the handshake produced that the transport must act on.
pub(crate) enum DtlsEvent {
    /// Connected and the peer proved the signalled certificate: set up SRTP with these keys.
    Connected {
        keying_material: KeyingMaterial,
        profile: SrtpProfile,
        /// Whether we were the DTLS client (decides which half of the keys is ours).
        we_are_client: bool,
    },
    /// The association failed or was closed: the transport's media is over.
    Ended(DtlsState),
}

impl DtlsEvent {
    /// Whether the association failed (as opposed to connecting or closing normally).
    pub fn is_failure(&self) -> bool {
        matches!(self, DtlsEvent::Ended(DtlsState::Failed))
    }
}

pub(crate) struct DtlsSession {
    dtls: Option<Dtls>,
    remote: Option<DtlsParameters>,
    early: Vec<Vec<u8>>,
    state: DtlsState,
    cert_verified: bool,
    handshake_done: bool,
    keys: Option<(KeyingMaterial, SrtpProfile)>,
    timeout: Option<Instant>,
    scratch: Vec<u8>,
}

impl DtlsSession {
    pub fn new() -> Self {
        DtlsSession {
            dtls: None,
            remote: None,
            early: Vec::new(),
            state: DtlsState::New,
            cert_verified: false,
            handshake_done: false,
            keys: None,
            timeout: None,
            scratch: vec![0; 2048],
        }
    }

    pub fn state(&self) -> DtlsState {
        self.state
    }

    /// Starts the association with the peer's parameters. Records that came early are fed now.
    pub fn connect(
        &mut self,
        remote: DtlsParameters,
        identity: &DtlsIdentity,
        now: Instant,
        send: &mut dyn FnMut(&[u8]),
    ) -> Option<DtlsEvent> {
        // The peer says which role it takes; we take the other. A peer that leaves it to us ("auto") talks to an
        // ICE-lite server, which mediasoup answers by being the DTLS client.
        let we_are_client = matches!(remote.role, DtlsRole::Server | DtlsRole::Auto);
        // DTLS 1.2 in both roles: every browser speaks it, and dimpl's 1.3 server path is not yet robust against
        // Chrome's hybrid ClientHello.
        let mut dtls = Dtls::new_12(identity.config.clone(), identity.certificate.clone(), now);
        dtls.set_active(we_are_client);
        // dimpl takes its clock (and initial randoms) from handle_timeout: give it one before any packet.
        if dtls.handle_timeout(now).is_err() {
            self.state = DtlsState::Failed;
            return Some(DtlsEvent::Ended(DtlsState::Failed));
        }
        self.dtls = Some(dtls);
        self.remote = Some(remote);
        self.state = DtlsState::Connecting;
        let mut event = self.drive(now, send);
        for record in std::mem::take(&mut self.early) {
            if event.is_some() {
                break;
            }
            event = self.handle_record(now, &record, send);
        }
        event
    }

    /// Feeds one DTLS record from the selected peer address.
    pub fn handle_record(
        &mut self,
        now: Instant,
        record: &[u8],
        send: &mut dyn FnMut(&[u8]),
    ) -> Option<DtlsEvent> {
        match (&mut self.dtls, self.state) {
            (None, DtlsState::New) => {
                if self.early.len() < MAX_EARLY_RECORDS {
                    self.early.push(record.to_vec());
                }
                None
            }
            (Some(dtls), DtlsState::Connecting | DtlsState::Connected) => {
                if let Err(e) = dtls
                    .handle_timeout(now)
                    .and_then(|_| dtls.handle_packet(record))
                {
                    tracing::debug!("DTLS failed: {e}");
                    return Some(self.end(DtlsState::Failed));
                }
                self.drive(now, send)
            }
            _ => None,
        }
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            DtlsState::Connecting | DtlsState::Connected => self.timeout,
            _ => None,
        }
    }

    /// Whether [`Self::handle_timeout`] at `now` has anything to do: the deadline the timer queue arms is due. One rule
    /// for both, so that a deadline armed can never be one the handler ignores (the worker would spin).
    pub fn timer_due(&self, now: Instant) -> bool {
        self.poll_timeout().is_some_and(|t| t <= now)
    }

    pub fn handle_timeout(
        &mut self,
        now: Instant,
        send: &mut dyn FnMut(&[u8]),
    ) -> Option<DtlsEvent> {
        if !self.timer_due(now) {
            return None;
        }
        let dtls = self.dtls.as_mut()?;
        if let Err(e) = dtls.handle_timeout(now) {
            tracing::debug!("DTLS timed out: {e}");
            return Some(self.end(DtlsState::Failed));
        }
        self.drive(now, send)
    }

    /// Closes the association, sending close_notify when connected.
    pub fn close(&mut self, now: Instant, send: &mut dyn FnMut(&[u8])) {
        if let Some(dtls) = self.dtls.as_mut() {
            if dtls.close().is_ok() {
                let _ = self.drive(now, send);
            }
        }
        self.end(DtlsState::Closed);
    }

    fn end(&mut self, state: DtlsState) -> DtlsEvent {
        self.state = state;
        self.dtls = None;
        self.timeout = None;
        self.keys = None;
        DtlsEvent::Ended(state)
    }

    fn drive(&mut self, _now: Instant, send: &mut dyn FnMut(&[u8])) -> Option<DtlsEvent> {
        let mut peer_cert_ok = None;
        let mut closed = false;
        {
            let dtls = self.dtls.as_mut()?;
            loop {
                match dtls.poll_output(&mut self.scratch) {
                    Output::Packet(p) => send(p),
                    Output::BufferTooSmall { needed } => {
                        // Bounded by the DTLS MTU in practice; the cap keeps a bug from eating memory.
                        if needed > 65_536 {
                            break;
                        }
                        self.scratch.resize(needed, 0);
                    }
                    Output::Timeout(t) => {
                        self.timeout = Some(t);
                        break;
                    }
                    Output::Connected => self.handshake_done = true,
                    Output::PeerCert(der) => {
                        let ok = self.remote.as_ref().is_some_and(|r| {
                            r.fingerprints.iter().any(|fp| {
                                fingerprint_of(&fp.algorithm, der)
                                    .is_some_and(|v| v.eq_ignore_ascii_case(fp.value.trim()))
                            })
                        });
                        peer_cert_ok = Some(ok);
                    }
                    Output::KeyingMaterial(km, profile) => self.keys = Some((km, profile)),
                    // Application data is SCTP for data channels, not handled yet.
                    Output::ApplicationData(_) => {}
                    Output::CloseNotify => {
                        closed = true;
                        break;
                    }
                    _ => {}
                }
            }
        }
        match peer_cert_ok {
            Some(true) => self.cert_verified = true,
            Some(false) => {
                tracing::debug!("DTLS peer certificate does not match the signalled fingerprint");
                return Some(self.end(DtlsState::Failed));
            }
            None => {}
        }
        if closed {
            return Some(self.end(DtlsState::Closed));
        }
        if self.state == DtlsState::Connecting && self.handshake_done && self.cert_verified {
            if let Some((keying_material, profile)) = self.keys.take() {
                self.state = DtlsState::Connected;
                let we_are_client = self.dtls.as_ref().is_some_and(|d| d.is_active());
                return Some(DtlsEvent::Connected {
                    keying_material,
                    profile,
                    we_are_client,
                });
            }
        }
        None
    }
}
