//! HTTP and WebSocket on one port: the demo page, `/status`, `/health`, and the signaling WebSocket at `/ws` (and at
//! `/`, where the original sidecar's clients connect).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Json;

use tracing::Instrument;

use crate::server::Shared;

const INDEX_HTML: &str = include_str!("../assets/index.html");
const APP_JS: &str = include_str!("../assets/app.js");

pub fn router(shared: Arc<Shared>) -> axum::Router {
    axum::Router::new()
        .route("/", get(index))
        .route("/ws", get(websocket))
        .route("/app.js", get(app_js))
        .route("/status", get(status))
        .route("/health", get(|| async { "ok" }))
        .with_state(shared)
}

async fn index(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade_socket(shared, remote, &headers, upgrade),
        Err(_) => Html(INDEX_HTML).into_response(),
    }
}

async fn websocket(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade_socket(shared, remote, &headers, upgrade)
}

fn upgrade_socket(
    shared: Arc<Shared>,
    remote: SocketAddr,
    headers: &HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_str = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let origin = header_str(header::ORIGIN);
    if headers.get(header::ORIGIN).is_some() && origin.is_none()
        || !crate::origin::allowed(
            origin,
            header_str(header::HOST),
            &shared.config.allowed_origins,
        )
    {
        tracing::warn!(%remote, ?origin, "WebSocket refused: origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed").into_response();
    }
    let Some(slot) = ConnectionSlot::take(&shared) else {
        tracing::warn!(%remote, "WebSocket refused: too many connections");
        return (StatusCode::SERVICE_UNAVAILABLE, "too many connections").into_response();
    };
    // A client is here: its first transport will need the DTLS certificate, which is made once per process.
    ferrosoup::prewarm_dtls_certificate();
    let limit = shared.config.max_message_size;
    upgrade
        // Frames up to 4x the limit are read and answered with `too_large`; larger ones close the connection, so a
        // client cannot make the server buffer without bound.
        .max_message_size(limit.saturating_mul(4))
        .max_frame_size(limit.saturating_mul(4))
        .read_buffer_size(READ_BUFFER_SIZE)
        .on_upgrade(move |socket| {
            let span = tracing::info_span!("ws", %remote);
            async move {
                crate::signaling::connection::serve(
                    socket,
                    shared.rooms.clone(),
                    shared.connection.clone(),
                )
                .await;
                drop(slot);
            }
            .instrument(span)
        })
}

/// What a connection reads into at a time. tungstenite zero-fills its read buffer up to this size before each read, so
/// all of it stays resident for the connection's life: at its default of 128 KiB that was two fifths of a subscribing
/// peer's memory. Signaling messages are a few KB; a larger frame still gets a buffer of its own size.
const READ_BUFFER_SIZE: usize = 16 * 1024;

/// One counted connection; released when dropped (also when the upgrade never completes and the callback is dropped).
struct ConnectionSlot(Arc<AtomicUsize>);

impl ConnectionSlot {
    fn take(shared: &Shared) -> Option<ConnectionSlot> {
        let max = shared.config.limits.max_connections;
        shared
            .connections
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| ConnectionSlot(shared.connections.clone()))
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

async fn app_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        APP_JS,
    )
}

async fn status(State(shared): State<Arc<Shared>>) -> Response {
    match shared.status_page().await {
        Ok(status) => Json(status).into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
