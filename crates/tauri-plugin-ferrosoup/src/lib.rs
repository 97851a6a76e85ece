//! A Tauri v2 plugin that runs the ferrosoup media server (SFU + WebSocket signaling) inside the app, in place of a
//! Node.js mediasoup sidecar.
//!
//! ```rust,ignore
//! tauri::Builder::default()
//!     .plugin(tauri_plugin_ferrosoup::init())
//!     // or: .plugin(tauri_plugin_ferrosoup::Builder::new().listen("0.0.0.0:3000".parse()?).rtc_ip("0.0.0.0".parse()?).build())
//! ```
//!
//! - Commands (allowed by the `ferrosoup:default` permission): `plugin:ferrosoup|start` → [`StartInfo`] (starting a
//!   running server returns the same), `plugin:ferrosoup|stop`, `plugin:ferrosoup|status` → [`StatusInfo`].
//! - Events: [`EVENT_STARTED`], [`EVENT_STOPPED`], [`EVENT_PEER_JOINED`], [`EVENT_PEER_LEFT`] (and
//!   [`EVENT_ROOM_CREATED`], [`EVENT_ROOM_CLOSED`]).
//! - From Rust: [`FerrosoupExt`] (`app.ferrosoup().start().await`).
//! - Settings: [`Builder`] in code, `plugins > ferrosoup` in `tauri.conf.json` ([`Config`]); code wins.
//!
//! The plugin is a thin layer over [`ferrosoup_server::Server`], which needs no Tauri. The server's signaling runs on
//! Tauri's async runtime ([`tauri::async_runtime`]) and its media workers on threads of their own; it is stopped when
//! the app exits, and logs through `tracing`.

use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use ferrosoup_server::{Server, ServerConfig, ServerEvent};
use serde::Serialize;
use tauri::plugin::{Builder as PluginBuilder, TauriPlugin};
use tauri::{AppHandle, Emitter, Manager, RunEvent, Runtime};
use tokio::sync::{broadcast, oneshot};

mod commands;
mod config;
mod error;

pub use config::Config;
pub use error::{Error, Result};
pub use ferrosoup_server;

/// The plugin's name: its commands are `plugin:ferrosoup|…`, its permissions `ferrosoup:…`.
pub const PLUGIN_NAME: &str = "ferrosoup";

/// Emitted when the server has started; payload [`StartInfo`].
pub const EVENT_STARTED: &str = "ferrosoup://started";
/// Emitted when the server has stopped (every room closed, every port released); payload `null`.
pub const EVENT_STOPPED: &str = "ferrosoup://stopped";
/// A peer joined a room; payload [`PeerJoined`].
pub const EVENT_PEER_JOINED: &str = "ferrosoup://peer-joined";
/// A peer left a room (or disconnected, or the server stopped); payload [`PeerLeft`].
pub const EVENT_PEER_LEFT: &str = "ferrosoup://peer-left";
/// A room was created (on its first join); payload [`RoomEvent`].
pub const EVENT_ROOM_CREATED: &str = "ferrosoup://room-created";
/// A room was closed (its last peer left); payload [`RoomEvent`].
pub const EVENT_ROOM_CLOSED: &str = "ferrosoup://room-closed";

/// Where the running server can be reached: the `start` command's result and the `started` event's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StartInfo {
    /// `http://host:port`: the demo page, `/status`, `/health`.
    pub url: String,
    /// `ws://host:port/ws`: the signaling WebSocket (docs/protocol.md).
    pub signaling_url: String,
    /// The UDP port all media uses.
    pub media_port: u16,
    /// Every address the media sockets are bound to (`ip:port`).
    pub media_addresses: Vec<String>,
}

impl StartInfo {
    fn of(server: &Server) -> StartInfo {
        StartInfo {
            url: server.url(),
            signaling_url: server.signaling_url(),
            media_port: server
                .media_addresses()
                .first()
                .map(|a| a.port())
                .unwrap_or(0),
            media_addresses: server
                .media_addresses()
                .iter()
                .map(|a| a.to_string())
                .collect(),
        }
    }
}

/// The `status` command's result. All counts are 0 when the server is not running.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    pub running: bool,
    pub rooms: usize,
    pub peers: usize,
    pub producers: usize,
    pub consumers: usize,
    pub transports: usize,
}

/// Payload of [`EVENT_PEER_JOINED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerJoined {
    pub room_id: String,
    pub peer_id: String,
    pub display_name: String,
}

/// Payload of [`EVENT_PEER_LEFT`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerLeft {
    pub room_id: String,
    pub peer_id: String,
}

/// Payload of [`EVENT_ROOM_CREATED`] and [`EVENT_ROOM_CLOSED`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomEvent {
    pub room_id: String,
}

/// The plugin's state: the settings and the running server, if any. Get it with [`FerrosoupExt::ferrosoup`].
///
/// Locking: one `tokio::sync::Mutex` serializes start, stop and status (so two concurrent `start`s bind once). It is
/// an async lock: waiting for it, or holding it while the server binds or stops, parks a task and never blocks a
/// thread. No `std::sync` lock is held across an `.await`, and no lock is held while events are emitted.
pub struct Ferrosoup<R: Runtime> {
    app: AppHandle<R>,
    config: ServerConfig,
    running: tokio::sync::Mutex<Option<Running>>,
}

struct Running {
    server: Server,
    info: StartInfo,
    forwarder: tauri::async_runtime::JoinHandle<()>,
    stop_forwarder: oneshot::Sender<()>,
}

impl<R: Runtime> Ferrosoup<R> {
    /// The settings the server starts with.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Starts the server (HTTP + WebSocket listener, media sockets) on Tauri's async runtime and emits
    /// [`EVENT_STARTED`]. If it is already running, returns its addresses again: not an error.
    pub async fn start(&self) -> Result<StartInfo> {
        let mut running = self.running.lock().await;
        if let Some(r) = running.as_ref() {
            return Ok(r.info.clone());
        }
        let began = Instant::now();
        // `Server::start` spawns its tasks with `tokio::spawn`: run it on Tauri's runtime whoever awaits us.
        let server = tauri::async_runtime::spawn(Server::start(self.config.clone())).await??;
        let info = StartInfo::of(&server);
        let (stop_forwarder, stop_rx) = oneshot::channel();
        let forwarder = tauri::async_runtime::spawn(forward_events(
            self.app.clone(),
            server.subscribe(),
            stop_rx,
        ));
        tracing::info!(
            url = %info.url,
            media = ?info.media_addresses,
            elapsed_us = began.elapsed().as_micros() as u64,
            "ferrosoup started"
        );
        *running = Some(Running {
            server,
            info: info.clone(),
            forwarder,
            stop_forwarder,
        });
        drop(running);
        emit(&self.app, EVENT_STARTED, &info);
        Ok(info)
    }

    /// Closes every room (peers get disconnected), stops accepting connections, releases every port, then emits
    /// [`EVENT_STOPPED`]. Stopping a stopped server does nothing. `start` works again afterwards.
    pub async fn stop(&self) -> Result<()> {
        let mut running = self.running.lock().await;
        let Some(Running {
            server,
            forwarder,
            stop_forwarder,
            ..
        }) = running.take()
        else {
            return Ok(());
        };
        let began = Instant::now();
        let media = server.media_addresses().to_vec();
        // One task on Tauri's runtime does the whole shutdown, so it completes even if our caller goes away.
        tauri::async_runtime::spawn(async move {
            server.stop().await;
            media_released(&media).await;
            // The rooms are closed: the last `peer-left` events are queued. The forwarder sends them and ends.
            let _ = stop_forwarder.send(());
            let _ = forwarder.await;
        })
        .await?;
        drop(running);
        tracing::info!(
            elapsed_us = began.elapsed().as_micros() as u64,
            "ferrosoup stopped"
        );
        emit(&self.app, EVENT_STOPPED, ());
        Ok(())
    }

    /// Whether the server runs, and the counts of what it holds.
    pub async fn status(&self) -> Result<StatusInfo> {
        let running = self.running.lock().await;
        let Some(r) = running.as_ref() else {
            return Ok(StatusInfo::default());
        };
        let s = r.server.status().await?;
        Ok(StatusInfo {
            running: true,
            rooms: s.rooms,
            peers: s.peers,
            producers: s.producers,
            consumers: s.consumers,
            transports: s.transports,
        })
    }

    /// The running server's addresses, or `None`.
    pub async fn info(&self) -> Option<StartInfo> {
        self.running.lock().await.as_ref().map(|r| r.info.clone())
    }

    /// Room and peer events of the running server from now on (the plugin also forwards them to the front end).
    /// `None` when it is not running.
    pub async fn subscribe(&self) -> Option<broadcast::Receiver<ServerEvent>> {
        self.running
            .lock()
            .await
            .as_ref()
            .map(|r| r.server.subscribe())
    }

    /// Stops the server from synchronous code (the app's exit), on a helper thread so that it works whether or not
    /// the calling thread is inside an async runtime.
    fn stop_blocking(&self) {
        std::thread::scope(|scope| {
            let stopping = scope.spawn(|| tauri::async_runtime::block_on(self.stop()));
            match stopping.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!("ferrosoup did not stop cleanly: {e}"),
                Err(_) => tracing::warn!("ferrosoup's stop panicked"),
            }
        });
    }
}

/// Waits (at most 2 s) until the media sockets are closed. `Server::stop` ends the media worker's task but returns
/// before the task has dropped its sockets, so a `start` right after a `stop` on a fixed port could fail with "address
/// in use"; after this, `stop` means the ports are free.
async fn media_released(addresses: &[SocketAddr]) {
    let deadline = Instant::now() + std::time::Duration::from_secs(2);
    for addr in addresses.iter().filter(|a| a.port() != 0) {
        loop {
            match std::net::UdpSocket::bind(addr) {
                Err(e)
                    if e.kind() == std::io::ErrorKind::AddrInUse && Instant::now() < deadline =>
                {
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await
                }
                Err(e) => {
                    tracing::warn!("ferrosoup: media port {addr} not released: {e}");
                    break;
                }
                Ok(_) => break,
            }
        }
    }
}

/// Sends the server's room and peer events to the front end (and to Rust listeners) until told to stop; then sends
/// what is still queued and returns.
async fn forward_events<R: Runtime>(
    app: AppHandle<R>,
    mut events: broadcast::Receiver<ServerEvent>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            biased;
            event = events.recv() => match event {
                Ok(event) => emit_server_event(&app, event),
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("ferrosoup: {n} room/peer events dropped (the app is not keeping up)")
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = &mut stop => break,
        }
    }
    loop {
        match events.try_recv() {
            Ok(event) => emit_server_event(&app, event),
            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                tracing::warn!(
                    "ferrosoup: {n} room/peer events dropped (the app is not keeping up)"
                )
            }
            Err(_) => return,
        }
    }
}

fn emit_server_event<R: Runtime>(app: &AppHandle<R>, event: ServerEvent) {
    tracing::debug!(?event, "ferrosoup event");
    match event {
        ServerEvent::PeerJoined {
            room_id,
            peer_id,
            display_name,
        } => emit(
            app,
            EVENT_PEER_JOINED,
            PeerJoined {
                room_id,
                peer_id,
                display_name,
            },
        ),
        ServerEvent::PeerLeft { room_id, peer_id } => {
            emit(app, EVENT_PEER_LEFT, PeerLeft { room_id, peer_id })
        }
        ServerEvent::RoomCreated { room_id } => {
            emit(app, EVENT_ROOM_CREATED, RoomEvent { room_id })
        }
        ServerEvent::RoomClosed { room_id } => emit(app, EVENT_ROOM_CLOSED, RoomEvent { room_id }),
        // ServerEvent may grow; new kinds are not forwarded until the plugin names them.
        #[allow(unreachable_patterns)]
        _ => {}
    }
}

fn emit<R: Runtime, S: Serialize + Clone>(app: &AppHandle<R>, event: &str, payload: S) {
    if let Err(e) = app.emit(event, payload) {
        tracing::warn!("ferrosoup: cannot emit {event}: {e}");
    }
}

/// Access to the plugin from Rust: `app.ferrosoup().start().await`, on an `App`, `AppHandle`, `Window`, `Webview`…
pub trait FerrosoupExt<R: Runtime> {
    /// The plugin's state. Panics if the plugin was not added to the app.
    fn ferrosoup(&self) -> &Ferrosoup<R>;
}

impl<R: Runtime, T: Manager<R>> FerrosoupExt<R> for T {
    fn ferrosoup(&self) -> &Ferrosoup<R> {
        self.state::<Ferrosoup<R>>().inner()
    }
}

/// The plugin with its defaults (HTTP + WebSocket on `127.0.0.1:3000`, media on UDP `127.0.0.1:40000`), or what
/// `plugins > ferrosoup` in `tauri.conf.json` says.
pub fn init<R: Runtime>() -> TauriPlugin<R, Option<Config>> {
    Builder::new().build()
}

/// The plugin with settings in code. What is set here wins over `tauri.conf.json`, which wins over the defaults.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    base: Option<ServerConfig>,
    config: Config,
}

impl Builder {
    pub fn new() -> Self {
        Builder::default()
    }

    /// HTTP + WebSocket address, e.g. `0.0.0.0:3000` to serve a LAN; port 0 picks a free port.
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.config.listen = Some(addr);
        self
    }

    /// IP the media UDP socket binds (`0.0.0.0`: every interface address, each advertised).
    pub fn rtc_ip(mut self, ip: IpAddr) -> Self {
        self.config.rtc_ip = Some(ip);
        self
    }

    /// The UDP port all media uses; 0 picks a free port.
    pub fn rtc_port(mut self, port: u16) -> Self {
        self.config.rtc_port = Some(port);
        self
    }

    /// Media workers (each up to one core; worker i on UDP port `rtc_port` + i). Default 1.
    pub fn workers(mut self, workers: usize) -> Self {
        self.config.workers = Some(workers);
        self
    }

    /// Address given to clients instead of the bound one (a public IP behind NAT, or a host name).
    pub fn announced_address(mut self, address: impl Into<String>) -> Self {
        self.config.announced_address = Some(address.into());
        self
    }

    /// Longest signaling message in bytes.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = Some(bytes);
        self
    }

    /// Start the server during the app's setup instead of waiting for a `start` command.
    pub fn auto_start(mut self, auto_start: bool) -> Self {
        self.config.auto_start = Some(auto_start);
        self
    }

    /// A complete server configuration (codecs, limits…) to start from instead of [`ServerConfig::default`]; the
    /// other settings, from code or `tauri.conf.json`, are applied on top of it.
    pub fn server_config(mut self, config: ServerConfig) -> Self {
        self.base = Some(config);
        self
    }

    pub fn build<R: Runtime>(self) -> TauriPlugin<R, Option<Config>> {
        let Builder { base, config } = self;
        PluginBuilder::<R, Option<Config>>::new(PLUGIN_NAME)
            .invoke_handler(tauri::generate_handler![
                commands::start,
                commands::stop,
                commands::status
            ])
            .setup(move |app, api| {
                let settings = config.or(api.config().clone().unwrap_or_default());
                let server_config = settings.apply(base.unwrap_or_default());
                tracing::debug!(?server_config, "ferrosoup plugin configured");
                app.manage(Ferrosoup {
                    app: app.clone(),
                    config: server_config,
                    running: tokio::sync::Mutex::new(None),
                });
                if settings.auto_start.unwrap_or(false) {
                    let app = app.clone();
                    tauri::async_runtime::spawn(async move {
                        if let Err(e) = app.ferrosoup().start().await {
                            tracing::error!("ferrosoup did not start: {e}");
                        }
                    });
                }
                Ok(())
            })
            .on_event(|app, event| {
                if let RunEvent::Exit = event {
                    if let Some(ferrosoup) = app.try_state::<Ferrosoup<R>>() {
                        ferrosoup.stop_blocking();
                    }
                }
            })
            .build()
    }
}
