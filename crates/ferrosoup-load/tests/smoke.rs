//! The tool against an in-process server: every stream flows, nothing is lost, the figures are filled in.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use ferrosoup::ListenInfo;
use ferrosoup_load::{run_load, Args};
use ferrosoup_server::{Server, ServerConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_publishers_three_subscribers_over_webrtc() {
    two_publishers_three_subscribers(&[]).await;
}

/// Subscribers that read on a tick (no one sleeping on their sockets) still get every packet, over either transport,
/// and latency comes from the kernel's receive timestamps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_reading_on_a_tick() {
    for transport in ["webrtc", "plain"] {
        let summary =
            two_publishers_three_subscribers(&["--receive-every", "1", "--transport", transport])
                .await;
        // Stamped on delivery, so not rounded up to the tick: a loopback hop takes well under a millisecond.
        assert!(summary.latency.p50_ms < 1.0, "{transport}: {summary:?}");
    }
}

async fn two_publishers_three_subscribers(extra: &[&str]) -> ferrosoup_load::Summary {
    let server = Server::start(ServerConfig {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        rtc_listen: vec![ListenInfo {
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            announced_address: None,
            port: 0,
        }],
        plain_transports: true,
        ..ServerConfig::default()
    })
    .await
    .expect("the server starts on 127.0.0.1");
    let pid = std::process::id().to_string();
    let url = server.signaling_url();
    let mut argv = vec![
        "ferrosoup-load",
        "--url",
        &url,
        "--publishers",
        "2",
        "--subscribers",
        "3",
        "--pps",
        "300",
        "--payload",
        "500",
        "--duration",
        "1.5",
        "--warmup",
        "0.5",
        "--quiet",
        "--server-pid",
        &pid,
    ];
    argv.extend_from_slice(extra);
    let args = Args::parse_from(argv);
    let summary = tokio::time::timeout(std::time::Duration::from_secs(60), run_load(&args))
        .await
        .expect("the run is bounded")
        .expect("the run succeeds");
    assert_eq!(summary.streams_expected, 6);
    assert_eq!(summary.streams_flowing, 6, "{summary:?}");
    assert!(summary.packets_sent >= 2 * 300, "{summary:?}");
    assert_eq!(
        summary.packets_expected_out,
        3 * summary.packets_sent,
        "{summary:?}"
    );
    // Loopback with no other load: nothing is lost (a stray late packet aside).
    assert!(summary.loss_percent < 1.0, "{summary:?}");
    assert_eq!(summary.duplicates, 0, "{summary:?}");
    assert!(summary.warnings.is_empty(), "{summary:?}");
    assert!(
        summary.latency.samples > 0 && summary.latency.p50_ms > 0.0,
        "{summary:?}"
    );
    if !extra.contains(&"plain") {
        // The subscribers send transport-cc feedback, as browsers do, and the server's estimate climbs from its
        // initial 600 kbps on it (without feedback it holds, then decays).
        let estimate = summary.server_estimate.as_ref().expect("estimates read");
        assert_eq!(estimate.transports, 3, "{summary:?}");
        assert!(estimate.min_kbps > 600.0, "{summary:?}");
    }
    let s = summary.server.as_ref().expect("server figures");
    assert!(s.rss_mb > 0.0 && s.cpu_percent > 0.0, "{summary:?}");
    server.stop().await;
    summary
}

#[tokio::test]
async fn refuses_a_remote_server_unless_allowed() {
    let args = Args::parse_from([
        "ferrosoup-load",
        "--url",
        "ws://192.0.2.1:3000/ws",
        "--quiet",
    ]);
    let err = run_load(&args).await.expect_err("not on this machine");
    assert!(err.to_string().contains("--allow-remote"), "{err}");
}

#[test]
fn baseline_forwards_every_copy_and_measures_its_cpu() {
    for (transport, every) in [("webrtc", None), ("plain", None), ("webrtc", Some("1"))] {
        let mut argv = vec!["ferrosoup-load", "--baseline", "--transport", transport];
        if let Some(ms) = every {
            argv.extend(["--receive-every", ms]);
        }
        let args = Args::parse_from(argv.into_iter().chain([
            "--subscribers",
            "5",
            "--pps",
            "200",
            "--duration",
            "1",
            "--warmup",
            "0.3",
            "--threads",
            "2",
        ]));
        let summary = ferrosoup_load::baseline::run(&args).expect("the baseline runs");
        assert_eq!(summary.srtp, transport == "webrtc");
        // 5 copies of 200 pps, give or take the edges of the window.
        assert!((800.0..=1200.0).contains(&summary.out_pps), "{summary:?}");
        assert!(
            (800.0..=1200.0).contains(&summary.received_pps),
            "{summary:?}"
        );
        assert!(summary.forwarder_cpu_percent > 0.0, "{summary:?}");
    }
}

#[test]
fn baseline_refuses_a_server() {
    let args = Args::parse_from(["ferrosoup-load", "--baseline", "--rooms", "2"]);
    let err = ferrosoup_load::baseline::run(&args).expect_err("one room, no server");
    assert!(err.to_string().contains("--baseline"), "{err}");
}
