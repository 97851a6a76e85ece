//! A peer's wake-up timer, precise for publishers.
//!
//! tokio's timer counts whole milliseconds, and what it schedules fires up to a millisecond late. A publisher woken by
//! it sent 1000 pps as pairs of back-to-back packets every 2 ms, and the server's latency figures then measured the
//! tool's bursts rather than a steady stream. A precise timer is a `timerfd` on Linux: the kernel's high-resolution
//! timers, waited on through the runtime's reactor like a socket. Subscribers, and other systems, use tokio's timer.

use std::pin::Pin;
use std::time::Instant;

use tokio::time::Sleep;

pub struct Timer {
    #[cfg(target_os = "linux")]
    precise: Option<tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>>,
    coarse: Pin<Box<Sleep>>,
}

impl Timer {
    /// A timer on tokio's millisecond wheel.
    pub fn coarse() -> Timer {
        Timer {
            #[cfg(target_os = "linux")]
            precise: None,
            coarse: Box::pin(tokio::time::sleep(std::time::Duration::ZERO)),
        }
    }

    /// A timer that fires within microseconds of its deadline where the system has one (a coarse timer otherwise, or
    /// if the descriptor cannot be made).
    pub fn precise() -> Timer {
        #[cfg(target_os = "linux")]
        return Timer {
            precise: linux::timerfd()
                .and_then(|fd| {
                    // SAFETY: the AsyncFd owns `fd`, so it stays open and the same for the AsyncFd's whole life.
                    let registered = unsafe {
                        tokio::io::unix::AsyncFd::register_with_interest(
                            fd,
                            tokio::io::Interest::READABLE,
                        )
                    };
                    registered.map_err(std::io::Error::from)
                })
                .map_err(|e| tracing::debug!("no timerfd ({e}); publishers wake on tokio's timer"))
                .ok(),
            ..Timer::coarse()
        };
        #[cfg(not(target_os = "linux"))]
        Timer::coarse()
    }

    /// Waits until `deadline`. Cancel-safe: a wait dropped for another event leaves nothing that fires the next one
    /// early.
    pub async fn sleep_until(&mut self, deadline: Instant) {
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.precise {
            if linux::wait_until(fd, deadline).await.is_ok() {
                return;
            }
        }
        self.coarse.as_mut().reset(deadline.into());
        self.coarse.as_mut().await;
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::time::Instant;

    use tokio::io::unix::AsyncFd;

    pub fn timerfd() -> io::Result<OwnedFd> {
        // SAFETY: plain system call; a non-negative result is a descriptor this process now owns.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nothing else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    pub async fn wait_until(fd: &AsyncFd<OwnedFd>, deadline: Instant) -> io::Result<()> {
        // An expiry left by a wait that was dropped would end this one at once: read it away first.
        let _ = read_expirations(fd.get_ref());
        let wait = deadline.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return Ok(());
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: wait.as_secs() as libc::time_t,
                tv_nsec: libc::c_long::from(wait.subsec_nanos() as i32),
            },
        };
        // SAFETY: `spec` is a valid itimerspec; the old value is not asked for.
        if unsafe { libc::timerfd_settime(fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut ready = fd.readable().await?;
            match ready.try_io(|inner| read_expirations(inner.get_ref())) {
                Ok(result) => return result,
                // Readiness left over from an expiry read away above: wait for the real one.
                Err(_would_block) => continue,
            }
        }
    }

    fn read_expirations(fd: &OwnedFd) -> io::Result<()> {
        let mut count = [0u8; 8];
        // SAFETY: reads at most 8 bytes into `count`.
        let n = unsafe { libc::read(fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_dropped_wait_does_not_end_the_next_one_early() {
        for mut timer in [Timer::precise(), Timer::coarse()] {
            let start = Instant::now();
            // Armed for 5 ms, abandoned after ~1 ms; its expiry then happens while nobody waits.
            let _ = tokio::time::timeout(
                Duration::from_millis(1),
                timer.sleep_until(start + Duration::from_millis(5)),
            )
            .await;
            std::thread::sleep(Duration::from_millis(10));
            let again = Instant::now();
            timer.sleep_until(again + Duration::from_millis(30)).await;
            assert!(again.elapsed() >= Duration::from_millis(30));
        }
    }

    #[tokio::test]
    async fn a_deadline_already_passed_returns_at_once() {
        let mut timer = Timer::precise();
        let past = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        tokio::time::timeout(Duration::from_secs(5), timer.sleep_until(past))
            .await
            .expect("a passed deadline does not wait");
    }
}
