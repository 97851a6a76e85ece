//! The WebSocket loop of one client: reads requests one at a time, writes replies and notifications in order.

use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, Notify};

use super::peer::Notifier;
use super::protocol::{self, ErrorCode, RequestError};
use super::room::Rooms;
use super::session::Session;

/// Messages queued for one client (replies and notifications). A client that lets this many pile up is dropped.
const OUTGOING_QUEUE: usize = 1024;

pub async fn serve(socket: WebSocket, rooms: Arc<Rooms>, max_message_size: usize) {
    let (mut sink, mut stream) = socket.split();
    let (queue, mut outgoing) = mpsc::channel::<String>(OUTGOING_QUEUE);
    let kick = Arc::new(Notify::new());
    let writer = tokio::spawn(async move {
        while let Some(text) = outgoing.recv().await {
            if sink.send(Message::Text(text.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let mut session = Session::new(
        rooms,
        Notifier {
            queue: queue.clone(),
            kick: kick.clone(),
        },
    );
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = kick.notified() => {
                tracing::info!("closing the connection (server stopping, or a client that does not read its messages)");
                break;
            }
        };
        let reply = match message {
            Some(Ok(Message::Text(text))) if text.len() > max_message_size => protocol::error(
                None,
                &RequestError::new(
                    ErrorCode::TooLarge,
                    format!(
                        "message of {} bytes exceeds the limit of {max_message_size}",
                        text.len()
                    ),
                ),
            ),
            Some(Ok(Message::Text(text))) => session.handle_text(text.as_str()).await,
            Some(Ok(Message::Binary(_))) => protocol::error(
                None,
                &RequestError::new(
                    ErrorCode::BadRequest,
                    "binary messages are not supported; send JSON text",
                ),
            ),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
        };
        if queue.send(reply).await.is_err() {
            break;
        }
    }
    session.leave().await;
    drop(session);
    drop(queue);
    // The writer ends once every sender is gone; do not wait on a client that stopped reading.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), writer).await;
}
