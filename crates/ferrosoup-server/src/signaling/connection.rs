//! The WebSocket loop of one client: reads requests one at a time, writes replies and notifications in order, keeps
//! the client to its rate, pings it, and drops it when it stops answering or stops reading.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::sync::{mpsc, Notify};
use tokio::time::Instant;

use super::peer::Notifier;
use super::protocol::{self, ErrorCode, RequestError};
use super::rate::{RateLimit, RateLimiter, Verdict};
use super::room::Rooms;
use super::session::Session;
use crate::auth::Authenticator;

/// WebSocket keepalive: the server pings every `interval` and drops a client it has heard nothing from (no pong, no
/// message) for `timeout`, so a laptop that vanished from the network leaves its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    /// Zero turns pings and the timeout off.
    pub interval: Duration,
    /// Zero turns the timeout off (pings are still sent). Should be a few intervals, so one lost pong is not fatal.
    pub timeout: Duration,
}

impl Default for Keepalive {
    fn default() -> Self {
        // Browsers answer pings by themselves; 30 s of silence matches ICE consent expiry in mediasoup.
        Keepalive {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Everything one connection needs from the server's configuration.
#[derive(Clone)]
pub struct ConnectionSettings {
    pub max_message_size: usize,
    pub max_queued_messages: usize,
    pub rate_limit: RateLimit,
    pub keepalive: Keepalive,
    pub auth: Option<Arc<Authenticator>>,
}

/// Why the read loop ended, which decides how the socket is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client closed, or the connection failed.
    Client,
    /// The server is stopping: flush what is queued and say goodbye.
    Stopping,
    /// The client's queue is full or it stopped answering: do not wait on it.
    Stuck,
    /// The client kept flooding after `rate_limited` errors.
    Flood,
}

type Sink = SplitSink<WebSocket, Message>;

pub async fn serve(socket: WebSocket, rooms: Arc<Rooms>, settings: ConnectionSettings) {
    let (sink, mut stream) = socket.split();
    let (queue, outgoing) = mpsc::channel::<String>(settings.max_queued_messages.max(1));
    let kick = Arc::new(Notify::new());
    let mut writer = tokio::spawn(write_loop(sink, outgoing, settings.keepalive.interval));

    let mut session = Session::new(
        rooms,
        Notifier {
            queue: queue.clone(),
            kick: kick.clone(),
        },
        settings.auth.clone(),
    );
    let mut limiter = RateLimiter::new(settings.rate_limit);
    let keepalive = settings.keepalive;
    let max_message_size = settings.max_message_size;
    let mut last_heard = Instant::now();
    let end = loop {
        let silence_deadline = last_heard + keepalive.timeout;
        let message = tokio::select! {
            message = stream.next() => message,
            _ = kick.notified() => break if queue.is_closed() || queue.capacity() == 0 { End::Stuck } else { End::Stopping },
            _ = tokio::time::sleep_until(silence_deadline), if !keepalive.interval.is_zero() && !keepalive.timeout.is_zero() => {
                tracing::info!("closing a connection silent for {:?} (no pong)", keepalive.timeout);
                break End::Stuck;
            }
        };
        let message = match message {
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break End::Client,
            Some(Ok(m)) => m,
        };
        last_heard = Instant::now();
        match limiter.check() {
            Verdict::Serve => {}
            Verdict::Refuse => {
                let reply = rate_limited(&message, settings.rate_limit);
                if queue.try_send(reply).is_err() {
                    break End::Stuck;
                }
                continue;
            }
            Verdict::Disconnect => {
                tracing::warn!(
                    "closing a connection that keeps flooding after rate_limited errors"
                );
                break End::Flood;
            }
        }
        let reply = match message {
            Message::Text(text) if text.len() > max_message_size => protocol::error(
                None,
                &RequestError::new(
                    ErrorCode::TooLarge,
                    format!(
                        "message of {} bytes exceeds the limit of {max_message_size}",
                        text.len()
                    ),
                ),
            ),
            Message::Text(text) => session.handle_text(text.as_str()).await,
            Message::Binary(_) => protocol::error(
                None,
                &RequestError::new(
                    ErrorCode::BadRequest,
                    "binary messages are not supported; send JSON text",
                ),
            ),
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => continue,
        };
        // Replies share the bounded queue with notifications: a client that sends requests without reading the
        // answers fills it and is dropped like any client that does not read.
        if queue.try_send(reply).is_err() {
            break End::Stuck;
        }
    };
    if end == End::Stuck {
        tracing::info!("dropping a client that does not read its messages or answer pings");
    }
    session.leave().await;
    drop(session);
    drop(queue);
    // The writer ends once every sender is gone (the peer's copy went with `leave`), after flushing the queue.
    let close = match end {
        End::Stuck => {
            writer.abort();
            return;
        }
        End::Client => None,
        End::Stopping => Some((close_code::AWAY, "server stopping")),
        End::Flood => Some((close_code::POLICY, "request flood")),
    };
    match tokio::time::timeout(Duration::from_secs(2), &mut writer).await {
        Ok(Ok(mut sink)) => {
            if let Some((code, reason)) = close {
                let frame = CloseFrame {
                    code,
                    reason: reason.into(),
                };
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    sink.send(Message::Close(Some(frame))),
                )
                .await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
        }
        // The client stopped reading: do not keep its socket alive.
        Ok(Err(_)) | Err(_) => writer.abort(),
    }
}

/// Sends queued messages in order, and a ping every `ping_interval`. Returns the sink once the queue is closed.
async fn write_loop(
    mut sink: Sink,
    mut outgoing: mpsc::Receiver<String>,
    ping_interval: Duration,
) -> Sink {
    let mut ping = (!ping_interval.is_zero()).then(|| {
        let mut i = tokio::time::interval_at(Instant::now() + ping_interval, ping_interval);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    loop {
        let message = tokio::select! {
            text = outgoing.recv() => match text {
                Some(text) => Message::Text(text.into()),
                None => break,
            },
            _ = async { match ping.as_mut() { Some(i) => { i.tick().await; } None => std::future::pending().await } } => {
                Message::Ping(Default::default())
            }
        };
        if sink.send(message).await.is_err() {
            // The connection is gone; the read loop sees it too. Drain nothing more.
            outgoing.close();
            break;
        }
    }
    sink
}

/// The `rate_limited` reply, with the request's id when it has one (read without building the request).
fn rate_limited(message: &Message, limit: RateLimit) -> String {
    // Other fields are skipped without being built.
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    let id = match message {
        Message::Text(text) => serde_json::from_str::<IdOnly>(text.as_str())
            .ok()
            .and_then(|m| m.id)
            .filter(|id| id.is_number() || id.is_string()),
        _ => None,
    };
    protocol::error(
        id.as_ref(),
        &RequestError::new(
            ErrorCode::RateLimited,
            format!(
                "more than {} messages per second (burst {}); this one was not served",
                limit.per_second, limit.burst
            ),
        ),
    )
}
