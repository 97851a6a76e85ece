//! The plain transport (mediasoup's `PlainTransport`): RTP and RTCP over UDP with no ICE and no DTLS, so tools such
//! as ffmpeg and GStreamer can send media into a router or receive it. Media is in the clear, or SRTP with keys
//! exchanged through signaling (`srtpParameters`). Each plain transport binds its own UDP port(s), as in mediasoup.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::ListenInfo;
use crate::consumer::{Consumer, ConsumerOptions};
use crate::ids::TransportId;
use crate::producer::{Producer, ProducerOptions};
use crate::srtp::SrtpProfile;
use crate::worker::{Channel, Command};
use crate::Error;

/// SRTP crypto suites a plain transport can use, by mediasoup's names. (`AES_CM_128_HMAC_SHA1_32` is not
/// implemented.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum SrtpCryptoSuite {
    #[default]
    #[serde(rename = "AES_CM_128_HMAC_SHA1_80")]
    AesCm128HmacSha1_80,
    #[serde(rename = "AEAD_AES_128_GCM")]
    AeadAes128Gcm,
    #[serde(rename = "AEAD_AES_256_GCM")]
    AeadAes256Gcm,
}

impl SrtpCryptoSuite {
    pub(crate) fn profile(self) -> SrtpProfile {
        match self {
            SrtpCryptoSuite::AesCm128HmacSha1_80 => SrtpProfile::Aes128CmHmacSha1_80,
            SrtpCryptoSuite::AeadAes128Gcm => SrtpProfile::AeadAes128Gcm,
            SrtpCryptoSuite::AeadAes256Gcm => SrtpProfile::AeadAes256Gcm,
        }
    }

    /// Length of the master key followed by the master salt, what `keyBase64` encodes.
    pub fn master_length(self) -> usize {
        let profile = self.profile();
        profile.key_len() + profile.salt_len()
    }
}

/// One side's SRTP keying (mediasoup's `SrtpParameters`): `keyBase64` is the master key followed by the master salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SrtpParameters {
    pub crypto_suite: SrtpCryptoSuite,
    pub key_base64: String,
}

/// A local address and the remote one it exchanges media with (mediasoup's `TransportTuple`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransportTuple {
    /// Same as `localAddress` (mediasoup keeps it for older clients).
    pub local_ip: String,
    /// The announced address if one was set, else the bound IP.
    pub local_address: String,
    pub local_port: u16,
    /// Absent until the transport is connected (or, with comedia, until the first packet arrives).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<u16>,
    pub protocol: String,
}

impl TransportTuple {
    pub(crate) fn new(
        local: SocketAddr,
        announced: Option<&str>,
        remote: Option<SocketAddr>,
    ) -> Self {
        let address = announced.map_or_else(|| local.ip().to_string(), str::to_string);
        TransportTuple {
            local_ip: address.clone(),
            local_address: address,
            local_port: local.port(),
            remote_ip: remote.map(|r| r.ip().to_string()),
            remote_port: remote.map(|r| r.port()),
            protocol: "udp".into(),
        }
    }
}

/// Options of [`crate::Router::create_plain_transport`], with mediasoup's defaults.
#[derive(Debug, Clone)]
pub struct PlainTransportOptions {
    /// Where RTP (and RTCP, with `rtcp_mux`) is received. Port 0 picks a free port.
    pub listen_info: ListenInfo,
    /// Where RTCP is received when `rtcp_mux` is off; by default the listen IP on a free port.
    pub rtcp_listen_info: Option<ListenInfo>,
    /// RTP and RTCP on one port (default true).
    pub rtcp_mux: bool,
    /// Learn the remote address from the first packet that arrives instead of from `connect` (default false).
    pub comedia: bool,
    /// Protect media with SRTP; the keys are exchanged through `srtp_parameters` and `connect` (default false).
    pub enable_srtp: bool,
    pub srtp_crypto_suite: SrtpCryptoSuite,
}

impl Default for PlainTransportOptions {
    fn default() -> Self {
        PlainTransportOptions {
            listen_info: ListenInfo {
                ip: std::net::Ipv4Addr::LOCALHOST.into(),
                announced_address: None,
                port: 0,
            },
            rtcp_listen_info: None,
            rtcp_mux: true,
            comedia: false,
            enable_srtp: false,
            srtp_crypto_suite: SrtpCryptoSuite::default(),
        }
    }
}

/// Where a plain transport sends: what mediasoup's `plainTransport.connect()` takes. Without comedia `ip` and `port`
/// are required, and `rtcp_port` too when `rtcp_mux` is off; with SRTP `srtp_parameters` (the remote side's key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainConnectParameters {
    #[serde(default)]
    pub ip: Option<IpAddr>,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub rtcp_port: Option<u16>,
    #[serde(default)]
    pub srtp_parameters: Option<SrtpParameters>,
}

/// A plain transport's data in mediasoup's shape (`plainTransport.tuple`, `.rtcpTuple`, `.srtpParameters`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlainTransportInfo {
    pub id: TransportId,
    pub tuple: TransportTuple,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtcp_tuple: Option<TransportTuple>,
    pub rtcp_mux: bool,
    pub comedia: bool,
    /// Our key: what the remote side decrypts our media with. Absent without SRTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srtp_parameters: Option<SrtpParameters>,
}

/// What the engine needs to set a plain transport up (its sockets are bound by the handle, so binding errors are the
/// caller's and the worker task never blocks on them).
#[derive(Debug, Clone)]
pub(crate) struct PlainSetup {
    pub local: SocketAddr,
    pub announced: Option<String>,
    /// The RTCP socket's address when `rtcp_mux` is off.
    pub rtcp_local: Option<(SocketAddr, Option<String>)>,
    pub comedia: bool,
    pub srtp: Option<SrtpCryptoSuite>,
}

struct PlainInner {
    info: PlainTransportInfo,
    channel: Channel,
}

impl Drop for PlainInner {
    fn drop(&mut self) {
        self.channel
            .notify(Command::CloseTransport { id: self.info.id });
    }
}

/// Handle to a plain transport. It closes, with its producers and consumers, and releases its ports when the last
/// clone is dropped or on [`PlainTransport::close`].
#[derive(Clone)]
pub struct PlainTransport {
    inner: Arc<PlainInner>,
}

impl PlainTransport {
    pub(crate) fn new(info: PlainTransportInfo, channel: Channel) -> Self {
        PlainTransport {
            inner: Arc::new(PlainInner { info, channel }),
        }
    }

    pub fn id(&self) -> TransportId {
        self.inner.info.id
    }

    /// The transport's data as it was created (local tuple(s), our SRTP key).
    pub fn info(&self) -> &PlainTransportInfo {
        &self.inner.info
    }

    /// Tells the transport where to send (and, with SRTP, the remote key). Once only, as in mediasoup. Returns the
    /// transport's data after connecting: its tuples and, if the crypto suite changed, our new key.
    pub async fn connect(
        &self,
        parameters: PlainConnectParameters,
    ) -> Result<PlainTransportInfo, Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::ConnectPlainTransport {
                id,
                parameters,
                reply,
            })
            .await
    }

    /// The transport's current data: the remote side of the tuples is known once connected or, with comedia, once
    /// the first packet arrived.
    pub async fn data(&self) -> Result<PlainTransportInfo, Error> {
        let id = self.id();
        self.inner
            .channel
            .request(|reply| Command::GetPlainTransport { id, reply })
            .await
    }

    /// The RTP tuple (and RTCP's, with `rtcp_mux`).
    pub async fn tuple(&self) -> Result<TransportTuple, Error> {
        Ok(self.data().await?.tuple)
    }

    /// The RTCP tuple when `rtcp_mux` is off.
    pub async fn rtcp_tuple(&self) -> Result<Option<TransportTuple>, Error> {
        Ok(self.data().await?.rtcp_tuple)
    }

    /// Our SRTP parameters (the key the remote side decrypts our media with), when SRTP is enabled.
    pub async fn srtp_parameters(&self) -> Result<Option<SrtpParameters>, Error> {
        Ok(self.data().await?.srtp_parameters)
    }

    /// Starts receiving a stream the remote side sends (its SSRCs must be in `rtp_parameters`, as no mid/rid
    /// header extension usually arrives from such senders).
    pub async fn produce(&self, options: ProducerOptions) -> Result<Producer, Error> {
        super::produce(&self.inner.channel, self.id(), options).await
    }

    /// Starts sending a producer's stream to the remote side.
    pub async fn consume(&self, options: ConsumerOptions) -> Result<Consumer, Error> {
        super::consume(&self.inner.channel, self.id(), options).await
    }

    /// Counters in mediasoup's stats shape (`type: "plain-rtp-transport"`).
    pub async fn get_stats(&self) -> Result<crate::stats::TransportStats, Error> {
        super::get_stats(&self.inner.channel, self.id()).await
    }

    /// Closes the transport with its producers and consumers now; its ports are released right after.
    pub fn close(&self) {
        self.inner
            .channel
            .notify(Command::CloseTransport { id: self.id() });
    }
}
