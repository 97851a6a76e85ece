//! HTTP and WebSocket on one port: the demo page, `/status`, `/health`, and the signaling WebSocket at `/ws` (and at
//! `/`, where the original sidecar's clients connect).

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Json;

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
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade_socket(shared, upgrade),
        Err(_) => Html(INDEX_HTML).into_response(),
    }
}

async fn websocket(State(shared): State<Arc<Shared>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade_socket(shared, upgrade)
}

fn upgrade_socket(shared: Arc<Shared>, upgrade: WebSocketUpgrade) -> Response {
    let limit = shared.config.max_message_size;
    upgrade
        // Frames up to 4x the limit are read and answered with `too_large`; larger ones close the connection, so a
        // client cannot make the server buffer without bound.
        .max_message_size(limit.saturating_mul(4))
        .max_frame_size(limit.saturating_mul(4))
        .on_upgrade(move |socket| {
            crate::signaling::connection::serve(socket, shared.rooms.clone(), limit)
        })
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
        Err(e) => (axum::http::StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}
