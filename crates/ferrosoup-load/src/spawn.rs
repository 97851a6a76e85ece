//! `--spawn PATH`: starts a ferrosoup binary on free loopback ports, learns its URL from the line it prints when it
//! listens, and stops it (SIGTERM, then kill) when the run ends.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long the spawned server may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(10);

pub struct SpawnedServer {
    child: Child,
    pub pid: u32,
    pub url: String,
    /// Spawn → listening line, as the start-up benchmark measures it.
    pub startup: Duration,
}

impl SpawnedServer {
    pub async fn start(path: &str, extra_args: &[String]) -> anyhow::Result<SpawnedServer> {
        let spawned_at = Instant::now();
        let mut child = Command::new(path)
            .args([
                "--listen",
                "127.0.0.1:0",
                "--rtc-ip",
                "127.0.0.1",
                "--rtc-port",
                "0",
                "--log",
                "warn",
            ])
            .args(extra_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {path}"))?;
        let pid = child.id().ok_or_else(|| anyhow!("{path} exited at once"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout of {path}"))?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(START_TIMEOUT, lines.next_line())
            .await
            .map_err(|_| anyhow!("{path} printed nothing within {START_TIMEOUT:?}"))??
            .ok_or_else(|| anyhow!("{path} exited before listening"))?;
        let startup = spawned_at.elapsed();
        // "ferrosoup listening on http://127.0.0.1:PORT (media on udp …)"
        let Some(host) = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
        else {
            bail!("unexpected first line from {path}: {line:?}");
        };
        // Keep reading stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(SpawnedServer {
            child,
            pid,
            url: format!("ws://{host}/ws"),
            startup,
        })
    }

    pub async fn stop(mut self) {
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet (we still hold `child`).
        unsafe {
            libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
    }
}
