//! The server's own latency figures, read from its `/status` page: how long its workers held each packet, from the
//! kernel's arrival timestamp to the send. Two readings, before and after the measurement, give the window's
//! histogram — the latency the server adds, without the tool's own share that the end-to-end figure includes.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::report::Latency;
use crate::stats::new_histogram;

/// Larger than any status page (the buckets are at most ~1000 pairs).
const MAX_PAGE: u64 = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(5);

/// One reading of the server's latency buckets: upper bound (ns) → count.
#[derive(Debug, Default, Clone)]
pub struct LatencyReading(BTreeMap<u64, u64>);

impl LatencyReading {
    /// Reads `/status` of the server whose signaling URL is `url` (`ws://host:port/…`).
    pub async fn fetch(url: &str) -> anyhow::Result<LatencyReading> {
        let page = tokio::time::timeout(TIMEOUT, get_status(url))
            .await
            .map_err(|_| anyhow!("/status did not answer in {TIMEOUT:?}"))??;
        LatencyReading::parse(&page)
    }

    fn parse(page: &serde_json::Value) -> anyhow::Result<LatencyReading> {
        let buckets = page["latency"]["buckets"].as_array().ok_or_else(|| {
            anyhow!("/status has no latency buckets (a server older than this tool?)")
        })?;
        let mut map = BTreeMap::new();
        for bucket in buckets {
            if let (Some(upper), Some(count)) = (bucket[0].as_u64(), bucket[1].as_u64()) {
                map.insert(upper, count);
            }
        }
        Ok(LatencyReading(map))
    }

    /// Percentiles of what was recorded between `earlier` and this reading, in whole microseconds rounded up.
    pub fn since(&self, earlier: &LatencyReading) -> Latency {
        let mut window: Histogram<u64> = new_histogram();
        for (&upper, &count) in &self.0 {
            let n = count.saturating_sub(earlier.0.get(&upper).copied().unwrap_or(0));
            if n > 0 {
                let micros = upper.div_ceil(1000).max(1);
                let _ = window.record_n(micros.min(window.high()), n);
            }
        }
        Latency::of(&window)
    }
}

/// `GET /status` over HTTP/1.0 (the server closes after the answer), parsed as JSON.
async fn get_status(url: &str) -> anyhow::Result<serde_json::Value> {
    let authority = url
        .strip_prefix("ws://")
        .ok_or_else(|| anyhow!("server latency needs a ws:// URL, not {url}"))?
        .split('/')
        .next()
        .unwrap_or_default();
    let mut stream = TcpStream::connect(authority)
        .await
        .with_context(|| format!("connecting to {authority}"))?;
    stream
        .write_all(format!("GET /status HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes())
        .await?;
    let mut response = Vec::new();
    (&mut stream)
        .take(MAX_PAGE)
        .read_to_end(&mut response)
        .await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("/status: no HTTP response"))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(anyhow!(
            "/status answered {}",
            head.lines().next().unwrap_or_default()
        ));
    }
    serde_json::from_str(body).context("/status is not JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_difference_of_two_readings() {
        let before = LatencyReading::parse(&serde_json::json!({
            "latency": {"buckets": [[40_959, 100], [5_111_807, 10]]}
        }))
        .expect("parses");
        let after = LatencyReading::parse(&serde_json::json!({
            "latency": {"buckets": [[40_959, 300], [5_111_807, 10], [1_015_807, 2]]}
        }))
        .expect("parses");
        let window = after.since(&before);
        assert_eq!(window.samples, 202);
        assert!((window.p50_ms - 0.041).abs() < 0.001, "{window:?}");
        assert!((window.max_ms - 1.016).abs() < 0.002, "{window:?}");
    }
}
