//! One signaling connection: JSON requests with ids over a WebSocket, each awaiting the reply with its id.
//!
//! Notifications are read and dropped as they come, for the whole life of the connection: the server disconnects a
//! client that lets 1024 messages queue up, and a large room sends every peer one `peerJoined` per newcomer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// How long one request may wait for its reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(15);

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

pub struct Signal {
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl Signal {
    pub async fn connect(url: &str) -> anyhow::Result<Signal> {
        let (ws, _) = tokio::time::timeout(REPLY_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| anyhow!("WebSocket connect to {url} timed out"))?
            .with_context(|| format!("WebSocket connect to {url}"))?;
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let pending: Pending = Arc::default();
        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader = {
            let pending = pending.clone();
            tokio::spawn(async move {
                while let Some(Ok(m)) = stream.next().await {
                    let Message::Text(text) = m else { continue };
                    let Ok(value) = serde_json::from_str::<Value>(&text) else {
                        continue;
                    };
                    let Some(id) = value.get("id").and_then(Value::as_u64) else {
                        continue;
                    };
                    let waiter = lock(&pending).remove(&id);
                    if let Some(w) = waiter {
                        let _ = w.send(value);
                    }
                }
                // Dropping the senders wakes every waiter with an error.
                lock(&pending).clear();
            })
        };
        Ok(Signal {
            out,
            pending,
            next_id: AtomicU64::new(1),
            reader,
            writer,
        })
    }

    /// Sends `{"id", "type": method, ...params}`; returns the reply's `data` when its type is `expect`.
    pub async fn request(
        &self,
        method: &str,
        params: Value,
        expect: &str,
    ) -> anyhow::Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut object = match params {
            Value::Object(o) => o,
            _ => Map::new(),
        };
        object.insert("id".into(), id.into());
        object.insert("type".into(), method.into());
        let (tx, rx) = oneshot::channel();
        lock(&self.pending).insert(id, tx);
        self.out
            .send(Message::Text(Value::Object(object).to_string().into()))
            .map_err(|_| anyhow!("{method}: the connection is closed"))?;
        let reply = tokio::time::timeout(REPLY_TIMEOUT, rx)
            .await
            .map_err(|_| anyhow!("{method}: no reply within {REPLY_TIMEOUT:?}"))?
            .map_err(|_| anyhow!("{method}: the connection closed before the reply"))?;
        if reply["type"] != expect {
            bail!("{method} answered {reply}");
        }
        Ok(reply.get("data").cloned().unwrap_or(Value::Null))
    }

    /// Closes the WebSocket; the server then removes the peer and everything it owned.
    pub async fn close(self) {
        let _ = self.out.send(Message::Close(None));
        drop(self.out);
        let _ = tokio::time::timeout(Duration::from_secs(2), self.writer).await;
        self.reader.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
