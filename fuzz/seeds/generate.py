#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/seeds/<target>/ (committed; scripts/fuzz.sh reads them).

Real-shaped samples the fuzzer mutates from: signaling requests as mediasoup-client sends them, a signed STUN binding
request, RTP packets with RFC 8285 extensions, compound RTCP with every feedback type the engine reads, and op
sequences for the rewriter and the whole engine. Rerun after changing the formats: python3 fuzz/seeds/generate.py
"""
import hashlib
import hmac
import json
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.abspath(__file__))

# The harness's publisher (crates/ferrosoup/src/engine/harness.rs).
VIDEO_SSRC, VIDEO_RTX_SSRC, AUDIO_SSRC = 0x11110001, 0x11110002, 0x22220001
VP8_PT, RTX_PT, OPUS_PT = 96, 97, 111
EXT_MID, EXT_ABS, EXT_TCC = 9, 3, 12


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- signaling ---------------------------------------------------------------------------------------------------
caps = {
    "codecs": [
        {"kind": "audio", "mimeType": "audio/opus", "preferredPayloadType": 100, "clockRate": 48000, "channels": 2,
         "parameters": {"useinbandfec": 1}, "rtcpFeedback": [{"type": "transport-cc", "parameter": ""}]},
        {"kind": "video", "mimeType": "video/VP8", "preferredPayloadType": 101, "clockRate": 90000,
         "parameters": {}, "rtcpFeedback": [{"type": "nack", "parameter": ""}, {"type": "nack", "parameter": "pli"}]},
        {"kind": "video", "mimeType": "video/rtx", "preferredPayloadType": 102, "clockRate": 90000,
         "parameters": {"apt": 101}, "rtcpFeedback": []},
    ],
    "headerExtensions": [
        {"kind": "video", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "direction": "sendrecv"},
    ],
}
rtp_parameters = {
    "mid": "0",
    "codecs": [{"mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "parameters": {},
                "rtcpFeedback": [{"type": "nack", "parameter": ""}]},
               {"mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": {"apt": 96}}],
    "headerExtensions": [{"uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 9, "encrypt": False, "parameters": {}}],
    "encodings": [{"ssrc": 1111, "rtx": {"ssrc": 2222}, "dtx": False},
                  {"rid": "h", "scalabilityMode": "L1T3", "maxBitrate": 900000}],
    "rtcp": {"cname": "c", "reducedSize": True},
}
requests = [
    {"id": 1, "type": "getRouterRtpCapabilities", "roomId": "r1"},
    {"id": "a", "type": "join", "roomId": "r1", "peerId": "p", "displayName": "P", "rtpCapabilities": caps},
    {"id": 3, "type": "createWebRtcTransport", "direction": "send"},
    {"id": 4, "type": "connectWebRtcTransport", "transportId": "t",
     "dtlsParameters": {"role": "client", "fingerprints": [{"algorithm": "sha-256", "value": "AB:CD"}]}},
    {"id": 5, "type": "produce", "transportId": "t", "kind": "video", "rtpParameters": rtp_parameters,
     "appData": {"source": "camera"}, "paused": False},
    {"id": 6, "type": "consume", "transportId": "t", "producerId": "p", "rtpCapabilities": caps},
    {"id": 7, "type": "resumeConsumer", "consumerId": "c"},
    {"type": "pauseProducer", "producerId": "p"},
    {"id": 9, "type": "leave"},
]
for i, r in enumerate(requests):
    write("signaling_parse", f"request-{i}.json", json.dumps(r).encode())


# --- STUN --------------------------------------------------------------------------------------------------------
def stun_binding_request(username, password):
    def attr(t, v):
        return struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4)

    body = attr(0x0006, username.encode()) + attr(0x0024, struct.pack("!I", 1 << 24))
    body += attr(0x802A, struct.pack("!Q", 7)) + attr(0x0025, b"")
    txid = bytes(range(12))
    # MESSAGE-INTEGRITY covers the header with the length up to and including itself.
    header = struct.pack("!HHI", 0x0001, len(body) + 24, 0x2112A442) + txid
    mi = hmac.new(password.encode(), header + body, hashlib.sha1).digest()
    body += attr(0x0008, mi)
    header = struct.pack("!HHI", 0x0001, len(body) + 8, 0x2112A442) + txid
    crc = (zlib.crc32(header + body) ^ 0x5354554E) & 0xFFFFFFFF
    body += attr(0x8028, struct.pack("!I", crc))
    return header + body


write("stun", "binding-request", stun_binding_request("serverufrag:clientufrag", "password"))
write("stun", "binding-request-short-user", stun_binding_request("a:b", "x"))


# --- RTP ---------------------------------------------------------------------------------------------------------
def rtp(pt, seq, ts, ssrc, payload, exts=None, marker=False, csrcs=(), padding=0):
    b0 = 0x80 | (len(csrcs) & 0x0F)
    ext = b""
    if exts:
        b0 |= 0x10
        elems = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in exts)
        elems += b"\0" * (-len(elems) % 4)
        ext = struct.pack("!HH", 0xBEDE, len(elems) // 4) + elems
    if padding:
        b0 |= 0x20
    head = struct.pack("!BBHII", b0, pt | (0x80 if marker else 0), seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    head += b"".join(struct.pack("!I", c) for c in csrcs)
    pad = (b"\0" * (padding - 1) + bytes([padding])) if padding else b""
    return head + ext + payload + pad


def vp8(key, picture_id=5):
    # X=1 S=1 PID=0; I=1 (15-bit picture id); frame tag with bit 0 clear for a key frame.
    desc = bytes([0x90, 0x80, 0x80 | (picture_id >> 8), picture_id & 0xFF])
    tag = bytes([0x00 if key else 0x01, 0x00, 0x00, 0x9D, 0x01, 0x2A, 0x40, 0x01, 0xF0, 0x00])
    return desc + tag + bytes(range(40))


def exts(seq):
    return [(EXT_MID, b"0"), (EXT_ABS, b"\x01\x02\x03"), (EXT_TCC, struct.pack("!H", seq))]


vp8_key = rtp(VP8_PT, 100, 9000, VIDEO_SSRC, vp8(True), exts(1), marker=True)
vp8_delta = rtp(VP8_PT, 101, 12000, VIDEO_SSRC, vp8(False), exts(2))
rtx = rtp(RTX_PT, 7, 9000, VIDEO_RTX_SSRC, struct.pack("!H", 100) + vp8(True), exts(3))
opus = rtp(OPUS_PT, 40, 960, AUDIO_SSRC, bytes(range(60)), exts(4))
two_byte = bytearray(rtp(VP8_PT, 102, 15000, VIDEO_SSRC, vp8(False), csrcs=(9,), padding=4))
two_byte[0] |= 0x10
two_byte = bytes(two_byte[:16]) + struct.pack("!HH", 0x1000, 2) + bytes([EXT_MID, 1, ord("0"), 0, 200, 2, 7, 7]) \
    + bytes(two_byte[16:])
for name, p in [("vp8-key", vp8_key), ("vp8-delta", vp8_delta), ("rtx", rtx), ("opus", opus),
                ("two-byte-ext-csrc-padding", two_byte)]:
    write("rtp_packet", name, bytes([EXT_MID, EXT_TCC]) + p)


# --- RTCP --------------------------------------------------------------------------------------------------------
def rtcp(count, pt, body):
    assert len(body) % 4 == 0
    return struct.pack("!BBH", 0x80 | count, pt, len(body) // 4) + body


def block(ssrc):
    return struct.pack("!IIIIII", ssrc, (3 << 24) | 2, 1000, 5, 0x11112222, 300)


sr = rtcp(1, 200, struct.pack("!IQIII", 0xAAAA, 0xE000000012345678, 9000, 10, 1000) + block(1))
rr = rtcp(1, 201, struct.pack("!I", 0xAAAA) + block(1))
sdes = rtcp(1, 202, struct.pack("!I", 0xAAAA) + bytes([1, 4]) + b"fuzz" + b"\0\0")
bye = rtcp(1, 203, struct.pack("!I", 0xAAAA))
pli = rtcp(1, 206, struct.pack("!II", 0xAAAA, 1))
fir = rtcp(4, 206, struct.pack("!IIIB3x", 0xAAAA, 0, 1, 3))
nack = rtcp(1, 205, struct.pack("!IIHH", 0xAAAA, 1, 100, 0b101))
remb = rtcp(15, 206, struct.pack("!II4sBBH", 0xAAAA, 0, b"REMB", 1, 0x08, 0x1000) + struct.pack("!I", 1))
twcc_body = struct.pack("!IIHHI", 0xAAAA, 1, 0, 3, (100 << 8) | 1) + struct.pack("!H", 0x2003) + bytes([4, 4, 4])
twcc_body += b"\0" * (-len(twcc_body) % 4)
twcc = rtcp(15, 205, twcc_body)
for name, p in [("sr-sdes", sr + sdes), ("rr", rr), ("pli", pli), ("fir", fir), ("nack", nack), ("remb", remb),
                ("twcc", twcc), ("bye", bye), ("everything", rr + sdes + pli + fir + nack + remb + twcc + bye)]:
    write("rtcp", name, p)


# --- rewriter ----------------------------------------------------------------------------------------------------
def rec(op, seq, ts):
    return struct.pack("!BHI", op, seq & 0xFFFF, ts & 0xFFFFFFFF)


ops = rec(0, 100, 1000) + b"".join(rec(3, s, 1000 + 3000 * s) for s in [100, 101, 103, 102, 104, 104])
ops += rec(2, 105, 0) + rec(3, 106, 9) + rec(1, 0, 0) + rec(0, 65530, 5) + b"".join(
    rec(3, s, s) for s in [65530, 65533, 65535, 0, 2, 1])
write("rtp_rewrite", "vp8-ops", bytes([0]) + ops)
write("rtp_rewrite", "vp8-payload", bytes([0]) + vp8(True))
write("rtp_rewrite", "vp9-payload", bytes([1]) + bytes([0x8E, 0x80, 0x05, 0x18, 0x01, 0x40, 0x01, 0xF0, 0x00]) + bytes(20))
write("rtp_rewrite", "h264-idr", bytes([2]) + bytes([0x65, 0x88, 0x84]) + bytes(20))
write("rtp_rewrite", "h264-stap-a", bytes([2]) + bytes([0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00, 0x02, 0x68, 0xCE]))
write("rtp_rewrite", "h264-fu-a", bytes([2]) + bytes([0x7C, 0x85, 0x88]) + bytes(20))


# --- AV1 dependency descriptor ----------------------------------------------------------------------------------
# Chromium 156's L3T3_KEY key frame descriptor (the one in dependency_descriptor.rs's tests), then descriptors that
# lean on its structure: mandatory fields only, and one with an active decode targets bitmask.
L3T3_KEY = bytes.fromhex(
    "c00001c0081485214eaaaaa8000600004000100002aa80a8000600004000100002a000a80006000040"
    "0016d549241b5524906d54923157e001974ca864330e222396eca8655304224390eca8775300ef008601df010d03bf021b1f80")


def dd(choice, descriptor):
    return bytes([len(descriptor), choice]) + descriptor


write("dependency_descriptor", "chrome-l3t3-key", dd(1, L3T3_KEY) + dd(0, bytes([0x85, 0x00, 0x02]))
      + dd(3, bytes([0x45, 0x00, 0x03, 0x40, 0x3F, 0x00])))


# --- whole engine ------------------------------------------------------------------------------------------------
def op(code, payload=b""):
    return bytes([code]) + struct.pack("!H", len(payload)) + payload


def advance(ms):
    return bytes([6]) + struct.pack("!H", ms)


session = b""
for i, s in enumerate([100, 101, 102, 104, 105]):  # 103 is lost: the engine NACKs it
    session += op(3, rtp(VP8_PT, s, 9000 + 3000 * i, VIDEO_SSRC, vp8(i == 0), exts(10 + i), marker=True))
session += op(3, opus) + advance(30)
session += op(3, rtp(RTX_PT, 8, 18000, VIDEO_RTX_SSRC, struct.pack("!H", 103) + vp8(False), exts(20)))
session += op(5, rr + pli) + op(5, nack) + op(5, fir) + advance(1100)
session += op(4, sr + sdes) + op(5, twcc + remb) + advance(120)
session += op(2, vp8_key) + op(0, bytes([22, 254, 253]) + bytes(20)) + op(1, b"\x00\x01" + bytes(30))
session += bytes([7 | 0x20]) + struct.pack("!H", 5001) + b"remote"
write("engine_datagram", "session", session)
write("engine_datagram", "media-only", b"".join(
    op(3, rtp(VP8_PT, 200 + i, 3000 * i, VIDEO_SSRC, vp8(i % 10 == 0), exts(i))) for i in range(30)))
