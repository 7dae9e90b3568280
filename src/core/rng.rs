//! Counter-based randomness.
//!
//! Every random draw in edra is a pure function of `(seed, stream, step, purpose)`: no generator
//! is shared between threads and no state is carried from one draw to the next, so the result of
//! a run does not depend on which thread handled which synapse, nor on iteration order, and a
//! checkpoint needs no generator state. The hash is SplitMix64's finaliser applied in a chain,
//! which passes BigCrush as a counter-based generator (Steele, Lea & Flood 2014).

/// What a draw is for; part of the key, so that two purposes never share a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Purpose {
    /// Presynaptic vesicle release (NMDA Ca model).
    Release = 1,
    /// Poisson spike sources: the gap to the next spike.
    Poisson = 2,
    /// Noise term of the calcium rule.
    RuleNoise = 3,
    /// Connectivity at build time.
    Connectivity = 4,
    /// Initial values and delays at build time.
    Init = 5,
    /// Delay of a rule-triggered reward.
    RewardDelay = 6,
    /// Random input kicks of model neurons.
    NeuronKick = 7,
    /// Second uniform of a Box–Muller pair.
    NormalPair = 8,
    /// Uniform input noise of model neurons.
    NeuronNoise = 9,
    /// First spike of a Poisson source (at the start, or after its rate changed).
    PoissonStart = 10,
}

#[inline(always)]
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 64 random bits for one key.
#[inline(always)]
pub fn bits(seed: u64, stream: u64, step: u64, purpose: Purpose) -> u64 {
    Draws::new(seed, step, purpose).bits(stream)
}

/// The draws of one purpose on one step, for many streams: the part of the key that does not
/// depend on the stream is hashed once. `Draws::new(seed, step, p).bits(s)` equals
/// `bits(seed, s, step, p)`.
#[derive(Clone, Copy, Debug)]
pub struct Draws {
    key: u64,
    step: u64,
}

impl Draws {
    #[inline(always)]
    pub fn new(seed: u64, step: u64, purpose: Purpose) -> Self {
        let key = splitmix(seed ^ (purpose as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        Draws { key, step }
    }

    #[inline(always)]
    pub fn bits(&self, stream: u64) -> u64 {
        splitmix(splitmix(self.key ^ stream) ^ self.step)
    }

    /// The uniform draw of `stream` in [0, 1), as [`uniform_f64`] gives it.
    #[inline(always)]
    pub fn uniform_f64(&self, stream: u64) -> f64 {
        (self.bits(stream) >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Whether the uniform draw of `stream` ([`uniform_f64`]) is below the probability whose
    /// [`threshold`] is `t`: the same outcome, compared in integers.
    #[inline(always)]
    pub fn below(&self, stream: u64, t: u64) -> bool {
        self.bits(stream) >> 11 < t
    }
}

/// The integer threshold of probability `p` for [`Draws::below`]: a 53-bit draw k gives
/// k·2⁻⁵³ < p exactly when k < ⌈p·2⁵³⌉ (scaling by a power of two is exact).
pub fn threshold(p: f64) -> u64 {
    (p.clamp(0.0, 1.0) * 9_007_199_254_740_992.0).ceil() as u64
}

/// A uniform draw in [0, 1) with 24 bits of resolution.
#[inline(always)]
pub fn uniform_f32(seed: u64, stream: u64, step: u64, purpose: Purpose) -> f32 {
    (bits(seed, stream, step, purpose) >> 40) as f32 * (1.0 / 16_777_216.0)
}

/// A uniform draw in [0, 1) with 53 bits of resolution.
#[inline(always)]
pub fn uniform_f64(seed: u64, stream: u64, step: u64, purpose: Purpose) -> f64 {
    Draws::new(seed, step, purpose).uniform_f64(stream)
}

/// A standard normal draw (Box–Muller on two keyed uniforms).
#[inline]
pub fn normal(seed: u64, stream: u64, step: u64, purpose: Purpose) -> f64 {
    let u1 = uniform_f64(seed, stream, step, purpose);
    let u2 = uniform_f64(
        seed ^ 0x5851_F42D_4C95_7F2D,
        stream,
        step,
        Purpose::NormalPair,
    );
    let r = (-2.0 * (1.0 - u1).ln()).sqrt();
    r * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_pure_functions_of_the_key() {
        assert_eq!(
            bits(7, 3, 11, Purpose::Poisson),
            bits(7, 3, 11, Purpose::Poisson)
        );
        assert_ne!(
            bits(7, 3, 11, Purpose::Poisson),
            bits(7, 3, 11, Purpose::Release)
        );
        assert_ne!(
            bits(7, 3, 11, Purpose::Poisson),
            bits(7, 4, 11, Purpose::Poisson)
        );
    }

    #[test]
    fn integer_thresholds_give_the_float_comparison() {
        for p in [0.0, 1e-9, 0.005, 0.25, 0.5, 0.999, 1.0] {
            let (t, d) = (threshold(p), Draws::new(3, 17, Purpose::Poisson));
            for stream in 0..20_000 {
                assert_eq!(
                    d.below(stream, t),
                    uniform_f64(3, stream, 17, Purpose::Poisson) < p,
                    "p {p} stream {stream}"
                );
            }
        }
        // Exactly at a representable draw: k·2⁻⁵³ = p is not below p.
        let k = bits(3, 5, 17, Purpose::Poisson) >> 11;
        let p = k as f64 / 9_007_199_254_740_992.0;
        assert!(!Draws::new(3, 17, Purpose::Poisson).below(5, threshold(p)));
    }

    #[test]
    fn uniform_and_normal_moments() {
        let n = 200_000u64;
        let (mut s, mut s2, mut m) = (0.0, 0.0, 0.0);
        for i in 0..n {
            let x = normal(1, i, 0, Purpose::RuleNoise);
            s += x;
            s2 += x * x;
            m += uniform_f64(1, i, 0, Purpose::Init);
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        // Standard error of the mean is 1/sqrt(n) = 0.0022; 5 sigma bounds.
        assert!(mean.abs() < 0.012, "normal mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "normal variance {var}");
        assert!((m / n as f64 - 0.5).abs() < 0.004);
    }
}
