//! A WebSocket signaling client: requests carry an id and await the reply with that id; everything without an id
//! (notifications, and error replies to messages whose id could not be read) is queued for the test to inspect.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// An `error` reply.
#[derive(Debug, Clone)]
pub struct ErrorReply {
    pub id: Option<Value>,
    pub code: String,
    pub message: String,
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Value>>>>;

pub struct SignalClient {
    pub name: String,
    out: mpsc::UnboundedSender<Message>,
    pending: Pending,
    /// Messages without an id, in arrival order, not yet taken by a `wait_*` call.
    unsolicited: Arc<Mutex<VecDeque<Value>>>,
    /// Every message received, for diagnostics.
    log: Arc<Mutex<Vec<Value>>>,
    closed: Arc<AtomicBool>,
    next_id: AtomicU64,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl SignalClient {
    pub async fn connect(url: &str, name: &str) -> SignalClient {
        let (ws, _response) =
            tokio::time::timeout(REPLY_TIMEOUT, tokio_tungstenite::connect_async(url))
                .await
                .unwrap_or_else(|_| panic!("{name}: WebSocket connect to {url} timed out"))
                .unwrap_or_else(|e| panic!("{name}: WebSocket connect to {url} failed: {e}"));
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let pending: Pending = Arc::default();
        let unsolicited: Arc<Mutex<VecDeque<Value>>> = Arc::default();
        let log: Arc<Mutex<Vec<Value>>> = Arc::default();
        let closed = Arc::new(AtomicBool::new(false));

        let writer = tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let is_close = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() {
                    break;
                }
                if is_close {
                    break;
                }
            }
            let _ = sink.close().await;
        });

        let reader = {
            let pending = pending.clone();
            let unsolicited = unsolicited.clone();
            let log = log.clone();
            let closed = closed.clone();
            let name = name.to_string();
            tokio::spawn(async move {
                while let Some(m) = stream.next().await {
                    let text = match m {
                        Ok(Message::Text(t)) => t.to_string(),
                        Ok(Message::Close(_)) | Err(_) => break,
                        Ok(Message::Binary(b)) => {
                            tracing::warn!(client = %name, "unexpected binary frame of {} bytes", b.len());
                            continue;
                        }
                        Ok(_) => continue,
                    };
                    let value: Value = match serde_json::from_str(&text) {
                        Ok(v) => v,
                        Err(e) => {
                            tracing::warn!(client = %name, "server sent non-JSON {text:?}: {e}");
                            json!({"type": "__invalid", "text": text})
                        }
                    };
                    tracing::debug!(client = %name, "← {text}");
                    log.lock().unwrap().push(value.clone());
                    match value.get("id") {
                        Some(id) => {
                            let waiter = pending.lock().unwrap().remove(&id.to_string());
                            match waiter {
                                Some(w) => {
                                    let _ = w.send(value);
                                }
                                None => {
                                    tracing::warn!(client = %name, "reply to no pending request: {text}");
                                    unsolicited.lock().unwrap().push_back(value);
                                }
                            }
                        }
                        None => unsolicited.lock().unwrap().push_back(value),
                    }
                }
                closed.store(true, Ordering::SeqCst);
                // Wake every waiter: their replies will not come.
                pending.lock().unwrap().clear();
            })
        };

        SignalClient {
            name: name.to_string(),
            out,
            pending,
            unsolicited,
            log,
            closed,
            next_id: AtomicU64::new(1),
            reader,
            writer,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Sends `{"id": <fresh>, "type": method, ...params}` and returns the whole reply message.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id.fetch_add(1, Ordering::SeqCst));
        let mut object = match params {
            Value::Object(o) => o,
            Value::Null => Map::new(),
            other => panic!("params must be an object, got {other}"),
        };
        object.insert("id".into(), id.clone());
        object.insert("type".into(), method.into());
        let text = Value::Object(object).to_string();
        self.send_with_id(&id, text).await
    }

    /// Sends `text` (which the server should read as carrying `id`) and awaits the reply with that id.
    pub async fn send_with_id(&self, id: &Value, text: String) -> Value {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id.to_string(), tx);
        let summary: String = text.chars().take(300).collect();
        tracing::debug!(client = %self.name, "→ {summary}");
        self.out
            .send(Message::Text(text.into()))
            .unwrap_or_else(|_| panic!("{}: connection writer is gone", self.name));
        match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => panic!(
                "{}: connection closed before the reply to {summary}",
                self.name
            ),
            Err(_) => panic!(
                "{}: no reply within {REPLY_TIMEOUT:?} to {summary}",
                self.name
            ),
        }
    }

    /// `call`, expecting success with result type `expect_type`; returns `data`.
    pub async fn request(&self, method: &str, params: Value, expect_type: &str) -> Value {
        let reply = self.call(method, params.clone()).await;
        assert_eq!(
            reply["type"], expect_type,
            "{}: {method} {params} answered {reply}",
            self.name
        );
        reply.get("data").cloned().unwrap_or(Value::Null)
    }

    /// `call`, expecting an `error` reply; returns it.
    pub async fn request_err(&self, method: &str, params: Value) -> ErrorReply {
        let reply = self.call(method, params.clone()).await;
        error_of(&reply)
            .unwrap_or_else(|| panic!("{}: {method} {params} should fail, got {reply}", self.name))
    }

    /// Sends a text frame without waiting for anything.
    pub fn send_text(&self, text: impl Into<String>) {
        let text: String = text.into();
        self.out
            .send(Message::Text(text.into()))
            .unwrap_or_else(|_| panic!("{}: connection writer is gone", self.name));
    }

    pub fn send_binary(&self, bytes: Vec<u8>) {
        self.out
            .send(Message::Binary(bytes.into()))
            .unwrap_or_else(|_| panic!("{}: connection writer is gone", self.name));
    }

    /// Takes the first id-less message matching `pred`, waiting up to `timeout`.
    pub async fn wait_unsolicited(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            {
                let mut q = self.unsolicited.lock().unwrap();
                if let Some(pos) = q.iter().position(&pred) {
                    return q.remove(pos).unwrap();
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: no {what} within {timeout:?}; id-less messages pending: {:?}; closed {}",
                    self.name,
                    self.unsolicited.lock().unwrap(),
                    self.is_closed()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Takes the first notification of type `event` whose data satisfies `pred`.
    pub async fn wait_notification(
        &self,
        event: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let v = self
            .wait_unsolicited(&format!("{event} notification"), timeout, |v| {
                v["type"] == event && pred(&v["data"])
            })
            .await;
        v["data"].clone()
    }

    /// The next id-less `error` message (the reply to a message whose id could not be read).
    pub async fn wait_idless_error(&self, timeout: Duration) -> ErrorReply {
        let v = self
            .wait_unsolicited("id-less error reply", timeout, |v| v["type"] == "error")
            .await;
        error_of(&v).expect("an error")
    }

    /// Id-less messages received and not yet taken.
    pub fn pending_unsolicited(&self) -> Vec<Value> {
        self.unsolicited.lock().unwrap().iter().cloned().collect()
    }

    pub fn all_received(&self) -> Vec<Value> {
        self.log.lock().unwrap().clone()
    }

    /// Closes the WebSocket (a close frame, then the TCP connection).
    pub async fn close(self) {
        let _ = self.out.send(Message::Close(None));
        let _ = tokio::time::timeout(Duration::from_secs(2), self.writer).await;
        self.reader.abort();
    }
}

/// The error of an `error` reply, if it is one.
pub fn error_of(reply: &Value) -> Option<ErrorReply> {
    if reply["type"] != "error" {
        return None;
    }
    Some(ErrorReply {
        id: reply.get("id").cloned(),
        code: reply["error"]["code"]
            .as_str()
            .unwrap_or("<missing>")
            .to_string(),
        message: reply["error"]["message"].as_str().unwrap_or("").to_string(),
    })
}
