//! A small, self-contained PRNG (SplitMix64 seeding xoshiro256**), so that a scene's bytes
//! depend only on its seed, never on a crate's stream stability or on the thread count.

/// One SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The value of stream `stream` of `seed`: one mixed value per `(seed, stream)` pair.
pub(crate) fn hash(seed: u64, stream: u64) -> u64 {
    let mut state = seed ^ splitmix64(&mut stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
    splitmix64(&mut state)
}

/// xoshiro256** (Blackman & Vigna, 2018).
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for `(seed, stream)`, e.g. one per scene line.
    pub(crate) fn new(seed: u64, stream: u64) -> Rng {
        let mut state = hash(seed, stream);
        let s = [
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
            splitmix64(&mut state),
        ];
        Rng { s }
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A uniform value in `[0, 1)`.
    pub(crate) fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// An approximately standard normal value from one draw: the Irwin–Hall sum of four
    /// 16-bit uniforms, centred and scaled to unit variance (cheap enough for one value per
    /// band per pixel; the tails stop at ±3.46σ).
    pub(crate) fn normal(&mut self) -> f64 {
        let bits = self.next_u64();
        let sum: u64 = (0..4).map(|i| (bits >> (16 * i)) & 0xFFFF).sum();
        // Each part is uniform on [0, 65535]: mean 4 × 32767.5, variance 4 × (65536² − 1)/12.
        (sum as f64 - 131_070.0) / 37_837.23
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, 3);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..4)
            .map({
                let mut r = Rng::new(7, 3);
                move |_| r.next_u64()
            })
            .collect();
        let c = Rng::new(7, 4).next_u64();
        assert_eq!(a, b);
        assert_ne!(a[0], c);
        assert_ne!(Rng::new(8, 3).next_u64(), a[0]);
    }

    #[test]
    fn normal_has_unit_variance_and_zero_mean() {
        let mut r = Rng::new(1, 1);
        let n = 200_000;
        let values: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "{mean}");
        assert!((var - 1.0).abs() < 0.02, "{var}");
        let u = r.uniform();
        assert!((0.0..1.0).contains(&u));
    }
}
