//! Per-connection request rate limiting: a token bucket for requests, and a second one for refusals so that a client
//! that ignores `rate_limited` errors and keeps flooding is disconnected instead of being answered forever.

use tokio::time::Instant;

/// How many messages one connection may send. Every frame but a close counts (text, binary, ping, pong).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained messages per second; 0 turns the limit off.
    pub per_second: u32,
    /// Messages that may arrive at once above the sustained rate.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        // A client joining a 40-peer class consumes and resumes ~160 producers at once: the burst covers that, the
        // rate covers any real client by an order of magnitude.
        RateLimit {
            per_second: 100,
            burst: 400,
        }
    }
}

/// What to do with the next message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Serve,
    /// Answer `rate_limited`, keep the connection.
    Refuse,
    /// The client kept flooding after being refused (more than `burst` refusals beyond the rate): close.
    Disconnect,
}

struct Bucket {
    tokens: f64,
    capacity: f64,
    per_second: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: u32, per_second: u32, now: Instant) -> Self {
        Bucket {
            tokens: f64::from(capacity),
            capacity: f64::from(capacity),
            per_second: f64::from(per_second),
            last: now,
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// One connection's limiter.
pub struct RateLimiter {
    requests: Option<Bucket>,
    refusals: Option<Bucket>,
}

impl RateLimiter {
    pub fn new(limit: RateLimit) -> Self {
        let now = Instant::now();
        if limit.per_second == 0 {
            return RateLimiter {
                requests: None,
                refusals: None,
            };
        }
        let burst = limit.burst.max(1);
        RateLimiter {
            requests: Some(Bucket::new(burst, limit.per_second, now)),
            refusals: Some(Bucket::new(burst, limit.per_second, now)),
        }
    }

    pub fn check(&mut self) -> Verdict {
        self.check_at(Instant::now())
    }

    fn check_at(&mut self, now: Instant) -> Verdict {
        let (Some(requests), Some(refusals)) = (&mut self.requests, &mut self.refusals) else {
            return Verdict::Serve;
        };
        if requests.take(now) {
            Verdict::Serve
        } else if refusals.take(now) {
            Verdict::Refuse
        } else {
            Verdict::Disconnect
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_refuse_then_disconnect_and_refill() {
        let t0 = Instant::now();
        let mut l = RateLimiter::new(RateLimit {
            per_second: 10,
            burst: 5,
        });
        // Start from a known clock.
        for b in [&mut l.requests, &mut l.refusals].into_iter().flatten() {
            b.last = t0;
        }
        for _ in 0..5 {
            assert_eq!(l.check_at(t0), Verdict::Serve);
        }
        for _ in 0..5 {
            assert_eq!(l.check_at(t0), Verdict::Refuse);
        }
        assert_eq!(l.check_at(t0), Verdict::Disconnect);
        // 100 ms later one request token is back.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(l.check_at(t1), Verdict::Serve);
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut l = RateLimiter::new(RateLimit {
            per_second: 0,
            burst: 0,
        });
        for _ in 0..10_000 {
            assert_eq!(l.check(), Verdict::Serve);
        }
    }
}
