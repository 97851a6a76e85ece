//! What the tool prints: a progress line each second (stderr) and the final summary, as a table or as JSON (stdout).

use std::sync::atomic::Ordering;
use std::time::Instant;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::media::Phase;
use crate::procfs::ProcessSample;
use crate::stats::RunStats;

/// How a figure in bits per second spreads over the transports it was read from.
#[derive(Debug, Clone, Serialize)]
pub struct BitrateSpread {
    pub transports: usize,
    pub min_kbps: f64,
    pub median_kbps: f64,
    pub max_kbps: f64,
}

impl BitrateSpread {
    /// `None` for no readings.
    pub fn of(bps: &mut [u64]) -> Option<BitrateSpread> {
        bps.sort_unstable();
        let kbps = |v: u64| round2(v as f64 / 1000.0);
        let (&min, &median, &max) = (bps.first()?, bps.get(bps.len() / 2)?, bps.last()?);
        Some(BitrateSpread {
            transports: bps.len(),
            min_kbps: kbps(min),
            median_kbps: kbps(median),
            max_kbps: kbps(max),
        })
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub samples: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(h: &Histogram<u64>) -> Latency {
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            samples: h.len(),
            p50_ms: ms(h.value_at_quantile(0.5)),
            p90_ms: ms(h.value_at_quantile(0.9)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcessFigures {
    pub pid: u32,
    /// CPU over the measurement, % of one core.
    pub cpu_percent: f64,
    pub busiest_thread: Option<String>,
    pub busiest_thread_cpu_percent: f64,
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    /// Datagrams the kernel dropped on this process's UDP sockets (full receive buffer) during the measurement.
    pub udp_receive_drops: u64,
}

impl ProcessFigures {
    pub fn between(pid: u32, a: &ProcessSample, b: &ProcessSample, drops: u64) -> ProcessFigures {
        let busiest = b.busiest_thread_since(a);
        ProcessFigures {
            pid,
            cpu_percent: round2(b.cpu_percent_since(a)),
            busiest_thread_cpu_percent: round2(busiest.as_ref().map_or(0.0, |t| t.1)),
            busiest_thread: busiest.map(|t| t.0),
            rss_mb: round2(b.rss_kb as f64 / 1024.0),
            peak_rss_mb: round2(b.hwm_kb as f64 / 1024.0),
            udp_receive_drops: drops,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub url: String,
    pub transport: &'static str,
    pub rooms: usize,
    pub publishers_per_room: usize,
    pub subscribers_per_room: usize,
    pub consumers: usize,
    pub pps_per_publisher: u32,
    pub payload_bytes: usize,
    pub duration_s: f64,
    pub setup_s: f64,
    pub server_startup_ms: Option<f64>,
    pub streams_flowing: usize,
    pub streams_expected: usize,
    pub packets_sent: u64,
    pub packets_expected_out: u64,
    pub packets_received: u64,
    pub loss_percent: f64,
    pub duplicates: u64,
    pub too_late: u64,
    pub send_skipped: u64,
    pub send_errors: u64,
    pub in_pps: f64,
    pub out_pps: f64,
    pub key_frames_sent: u64,
    pub key_frame_requests: u64,
    pub latency: Latency,
    /// How long the server held the packets, arrival to send, from its `/status` (what it adds to the latency).
    pub server_latency: Option<Latency>,
    /// The server's send-side bandwidth estimate toward the WebRTC subscribers at the end of the measurement.
    pub server_estimate: Option<BitrateSpread>,
    pub server: Option<ProcessFigures>,
    pub tool: ProcessFigures,
    /// Reasons not to trust the figures as the server's (the tool short of CPU, streams that never started).
    pub warnings: Vec<String>,
}

pub fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

impl Summary {
    pub fn print_table(&self) {
        let s = self;
        let row = |k: &str, v: String| println!("  {k:<28} {v}");
        println!("ferrosoup-load summary ({})", s.url);
        row(
            "load",
            format!(
                "{} room(s) × {} publisher(s) × {} subscriber(s) = {} consumers; {} pps × {} B per publisher; {} transport",
                s.rooms, s.publishers_per_room, s.subscribers_per_room, s.consumers, s.pps_per_publisher,
                s.payload_bytes, s.transport
            ),
        );
        row(
            "setup",
            format!(
                "{:.2} s; streams flowing {}/{}",
                s.setup_s, s.streams_flowing, s.streams_expected
            ),
        );
        if let Some(ms) = s.server_startup_ms {
            row("server spawn → listening", format!("{ms:.1} ms"));
        }
        row("measured for", format!("{:.2} s", s.duration_s));
        row(
            "packets in (sent)",
            format!("{} ({:.0} pps)", s.packets_sent, s.in_pps),
        );
        row(
            "packets out (received)",
            format!(
                "{} of {} expected ({:.0} pps)",
                s.packets_received, s.packets_expected_out, s.out_pps
            ),
        );
        row("loss", format!("{:.3} %", s.loss_percent));
        row(
            "duplicates / too late",
            format!("{} / {}", s.duplicates, s.too_late),
        );
        row(
            "publisher skipped / errors",
            format!("{} / {}", s.send_skipped, s.send_errors),
        );
        row(
            "key frames sent / requests",
            format!("{} / {}", s.key_frames_sent, s.key_frame_requests),
        );
        let l = &s.latency;
        row(
            "latency (one-way)",
            format!(
                "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  ({} samples)",
                l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.samples
            ),
        );
        if let Some(l) = &s.server_latency {
            row(
                "server-added latency",
                format!(
                    "p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms  ({} packets)",
                    l.p50_ms, l.p90_ms, l.p99_ms, l.p999_ms, l.max_ms, l.samples
                ),
            );
        }
        if let Some(e) = &s.server_estimate {
            row(
                "server bandwidth estimate",
                format!(
                    "min {:.0} kbps  median {:.0} kbps  max {:.0} kbps  ({} subscriber transports)",
                    e.min_kbps, e.median_kbps, e.max_kbps, e.transports
                ),
            );
        }
        let proc_row = |what: &str, p: &ProcessFigures| {
            row(
                what,
                format!(
                    "pid {}: CPU {:.1} % of one core (busiest thread {} {:.1} %), RSS {:.1} MB (peak {:.1} MB), UDP drops {}",
                    p.pid,
                    p.cpu_percent,
                    p.busiest_thread.as_deref().unwrap_or("?"),
                    p.busiest_thread_cpu_percent,
                    p.rss_mb,
                    p.peak_rss_mb,
                    p.udp_receive_drops
                ),
            )
        };
        match &s.server {
            Some(p) => proc_row("server", p),
            None => row(
                "server",
                "no --server-pid / --spawn: CPU and RSS not measured".into(),
            ),
        }
        proc_row("tool (this process)", &s.tool);
        for w in &s.warnings {
            println!("  warning: {w}");
        }
    }

    /// Fills [`Summary::warnings`] from the figures; `threads` is the tool's runtime thread count.
    pub fn add_warnings(&mut self, threads: usize) {
        if self.send_skipped > 0 {
            self.warnings.push(format!(
                "publishers fell behind their rate ({} packets not sent): the tool was short of CPU",
                self.send_skipped
            ));
        }
        if self.tool.cpu_percent >= 90.0 * threads as f64 {
            self.warnings.push(format!(
                "the tool used {:.0} % of its {threads} thread(s): it may be the bottleneck (try --threads)",
                self.tool.cpu_percent
            ));
        }
        if self.tool.udp_receive_drops > 0 {
            self.warnings.push(format!(
                "{} packets dropped in the tool's own sockets: loss is partly the tool's",
                self.tool.udp_receive_drops
            ));
        }
        if self.streams_flowing < self.streams_expected {
            self.warnings.push(format!(
                "only {} of {} streams delivered anything before the measurement",
                self.streams_flowing, self.streams_expected
            ));
        }
    }
}

/// The numbers one progress line is computed from.
pub struct ProgressState {
    at: Instant,
    sent: u64,
    received: u64,
    server: Option<ProcessSample>,
    tool: Option<ProcessSample>,
}

impl ProgressState {
    pub fn new(run: &RunStats, server_pid: Option<u32>) -> ProgressState {
        ProgressState {
            at: Instant::now(),
            sent: run.sent.load(Ordering::Relaxed),
            received: run.received.load(Ordering::Relaxed),
            server: server_pid.and_then(|p| ProcessSample::read(p).ok()),
            tool: ProcessSample::read(std::process::id()).ok(),
        }
    }

    /// Prints one line about the time since the previous call.
    pub fn line(&mut self, run: &RunStats, server_pid: Option<u32>, started: Instant) {
        let next = ProgressState::new(run, server_pid);
        let secs = next.at.duration_since(self.at).as_secs_f64().max(1e-6);
        let in_pps = (next.sent - self.sent) as f64 / secs;
        let out_pps = (next.received - self.received) as f64 / secs;
        let lat = run.take_interval_latency();
        let phase = match run.phase() {
            Phase::Warmup => "warmup",
            Phase::Measure => "measure",
            Phase::Drain => "drain",
        };
        let loss = match run.phase() {
            Phase::Warmup => String::from("-"),
            _ => {
                let expected = run.expected_measured.load(Ordering::Relaxed);
                let got = run.received_measured.load(Ordering::Relaxed);
                if expected == 0 {
                    String::from("-")
                } else {
                    format!(
                        "{:.2}%",
                        100.0 * (1.0 - got as f64 / expected as f64).max(0.0)
                    )
                }
            }
        };
        let server = match (&self.server, &next.server) {
            (Some(a), Some(b)) => format!(
                "server {:5.1}% {:6.1} MB",
                b.cpu_percent_since(a),
                b.rss_kb as f64 / 1024.0
            ),
            _ => String::from("server -"),
        };
        let tool = match (&self.tool, &next.tool) {
            (Some(a), Some(b)) => format!("tool {:5.1}%", b.cpu_percent_since(a)),
            _ => String::new(),
        };
        let (p50, p99) = if lat.is_empty() {
            (0.0, 0.0)
        } else {
            (
                lat.value_at_quantile(0.5) as f64 / 1000.0,
                lat.value_at_quantile(0.99) as f64 / 1000.0,
            )
        };
        eprintln!(
            "[{:6.1}s] {phase:<7} in {in_pps:8.0} pps  out {out_pps:9.0} pps  loss {loss:>6}  p50 {p50:6.2} ms  p99 {p99:7.2} ms  {server}  {tool}",
            started.elapsed().as_secs_f64()
        );
        *self = next;
    }
}

#[cfg(test)]
mod tests {
    use super::BitrateSpread;

    #[test]
    fn a_spread_of_estimates() {
        assert!(BitrateSpread::of(&mut []).is_none());
        let s = BitrateSpread::of(&mut [900_000, 600_000, 1_234_567]).unwrap();
        assert_eq!(s.transports, 3);
        assert_eq!(
            (s.min_kbps, s.median_kbps, s.max_kbps),
            (600.0, 900.0, 1234.57)
        );
    }
}
