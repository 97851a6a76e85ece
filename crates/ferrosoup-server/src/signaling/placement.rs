//! Which worker a joining peer's media goes to.
//!
//! Each worker is one task, so one core: a room held by one worker is bounded by that core, and in a room where
//! everyone publishes the work grows with the square of its size (every packet goes to every other peer). So a room
//! has a router on every worker, and its peers are placed with these rules:
//!
//! 1. Fill the room's busiest router that still has fewer than `spill` peers: small rooms stay on one worker and pay
//!    nothing for piping.
//! 2. Else open the room on the least-loaded worker that has none of its peers yet.
//! 3. Else the room's router with the fewest peers.
//!
//! A producer is piped to another router of its room the first time a peer there consumes it
//! (`Router::pipe_to_router`), which costs one in-memory copy per packet per extra worker instead of one send per
//! consumer.

/// The worker index for a new peer. `room[i]`: the room's peers on worker `i`; `load[i]`: all peers on worker `i`.
/// Both have one entry per worker (at least one).
pub fn place(room: &[usize], load: &[usize], spill: usize) -> usize {
    let busiest_open = (0..room.len())
        .filter(|&i| room[i] > 0 && room[i] < spill)
        .max_by_key(|&i| (room[i], std::cmp::Reverse(i)));
    if let Some(i) = busiest_open {
        return i;
    }
    let fresh = (0..room.len())
        .filter(|&i| room[i] == 0)
        .min_by_key(|&i| (load.get(i).copied().unwrap_or(0), i));
    if let Some(i) = fresh {
        return i;
    }
    (0..room.len())
        .min_by_key(|&i| (room[i], load.get(i).copied().unwrap_or(0), i))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::place;

    #[test]
    fn one_worker_takes_everyone() {
        assert_eq!(place(&[0], &[0], 10), 0);
        assert_eq!(place(&[25], &[40], 10), 0);
    }

    #[test]
    fn new_rooms_go_to_the_least_loaded_worker() {
        assert_eq!(place(&[0, 0], &[0, 0], 10), 0);
        assert_eq!(place(&[0, 0], &[3, 1], 10), 1);
        assert_eq!(place(&[0, 0, 0], &[3, 1, 1], 10), 1);
    }

    #[test]
    fn small_rooms_stay_together() {
        // Even on a busier worker: piping would cost more than it spreads.
        assert_eq!(place(&[4, 0], &[30, 0], 10), 0);
    }

    #[test]
    fn a_full_router_spills_to_another_worker_then_balances() {
        assert_eq!(place(&[10, 0], &[10, 5], 10), 1);
        // The second router fills up before the room spreads further.
        assert_eq!(place(&[10, 1], &[10, 6], 10), 1);
        assert_eq!(place(&[10, 9, 0], &[10, 9, 2], 10), 1);
        assert_eq!(place(&[10, 10, 0], &[10, 10, 2], 10), 2);
        // Every worker has a full share: the emptiest of the room's routers.
        assert_eq!(place(&[12, 10], &[12, 10], 10), 1);
        assert_eq!(place(&[11, 11], &[20, 11], 10), 1);
    }
}
