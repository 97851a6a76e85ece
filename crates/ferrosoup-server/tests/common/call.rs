//! A call between two test peers: A publishes VP8 (and opus if asked), B receives A's video, media flowing.

use std::time::Duration;

use serde_json::json;

use super::{assert_contiguous, Consumed, Publisher, Subscriber};

pub struct Call {
    pub a: Publisher,
    pub b: Subscriber,
    /// B's consumer of A's video.
    pub cv: Consumed,
}

impl Call {
    /// A (video only) and B in `room` on the server at `url`, once B has received ten video packets.
    pub async fn start(url: &str, room: &str) -> Call {
        Call::start_with(url, room, false).await
    }

    /// The same, A also publishing audio when `audio`.
    pub async fn start_with(url: &str, room: &str, audio: bool) -> Call {
        let a = Publisher::start(url, room, "alice", true, audio, 30).await;
        let b = Subscriber::start(url, room, "bob").await;
        let cv = b.consume(a.video_producer.as_deref().expect("video")).await;
        b.resume(&cv.id).await;
        b.rtc
            .wait_packets(cv.ssrc, 10, Duration::from_secs(6))
            .await;
        Call { a, b, cv }
    }

    /// B still receives A's video without a gap, and both still get answers.
    pub async fn continues(&self, what: &str) {
        assert!(!self.a.sig.is_closed(), "{what}: A's connection was closed");
        assert!(!self.b.sig.is_closed(), "{what}: B's connection was closed");
        let n = self.b.rtc.received_count(self.cv.ssrc);
        let all = self
            .b
            .rtc
            .wait_packets(self.cv.ssrc, n + 15, Duration::from_secs(5))
            .await;
        assert_contiguous(what, &all);
        for sig in [&self.a.sig, &self.b.sig] {
            sig.request(
                "getRouterRtpCapabilities",
                json!({}),
                "routerRtpCapabilities",
            )
            .await;
        }
        self.b.pause(&self.cv.id).await;
        self.b.resume(&self.cv.id).await;
    }
}
