//! Raw WebSocket clients for the abuse and cleanup suites: ones that control the TCP socket (tiny receive buffer, reset
//! on drop), set an `Origin`, or stop reading; and a lean request/reply client that keeps nothing it receives, so it
//! does not grow the test process while thousands of cycles run.

#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

pub type Ws = WebSocketStream<TcpStream>;

const WAIT: Duration = Duration::from_secs(10);

/// How to open the TCP connection under the WebSocket.
#[derive(Debug, Clone, Default)]
pub struct RawOptions {
    /// `SO_RCVBUF` before connecting (the kernel may round it up).
    pub recv_buffer: Option<u32>,
    /// Close with a TCP reset when dropped (linger 0) instead of a FIN.
    pub reset_on_drop: bool,
    pub origin: Option<String>,
}

/// The WebSocket at `url` (`ws://127.0.0.1:PORT/ws`), or the handshake error.
pub async fn connect(url: &str, options: &RawOptions) -> Result<Ws, tungstenite::Error> {
    let addr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .expect("host:port")
        .parse()
        .expect("a socket address");
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(size) = options.recv_buffer {
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    let stream = tokio::time::timeout(WAIT, socket.connect(addr))
        .await
        .expect("TCP connect timed out")
        .expect("TCP connect");
    if options.reset_on_drop {
        stream.set_zero_linger().expect("SO_LINGER");
    }
    let mut request = url.into_client_request().expect("request");
    if let Some(origin) = &options.origin {
        request
            .headers_mut()
            .insert("Origin", HeaderValue::from_str(origin).expect("origin"));
    }
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::client_async(request, stream))
        .await
        .expect("WebSocket handshake timed out")?;
    Ok(ws)
}

/// Sends one request without waiting.
pub async fn send(ws: &mut Ws, id: u64, method: &str, params: Value) {
    let mut object = params.as_object().cloned().unwrap_or_default();
    object.insert("id".into(), json!(id));
    object.insert("type".into(), method.into());
    ws.send(Message::Text(Value::Object(object).to_string().into()))
        .await
        .expect("send");
}

/// Reads until the reply with `id`, dropping notifications. `None` when the connection ends first.
pub async fn reply(ws: &mut Ws, id: u64) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("no reply in time")?;
        let text = match message {
            Ok(Message::Text(t)) => t,
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        };
        let v: Value = serde_json::from_str(text.as_str()).expect("JSON from the server");
        if v.get("id") == Some(&json!(id)) {
            return Some(v);
        }
    }
}

/// A request and its reply; panics on an `error` unless `expect` is `"error"`.
pub async fn call(ws: &mut Ws, id: u64, method: &str, params: Value, expect: &str) -> Value {
    send(ws, id, method, params).await;
    let v = reply(ws, id)
        .await
        .unwrap_or_else(|| panic!("connection closed before the reply to {method}"));
    assert_eq!(v["type"], expect, "{method} → {v}");
    v
}

/// Reads until the connection ends; returns the close frame's code if one came. Panics after `timeout`.
pub async fn wait_closed(ws: &mut Ws, timeout: Duration) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => panic!("the server did not close the connection within {timeout:?}"),
            Ok(None) | Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|f| u16::from(f.code)),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// `GET /status` over plain HTTP, as an operator would.
pub async fn http_status(http_url: &str) -> Value {
    let addr = http_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).await.expect("connect for /status");
    stream
        .write_all(
            format!("GET /status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("/status timed out")
        .expect("read /status");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("/status body {body:?}: {e}"))
}

/// Resident set size of this process (the in-process server and the test's clients), in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
