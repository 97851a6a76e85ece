//! Sharing one transport's available outgoing bitrate among its video consumers.
//!
//! Each scalable consumer offers a ladder of layer options, cheapest first, each with the bitrate its producer
//! currently sends for it. Every consumer first gets its cheapest option (a small picture beats a frozen one; fixed
//! costs such as audio and non-scalable video are taken off the budget before), then upgrades are handed out in
//! rounds: in each round a consumer may climb as many rungs as its priority, highest priority first, while the budget
//! lasts. This is mediasoup's scheme (priority = upgrades per round), with the minimum layer guaranteed.

/// One rung of a consumer's ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerOption<L> {
    pub layers: L,
    pub bitrate: u64,
}

/// A consumer asking for a share: its priority (1–255) and its options, cheapest first.
#[derive(Debug, Clone)]
pub(crate) struct Claim<K, L> {
    pub key: K,
    pub priority: u8,
    pub options: Vec<LayerOption<L>>,
}

/// The option index each claim gets (`None` only for a claim without options), in the order given.
pub(crate) fn allocate<K: Copy, L: Copy>(
    available: u64,
    fixed: u64,
    claims: &[Claim<K, L>],
) -> Vec<(K, Option<usize>)> {
    let mut chosen: Vec<Option<usize>> = claims
        .iter()
        .map(|c| (!c.options.is_empty()).then_some(0))
        .collect();
    let minimum: u64 = claims
        .iter()
        .filter_map(|c| c.options.first().map(|o| o.bitrate))
        .sum();
    let mut budget = available.saturating_sub(fixed).saturating_sub(minimum);

    let mut order: Vec<usize> = (0..claims.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(claims[i].priority));
    loop {
        let mut progressed = false;
        for &i in &order {
            let claim = &claims[i];
            for _ in 0..claim.priority.max(1) {
                let Some(current) = chosen[i] else {
                    break;
                };
                let (Some(now), Some(next)) =
                    (claim.options.get(current), claim.options.get(current + 1))
                else {
                    break;
                };
                let extra = next.bitrate.saturating_sub(now.bitrate);
                if extra > budget {
                    break;
                }
                budget -= extra;
                chosen[i] = Some(current + 1);
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
    }
    claims.iter().map(|c| c.key).zip(chosen).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(key: u32, priority: u8, rates: &[u64]) -> Claim<u32, usize> {
        Claim {
            key,
            priority,
            options: rates
                .iter()
                .enumerate()
                .map(|(i, &bitrate)| LayerOption { layers: i, bitrate })
                .collect(),
        }
    }

    #[test]
    fn everyone_gets_the_minimum_then_upgrades_fit_the_budget() {
        let claims = [
            ladder(1, 1, &[100_000, 300_000, 900_000]),
            ladder(2, 1, &[100_000, 300_000, 900_000]),
        ];
        assert_eq!(
            allocate(2_000_000, 0, &claims),
            vec![(1, Some(2)), (2, Some(2))]
        );
        assert_eq!(
            allocate(700_000, 0, &claims),
            vec![(1, Some(1)), (2, Some(1))]
        );
        assert_eq!(
            allocate(50_000, 0, &claims),
            vec![(1, Some(0)), (2, Some(0))]
        );
        // Fixed costs (audio) come off first.
        assert_eq!(
            allocate(700_000, 150_000, &claims),
            vec![(1, Some(1)), (2, Some(0))]
        );
    }

    #[test]
    fn higher_priority_climbs_first_and_further() {
        let claims = [
            ladder(1, 1, &[100_000, 300_000, 900_000]),
            ladder(2, 2, &[100_000, 300_000, 900_000]),
        ];
        assert_eq!(
            allocate(1_100_000, 0, &claims),
            vec![(1, Some(0)), (2, Some(2))]
        );
    }

    #[test]
    fn empty_ladders_get_nothing() {
        let claims = [ladder(1, 1, &[])];
        assert_eq!(allocate(1_000_000, 0, &claims), vec![(1, None)]);
    }
}
