//! Deciding which fault, if any, a Graph request meets.

use super::config::Faults;

/// What the simulator does instead of answering a Graph request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Injected {
    /// Close the connection without any response.
    Drop,
    /// 429, with this `Retry-After` value if any.
    Throttle(Option<&'static str>),
    /// 503.
    Unavailable,
}

fn every(n: u64, period: Option<u64>) -> bool {
    matches!(period, Some(p) if p > 0 && n.is_multiple_of(p))
}

/// The fault for Graph request number `n` (counting from 1), in precedence
/// order: dropped connection, constant throttling, periodic throttling,
/// unavailable burst.
pub(crate) fn for_graph_request(faults: &Faults, n: u64) -> Option<Injected> {
    if every(n, faults.drop_connection_every) {
        return Some(Injected::Drop);
    }
    if faults.always_throttle {
        return Some(Injected::Throttle(Some("0.01")));
    }
    if every(n, faults.throttle_every) {
        let retry_after = (!faults.throttle_without_retry_after).then_some("0.05");
        return Some(Injected::Throttle(retry_after));
    }
    if let Some((after, count)) = faults.unavailable_burst
        && n > after
        && n <= after.saturating_add(count)
    {
        return Some(Injected::Unavailable);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_and_burst() {
        let f = Faults {
            throttle_every: Some(3),
            unavailable_burst: Some((4, 2)),
            ..Faults::default()
        };
        let got: Vec<Option<Injected>> = (1..=7).map(|n| for_graph_request(&f, n)).collect();
        assert_eq!(
            got,
            vec![
                None,
                None,
                Some(Injected::Throttle(Some("0.05"))),
                None,
                Some(Injected::Unavailable),
                Some(Injected::Throttle(Some("0.05"))),
                None,
            ]
        );
        let f = Faults {
            throttle_every: Some(1),
            throttle_without_retry_after: true,
            ..Faults::default()
        };
        assert_eq!(for_graph_request(&f, 1), Some(Injected::Throttle(None)));
        let f = Faults {
            drop_connection_every: Some(2),
            always_throttle: true,
            ..Faults::default()
        };
        assert_eq!(for_graph_request(&f, 2), Some(Injected::Drop));
        assert_eq!(
            for_graph_request(&f, 3),
            Some(Injected::Throttle(Some("0.01")))
        );
        assert_eq!(for_graph_request(&Faults::default(), 5), None);
    }
}
