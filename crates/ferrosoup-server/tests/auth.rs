//! Optional access control: with an auth secret, `join` needs a signed token naming the room, the peer and a role;
//! the role decides what a peer may publish and whether it may mute or close others' producers.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use ferrosoup_server::{AuthSecret, Server};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

const SECRET: &str = "a classroom secret of at least thirty-two bytes";
const WAIT: Duration = Duration::from_secs(5);

fn token(claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("encode")
}

fn in_ten_minutes() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600
}

async fn start() -> Server {
    let mut config = server_config(256 * 1024);
    config.auth_secret = Some(AuthSecret::new(SECRET));
    Server::start(config).await.expect("server starts")
}

/// Joins with `claims` signed; returns the client and the `joined` data.
async fn join(url: &str, room: &str, name: &str, claims: Value) -> (SignalClient, Value) {
    let sig = SignalClient::connect(url, name).await;
    let joined = sig
        .request(
            "join",
            json!({"roomId": room, "peerId": name, "token": token(claims)}),
            "joined",
        )
        .await;
    (sig, joined)
}

/// A producer's parameters with a fresh mid and SSRC, so one transport can carry several.
fn produce_params(transport: &Value, kind: &str, source: &str) -> Value {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut rtp = if kind == "video" {
        publisher_video_parameters()
    } else {
        publisher_audio_parameters()
    };
    rtp["mid"] = json!(format!("m{n}"));
    rtp["encodings"][0]["ssrc"] = json!(0x7000_0000u32 + 2 * n);
    if kind == "video" {
        rtp["encodings"][0]["rtx"]["ssrc"] = json!(0x7000_0001u32 + 2 * n);
    }
    json!({"transportId": transport["id"], "kind": kind, "rtpParameters": rtp, "appData": {"source": source}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_needs_a_valid_token_for_the_room() {
    bounded(async {
        let server = start().await;
        let url = server.signaling_url();
        let room = "class-1";
        let (teacher, joined) = join(&url, room, "tina", json!({"room": room, "role": "teacher", "exp": in_ten_minutes()})).await;
        assert_eq!(joined["role"], "teacher");

        let c = SignalClient::connect(&url, "carl").await;
        let refused = [
            json!({"roomId": room}),
            json!({"roomId": room, "token": "garbage"}),
            json!({"roomId": room, "token": token(json!({"room": "class-2", "role": "student", "exp": in_ten_minutes()}))}),
            json!({"roomId": room, "token": token(json!({"room": room, "role": "student", "exp": 1_000_000}))}),
            json!({"roomId": room, "token": token(json!({"room": room, "role": "student"}))}),
            json!({"roomId": room, "token": token(json!({"room": room, "role": "principal", "exp": in_ten_minutes()}))}),
            json!({"roomId": room, "peerId": "carl", "token": token(json!({"room": room, "peer": "tina", "role": "teacher", "exp": in_ten_minutes()}))}),
            json!({"roomId": room, "token": jsonwebtoken::encode(&Header::new(Algorithm::HS256),
                &json!({"room": room, "role": "teacher", "exp": in_ten_minutes()}),
                &EncodingKey::from_secret(b"a guessed secret")).unwrap()}),
        ];
        for params in refused {
            let e = c.request_err("join", params.clone()).await;
            assert_eq!(e.code, "unauthorized", "{params} → {e:?}");
        }
        // The sidecar-style shortcut (a transport with a roomId) cannot bypass the token.
        let e = c.request_err("createWebRtcTransport", json!({"roomId": room})).await;
        assert_eq!(e.code, "unauthorized", "{e:?}");
        assert_eq!(server.status().await.unwrap().peers, 1);

        // A token naming the peer gives it that id when the join names none.
        let joined = c
            .request("join", json!({"roomId": room, "token": token(json!({"room": room, "peer": "carl", "role": "student", "exp": in_ten_minutes()}))}), "joined")
            .await;
        assert_eq!(joined["peerId"], "carl");
        assert_eq!(joined["role"], "student");
        teacher.wait_notification("peerJoined", WAIT, |d| d["peerId"] == "carl").await;
        server.stop().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_decide_publishing_and_moderation() {
    bounded(async {
        let server = start().await;
        let url = server.signaling_url();
        let room = "class";
        let exp = in_ten_minutes();
        let (teacher, _) = join(
            &url,
            room,
            "tina",
            json!({"room": room, "role": "teacher", "exp": exp}),
        )
        .await;
        let (listener, _) = join(
            &url,
            room,
            "lea",
            json!({"room": room, "role": "student", "exp": exp}),
        )
        .await;
        let (speaker, _) = join(
            &url,
            room,
            "sam",
            json!({"room": room, "role": "student", "canPublish": true, "exp": exp}),
        )
        .await;

        // The teacher may publish camera and screen.
        let t = create_transport(&teacher, "send").await;
        teacher
            .request("produce", produce_params(&t, "video", "camera"), "produced")
            .await;
        teacher
            .request("produce", produce_params(&t, "video", "screen"), "produced")
            .await;
        // A student without canPublish may not publish at all.
        let l = create_transport(&listener, "send").await;
        for source in ["mic", "camera", "screen"] {
            let e = listener
                .request_err("produce", produce_params(&l, "audio", source))
                .await;
            assert_eq!(e.code, "forbidden", "{source}: {e:?}");
        }
        // A student with canPublish may publish camera and mic, not the screen.
        let s = create_transport(&speaker, "send").await;
        let mic = speaker
            .request("produce", produce_params(&s, "audio", "mic"), "produced")
            .await;
        let cam = speaker
            .request("produce", produce_params(&s, "video", "camera"), "produced")
            .await;
        let e = speaker
            .request_err("produce", produce_params(&s, "video", "screen"))
            .await;
        assert_eq!(e.code, "forbidden", "{e:?}");

        // Students may not act on others' producers; the teacher may.
        for method in ["muteProducer", "closePeerProducer"] {
            let e = listener
                .request_err(method, json!({"producerId": mic["id"]}))
                .await;
            assert_eq!(e.code, "forbidden", "{method}: {e:?}");
        }
        teacher
            .request(
                "muteProducer",
                json!({"producerId": mic["id"]}),
                "producerMuted",
            )
            .await;
        let n = speaker
            .wait_notification("producerPaused", WAIT, |d| d["producerId"] == mic["id"])
            .await;
        assert_eq!(
            (n["peerId"].as_str(), n["byPeerId"].as_str()),
            (Some("sam"), Some("tina"))
        );
        listener
            .wait_notification("producerPaused", WAIT, |d| d["producerId"] == mic["id"])
            .await;
        // The student may unmute itself (as in a video call); closing is the stronger tool.
        speaker
            .request(
                "resumeProducer",
                json!({"producerId": mic["id"]}),
                "producerResumed",
            )
            .await;

        teacher
            .request(
                "closePeerProducer",
                json!({"producerId": cam["id"]}),
                "peerProducerClosed",
            )
            .await;
        let n = speaker
            .wait_notification("producerClosed", WAIT, |d| d["producerId"] == cam["id"])
            .await;
        assert_eq!(n["byPeerId"], "tina");
        let e = speaker
            .request_err("pauseProducer", json!({"producerId": cam["id"]}))
            .await;
        assert_eq!(e.code, "not_found", "the closed producer is gone: {e:?}");
        let e = teacher
            .request_err("muteProducer", json!({"producerId": "no-such-producer"}))
            .await;
        assert_eq!(e.code, "not_found");

        let status = server.status().await.unwrap();
        assert_eq!((status.peers, status.producers), (3, 3), "{status:?}");
        server.stop().await;
    })
    .await;
}

/// With authentication, only a teacher may open a plain transport (it sends media wherever its creator says).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_teacher_may_create_a_plain_transport() {
    bounded(async {
        let mut config = server_config(256 * 1024);
        config.auth_secret = Some(AuthSecret::new(SECRET));
        config.plain_transports = true;
        let server = Server::start(config).await.expect("server starts");
        let url = server.signaling_url();
        let room = "class-plain";
        let claims = |role: &str| json!({"room": room, "role": role, "exp": in_ten_minutes()});
        let (teacher, _) = join(&url, room, "tina", claims("teacher")).await;
        let (student, _) = join(&url, room, "sam", claims("student")).await;
        let e = student
            .request_err("createPlainTransport", json!({"direction": "recv"}))
            .await;
        assert_eq!(e.code, "forbidden", "{e:?}");
        teacher
            .request(
                "createPlainTransport",
                json!({"direction": "recv"}),
                "plainTransportCreated",
            )
            .await;
        server.stop().await;
    })
    .await;
}
