//! `ferrosoup`: the media server with embedded defaults. `ferrosoup --help` lists the settings.

use std::net::{IpAddr, SocketAddr};

use anyhow::Context;
use clap::Parser;
use ferrosoup::ListenInfo;
use ferrosoup_server::{Server, ServerConfig};

/// A pure-Rust SFU for mediasoup-client, with WebSocket signaling and a demo page.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// HTTP and WebSocket address. Use 0.0.0.0:3000 to serve a LAN.
    #[arg(long, env = "FERROSOUP_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// IP the media (UDP) socket binds. 0.0.0.0 binds every interface address and advertises each.
    #[arg(long, env = "FERROSOUP_RTC_IP", default_value = "127.0.0.1")]
    rtc_ip: IpAddr,

    /// UDP port for all media.
    #[arg(long, env = "FERROSOUP_RTC_PORT", default_value_t = 40000)]
    rtc_port: u16,

    /// Address to advertise to clients instead of the bound one (public IP behind NAT, or a host name).
    #[arg(long, env = "FERROSOUP_ANNOUNCED_ADDRESS")]
    announced_address: Option<String>,

    /// Largest signaling message in bytes.
    #[arg(long, env = "FERROSOUP_MAX_MESSAGE_SIZE", default_value_t = 256 * 1024)]
    max_message_size: usize,

    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `ferrosoup=debug`. Falls back to RUST_LOG, then `info`.
    #[arg(long, env = "FERROSOUP_LOG")]
    log: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(
                args.log
                    .clone()
                    .or_else(|| std::env::var("RUST_LOG").ok())
                    .unwrap_or_else(|| "info".into()),
            )
            .context("bad --log filter")?,
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config = ServerConfig {
        listen: args.listen,
        rtc_listen: vec![ListenInfo {
            ip: args.rtc_ip,
            announced_address: args.announced_address,
            port: args.rtc_port,
        }],
        max_message_size: args.max_message_size,
        ..ServerConfig::default()
    };
    let server = Server::start(config).await?;
    let media: Vec<String> = server
        .media_addresses()
        .iter()
        .map(|a| a.to_string())
        .collect();
    println!(
        "ferrosoup listening on {} (media on udp {})",
        server.url(),
        media.join(", ")
    );
    shutdown_signal().await?;
    tracing::info!("shutting down");
    server.stop().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM where there is one (service managers and test harnesses stop processes with it).
async fn shutdown_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("cannot wait for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("cannot wait for Ctrl-C")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("cannot wait for Ctrl-C")?;
    Ok(())
}
