//! Readings from Linux's /proc: a process's CPU time (whole and per thread) and memory, and UDP receive-queue drops per
//! local port, so a run can say whether loss happened in the server's socket or in the tool's.

use std::collections::HashSet;
use std::time::Instant;

/// CPU time and memory of a process at one instant.
#[derive(Debug, Clone)]
pub struct ProcessSample {
    pub at: Instant,
    /// utime + stime, in clock ticks.
    pub ticks: u64,
    pub rss_kb: u64,
    pub hwm_kb: u64,
    /// (thread id, name, ticks)
    pub threads: Vec<(u32, String, u64)>,
}

impl ProcessSample {
    pub fn read(pid: u32) -> std::io::Result<ProcessSample> {
        let at = Instant::now();
        let (_, ticks) = stat_ticks(&format!("/proc/{pid}/stat"))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kb = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        let mut threads = Vec::new();
        if let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) {
            for entry in dir.flatten() {
                let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                if let Ok((name, t)) = stat_ticks(&format!("/proc/{pid}/task/{tid}/stat")) {
                    threads.push((tid, name, t));
                }
            }
        }
        Ok(ProcessSample {
            at,
            ticks,
            rss_kb: kb("VmRSS:"),
            hwm_kb: kb("VmHWM:"),
            threads,
        })
    }

    /// CPU used between `earlier` and `self`, in % of one core.
    pub fn cpu_percent_since(&self, earlier: &ProcessSample) -> f64 {
        percent(
            self.ticks.saturating_sub(earlier.ticks),
            self.at.duration_since(earlier.at).as_secs_f64(),
        )
    }

    /// The thread that used the most CPU between `earlier` and `self`: (name, % of one core).
    pub fn busiest_thread_since(&self, earlier: &ProcessSample) -> Option<(String, f64)> {
        let secs = self.at.duration_since(earlier.at).as_secs_f64();
        self.threads
            .iter()
            .map(|(tid, name, t)| {
                let before = earlier
                    .threads
                    .iter()
                    .find(|(e, _, _)| e == tid)
                    .map_or(0, |(_, _, b)| *b);
                (name.clone(), percent(t.saturating_sub(before), secs))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

fn percent(ticks: u64, secs: f64) -> f64 {
    if secs <= 0.0 {
        return 0.0;
    }
    ticks as f64 / clock_ticks_per_second() / secs * 100.0
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf reads a constant of the running system and has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// (comm, utime + stime) of a /proc stat file. The name is in parentheses and may contain spaces, so the fields are
/// counted from the last ')'.
fn stat_ticks(path: &str) -> std::io::Result<(String, u64)> {
    let text = std::fs::read_to_string(path)?;
    let bad = || {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("unexpected {path}"),
        )
    };
    let open = text.find('(').ok_or_else(bad)?;
    let close = text.rfind(')').ok_or_else(bad)?;
    let name = text.get(open + 1..close).unwrap_or("").to_string();
    let fields: Vec<&str> = text
        .get(close + 1..)
        .unwrap_or("")
        .split_whitespace()
        .collect();
    // Fields 14 and 15 of stat(5); fields[0] is field 3.
    let field = |i: usize| -> std::io::Result<u64> {
        fields.get(i).and_then(|v| v.parse().ok()).ok_or_else(bad)
    };
    Ok((name, field(11)? + field(12)?))
}

/// Datagrams the kernel dropped for full receive buffers, summed over the UDP sockets bound to `ports` (IPv4 and IPv6,
/// this network namespace).
pub fn udp_drops(ports: &HashSet<u16>) -> u64 {
    let mut total = 0;
    for path in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if port.is_some_and(|p| ports.contains(&p)) {
                total += fields
                    .last()
                    .and_then(|d| d.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let a = ProcessSample::read(std::process::id()).expect("own /proc entry");
        assert!(a.rss_kb > 0);
        assert!(!a.threads.is_empty());
        let b = ProcessSample::read(std::process::id()).expect("own /proc entry");
        assert!(b.cpu_percent_since(&a) >= 0.0);
    }

    #[test]
    fn udp_drops_of_a_bound_socket() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let port = s.local_addr().expect("addr").port();
        assert_eq!(udp_drops(&HashSet::from([port])), 0);
    }
}
