//! The WebRTC transport's parameters in mediasoup's JSON shapes (`iceParameters`, `iceCandidates`, `dtlsParameters`).

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// ICE credentials the client needs to reach the transport (`iceParameters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceParameters {
    /// The server's ufrag: the first half of every STUN USERNAME the client sends.
    pub username_fragment: String,
    /// The password that keys the STUN MESSAGE-INTEGRITY.
    pub password: String,
    /// Always true: the server is ICE-lite and never sends checks of its own.
    pub ice_lite: bool,
}

/// One address the client may send media to (`iceCandidates[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// Same foundation for all UDP candidates, as mediasoup ("udpcandidate").
    pub foundation: String,
    /// RFC 8445 priority; earlier listen entries rank higher.
    pub priority: u32,
    /// The address to use (an IP or a host name).
    pub address: String,
    /// Deprecated duplicate of `address`, still read by older clients.
    pub ip: String,
    /// Transport protocol: "udp".
    pub protocol: String,
    /// UDP port.
    pub port: u16,
    /// Candidate type: "host".
    #[serde(rename = "type")]
    pub kind: String,
}

/// DTLS role as in `dtlsParameters.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DtlsRole {
    /// Let the other side choose.
    #[default]
    Auto,
    /// Sends the ClientHello.
    Client,
    /// Answers the ClientHello.
    Server,
}

/// A certificate fingerprint (`{algorithm, value}`), the value as colon-separated hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DtlsFingerprint {
    /// "sha-1", "sha-224", "sha-256", "sha-384" or "sha-512".
    pub algorithm: String,
    /// "AB:CD:…".
    pub value: String,
}

/// `dtlsParameters`: the role and the certificate fingerprints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DtlsParameters {
    /// Role the sender of these parameters takes.
    #[serde(default)]
    pub role: DtlsRole,
    /// Fingerprints of the sender's certificate.
    pub fingerprints: Vec<DtlsFingerprint>,
}

/// ICE state of a transport, as mediasoup reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IceState {
    /// No valid STUN request yet.
    New,
    /// A valid STUN request was answered.
    Connected,
    /// A candidate pair was nominated.
    Completed,
    /// Consent expired: no valid STUN request for too long.
    Disconnected,
    /// The transport is closed.
    Closed,
}

/// DTLS state of a transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtlsState {
    /// Not connected yet.
    New,
    /// Handshake in progress.
    Connecting,
    /// Handshake done, fingerprint checked, SRTP keys in place.
    Connected,
    /// Handshake failed or the fingerprint did not match.
    Failed,
    /// The peer or the server closed the association.
    Closed,
}

/// Where a transport listens and what it tells clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenInfo {
    /// Local IP to bind. `0.0.0.0`/`::` binds every interface address of that family separately, so each STUN reply
    /// leaves from the address the client sent to.
    pub ip: IpAddr,
    /// Address to advertise instead of the bound one (a public IP behind NAT, or a host name).
    pub announced_address: Option<String>,
    /// UDP port; 0 lets the OS choose.
    pub port: u16,
}
