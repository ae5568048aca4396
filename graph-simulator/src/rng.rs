//! A small seeded PRNG (splitmix64) and identifier helpers.
//!
//! Every generated value is a pure function of `(seed, domain, index)`, so
//! the simulator never stores the tenant: it regenerates a user, a device or
//! an installation whenever a request needs it.

/// The splitmix64 increment (the golden ratio in 64 bits).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The splitmix64 output mix: a bijective 64-bit hash.
pub(crate) const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hashes `(seed, domain, index)` to one well-mixed word.
pub(crate) const fn hash3(seed: u64, domain: u64, index: u64) -> u64 {
    mix(seed ^ mix(domain.wrapping_mul(GOLDEN) ^ mix(index.wrapping_add(GOLDEN))))
}

/// Independent random streams: one per kind of generated object.
pub(crate) mod domain {
    pub(crate) const IDENTITY: u64 = 1;
    pub(crate) const USER: u64 = 2;
    pub(crate) const USER_KIND: u64 = 3;
    pub(crate) const CONCEAL_UPN: u64 = 4;
    pub(crate) const CONCEAL_NAME: u64 = 5;
    pub(crate) const DEVICE: u64 = 6;
    pub(crate) const DEVICE_PLATFORM: u64 = 7;
    pub(crate) const DEVICE_APPS: u64 = 8;
    pub(crate) const ENTRA_EXTRA: u64 = 9;
    pub(crate) const CATALOG: u64 = 10;
    pub(crate) const REPORT_APPS: u64 = 11;
    pub(crate) const REPORT_ACTIVATIONS: u64 = 12;
    pub(crate) const REPORT_ACTIVE: u64 = 13;
    pub(crate) const SKU: u64 = 14;
    pub(crate) const TOKEN: u64 = 15;
    pub(crate) const REQUEST: u64 = 16;
    pub(crate) const PAGING: u64 = 17;
    pub(crate) const DOWNLOAD: u64 = 18;
    pub(crate) const JOB: u64 = 19;
}

/// A splitmix64 generator.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";
const UPPER_HEX: &[u8; 16] = b"0123456789ABCDEF";
const UPPER_ALNUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl Rng {
    /// The stream for one object: `index` within `domain`, under `seed`.
    pub(crate) const fn new(seed: u64, domain: u64, index: u64) -> Rng {
        Rng {
            state: hash3(seed, domain, index),
        }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// A uniform value in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniform index in `0..n` (0 when `n` is 0).
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// A uniform value in `lo..=hi` (`lo` when `hi < lo`).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub(crate) fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One item of a non-empty constant table.
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        items.get(self.index(items.len())).copied()
    }

    /// A version-4 style GUID in lower case.
    pub(crate) fn guid(&mut self) -> String {
        let hi = self.next_u64();
        let lo = self.next_u64();
        // Version 4 and RFC 4122 variant bits, as Entra and Intune ids have.
        let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
        let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            hi >> 32,
            (hi >> 16) & 0xFFFF,
            hi & 0xFFFF,
            lo >> 48,
            lo & 0xFFFF_FFFF_FFFF
        )
    }

    /// `len` random lower-case hex digits.
    pub(crate) fn hex_lower(&mut self, len: usize) -> String {
        self.chars(len, LOWER_HEX)
    }

    /// `len` random upper-case hex digits.
    pub(crate) fn hex_upper(&mut self, len: usize) -> String {
        self.chars(len, UPPER_HEX)
    }

    /// `len` random upper-case letters and digits.
    pub(crate) fn alnum_upper(&mut self, len: usize) -> String {
        self.chars(len, UPPER_ALNUM)
    }

    /// `len` characters drawn from `alphabet` (ASCII).
    pub(crate) fn chars(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| {
                let i = self.index(alphabet.len());
                char::from(alphabet.get(i).copied().unwrap_or(b'0'))
            })
            .collect()
    }
}

/// Greatest common divisor.
pub(crate) const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

/// A step in `1..n` coprime with `n`, so `(start + j * step) % n` visits
/// distinct positions for `j < n`. Returns 1 for `n <= 2`.
pub(crate) fn coprime_step(random: u64, n: u64) -> u64 {
    if n <= 2 {
        return 1;
    }
    let mut step = 1 + random % (n - 1);
    while gcd(step, n) != 1 {
        step = if step + 1 >= n { 1 } else { step + 1 };
    }
    step
}

/// URL-safe base64 without padding (for the JWT-shaped access tokens).
pub(crate) fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for s in sextets.iter().take(chunk.len() + 1) {
            out.push(char::from(ALPHABET[*s as usize]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_independent() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7, 1, 3).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(Rng::new(7, 1, 3).next_u64(), Rng::new(7, 1, 4).next_u64());
        assert_ne!(Rng::new(7, 1, 3).next_u64(), Rng::new(8, 1, 3).next_u64());
        assert_ne!(Rng::new(7, 1, 3).next_u64(), Rng::new(7, 2, 3).next_u64());
    }

    #[test]
    fn guid_has_the_right_shape() {
        let g = Rng::new(1, 2, 3).guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.as_bytes()[14], b'4');
        let parts: Vec<usize> = g.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
    }

    #[test]
    fn below_stays_in_range() {
        let mut r = Rng::new(1, 1, 1);
        for n in 1..50 {
            assert!(r.below(n) < n);
        }
        assert_eq!(r.below(0), 0);
        assert_eq!(r.range(5, 5), 5);
    }

    #[test]
    fn coprime_step_visits_every_position() {
        for n in 1..40u64 {
            for random in [0u64, 5, 17, 1234] {
                let step = coprime_step(random, n);
                let mut seen: Vec<u64> = (0..n).map(|j| (3 + j * step) % n).collect();
                seen.sort_unstable();
                seen.dedup();
                assert_eq!(seen.len() as u64, n, "n={n} step={step}");
            }
        }
    }

    #[test]
    fn base64url_matches_known_values() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
    }
}
