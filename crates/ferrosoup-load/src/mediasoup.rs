//! The mediasoup JSON shapes the tool sends and reads: what a browser running mediasoup-client would put in `join`,
//! `produce` and `consume`, built from the router's capabilities, and the fields it needs from the replies.

use std::net::{IpAddr, SocketAddr};

use anyhow::{anyhow, Context};
use serde_json::{json, Value};

pub const URI_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
pub const URI_ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
pub const URI_TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// The stream a mediasoup server sends bandwidth probes on (padding-only packets), to every receive transport: its
/// mid, SSRC and payload type, as mediasoup-client knows them without being told (`probator` consumer).
pub const PROBATOR_MID: &str = "probator";
pub const PROBATOR_SSRC: u32 = 1234;
pub const PROBATOR_PT: u8 = 127;

/// What the tool uses of the router's capabilities: VP8 (and its RTX) and the video header-extension ids.
#[derive(Debug, Clone)]
pub struct RouterVideo {
    pub caps: Value,
    pub vp8: Value,
    pub vp8_pt: u8,
    pub rtx: Option<Value>,
    pub rtx_pt: Option<u8>,
    /// (id, uri) of the video extensions both sides understand.
    pub extensions: Vec<(u8, &'static str)>,
}

impl RouterVideo {
    pub fn from_caps(caps: Value) -> anyhow::Result<RouterVideo> {
        let codecs = caps["codecs"]
            .as_array()
            .ok_or_else(|| anyhow!("router capabilities without codecs"))?;
        let vp8 = codecs
            .iter()
            .find(|c| mime_is(c, "video/VP8"))
            .cloned()
            .ok_or_else(|| anyhow!("the router offers no VP8"))?;
        let vp8_pt = pt_of(&vp8).context("VP8 preferredPayloadType")?;
        let rtx = codecs
            .iter()
            .find(|c| {
                mime_is(c, "video/rtx") && c["parameters"]["apt"].as_u64() == Some(vp8_pt.into())
            })
            .cloned();
        let rtx_pt = rtx.as_ref().and_then(|r| pt_of(r).ok());
        let mut extensions = Vec::new();
        for uri in [URI_MID, URI_ABS_SEND_TIME, URI_TRANSPORT_CC] {
            let id = caps["headerExtensions"].as_array().and_then(|exts| {
                exts.iter()
                    .find(|e| e["kind"] == "video" && e["uri"] == uri)
                    .and_then(|e| e["preferredId"].as_u64())
            });
            if let Some(id) = id.and_then(|id| u8::try_from(id).ok()) {
                extensions.push((id, uri));
            }
        }
        Ok(RouterVideo {
            caps,
            vp8,
            vp8_pt,
            rtx,
            rtx_pt,
            extensions,
        })
    }

    /// A receiving browser's `device.rtpCapabilities`: VP8 (+ RTX) and the extensions the tool understands.
    pub fn receiver_capabilities(&self) -> Value {
        let mut codecs = vec![self.vp8.clone()];
        codecs.extend(self.rtx.clone());
        let exts: Vec<Value> = self.caps["headerExtensions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| {
                        e["kind"] == "video" && self.extensions.iter().any(|(_, u)| e["uri"] == *u)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        json!({"codecs": codecs, "headerExtensions": exts})
    }

    /// The `rtpParameters` of `produce` for one VP8 track, with the router's payload types and extension ids.
    pub fn publisher_parameters(&self, mid: &str, ssrc: u32, rtx_ssrc: u32, cname: &str) -> Value {
        let feedback = json!([
            {"type": "goog-remb", "parameter": ""},
            {"type": "transport-cc", "parameter": ""},
            {"type": "ccm", "parameter": "fir"},
            {"type": "nack", "parameter": ""},
            {"type": "nack", "parameter": "pli"}
        ]);
        let mut codecs = vec![
            json!({"mimeType": "video/VP8", "payloadType": self.vp8_pt, "clockRate": 90000,
                                     "parameters": {}, "rtcpFeedback": feedback}),
        ];
        let mut encoding = json!({"ssrc": ssrc, "dtx": false});
        if let Some(rtx_pt) = self.rtx_pt {
            codecs.push(
                json!({"mimeType": "video/rtx", "payloadType": rtx_pt, "clockRate": 90000,
                               "parameters": {"apt": self.vp8_pt}, "rtcpFeedback": []}),
            );
            encoding["rtx"] = json!({"ssrc": rtx_ssrc});
        }
        let exts: Vec<Value> = self
            .extensions
            .iter()
            .map(|(id, uri)| json!({"uri": uri, "id": id, "encrypt": false, "parameters": {}}))
            .collect();
        json!({
            "mid": mid,
            "codecs": codecs,
            "headerExtensions": exts,
            "encodings": [encoding],
            "rtcp": {"cname": cname, "reducedSize": true},
        })
    }
}

fn mime_is(codec: &Value, mime: &str) -> bool {
    codec["mimeType"]
        .as_str()
        .is_some_and(|m| m.eq_ignore_ascii_case(mime))
}

fn pt_of(codec: &Value) -> anyhow::Result<u8> {
    codec["preferredPayloadType"]
        .as_u64()
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| anyhow!("codec without a payload type: {codec}"))
}

/// The parts of `webRtcTransportCreated` a client needs to connect.
#[derive(Debug, Clone)]
pub struct TransportInfo {
    pub id: String,
    pub ufrag: String,
    pub password: String,
    pub candidates: Vec<SocketAddr>,
    /// (hash function, bytes)
    pub fingerprint: (String, Vec<u8>),
}

impl TransportInfo {
    pub fn parse(data: &Value) -> anyhow::Result<TransportInfo> {
        let text = |v: &Value, what: &str| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("webRtcTransportCreated without {what}: {data}"))
        };
        let fingerprints = data["dtlsParameters"]["fingerprints"]
            .as_array()
            .ok_or_else(|| anyhow!("no dtlsParameters.fingerprints"))?;
        // mediasoup-client takes the last one; sha-256 is the one str0m checks.
        let fp = fingerprints
            .iter()
            .rev()
            .find(|f| f["algorithm"] == "sha-256")
            .ok_or_else(|| anyhow!("no sha-256 fingerprint"))?;
        let bytes = text(&fp["value"], "fingerprint value")?
            .split(':')
            .map(|h| u8::from_str_radix(h, 16))
            .collect::<Result<Vec<u8>, _>>()
            .context("fingerprint value is not hex")?;
        let mut candidates = Vec::new();
        for c in data["iceCandidates"].as_array().into_iter().flatten() {
            if c["protocol"].as_str().unwrap_or("udp") != "udp" {
                continue;
            }
            let ip: Option<IpAddr> = c["address"]
                .as_str()
                .or(c["ip"].as_str())
                .and_then(|s| s.parse().ok());
            let port = c["port"].as_u64().and_then(|p| u16::try_from(p).ok());
            if let (Some(ip), Some(port)) = (ip, port) {
                candidates.push(SocketAddr::new(ip, port));
            }
        }
        if candidates.is_empty() {
            return Err(anyhow!("no usable UDP candidate in {data}"));
        }
        Ok(TransportInfo {
            id: text(&data["id"], "id")?,
            ufrag: text(
                &data["iceParameters"]["usernameFragment"],
                "usernameFragment",
            )?,
            password: text(&data["iceParameters"]["password"], "password")?,
            candidates,
            fingerprint: (text(&fp["algorithm"], "algorithm")?, bytes),
        })
    }
}

/// The parts of `consumed` a receiver needs to declare the stream.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub id: String,
    pub mid: String,
    pub ssrc: u32,
    pub rtx_ssrc: Option<u32>,
}

impl Consumed {
    pub fn parse(data: &Value) -> anyhow::Result<Consumed> {
        let params = &data["rtpParameters"];
        let encoding = &params["encodings"][0];
        let ssrc = encoding["ssrc"]
            .as_u64()
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| anyhow!("consumed without encodings[0].ssrc: {data}"))?;
        Ok(Consumed {
            id: data["id"]
                .as_str()
                .ok_or_else(|| anyhow!("consumed without id"))?
                .to_string(),
            mid: params["mid"]
                .as_str()
                .ok_or_else(|| anyhow!("consumed without mid"))?
                .to_string(),
            ssrc,
            rtx_ssrc: encoding["rtx"]["ssrc"]
                .as_u64()
                .and_then(|s| u32::try_from(s).ok()),
        })
    }
}
