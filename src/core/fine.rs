//! Slow variables kept finer than an f32.
//!
//! Some state drifts by less per step than an f32 can resolve: the late weight z of capture
//! changes by about 3e-8 per 10 ms slow step near z = 1 (dt/τz = 2.8e-6), and the early weight h
//! relaxes towards h0 by parts in 10^8 per 0.1 ms step (τh/r ≈ 1.9 h). Stored as a plain f32 and
//! rounded every step, such a variable stops short of where its equation takes it. So it is
//! kept as the f32 that the rest of the cascade reads (`hi`, the value rounded to nearest) plus
//! the f32 residual that rounding left (`lo`): together about 48 significant bits, for 4 bytes
//! more per synapse rather than the 8 more of a second f64 copy. Each update is computed in f64
//! on `hi + lo` and split again.

/// The f64 value of a variable kept as `hi` and its residual `lo`.
#[inline(always)]
pub fn join(hi: f32, lo: f32) -> f64 {
    hi as f64 + lo as f64
}

/// Splits `x` into its f32 rounding `hi` and the residual `lo = x − hi` (rounded to f32).
#[inline(always)]
pub fn split(x: f64) -> (f32, f32) {
    let hi = x as f32;
    (hi, (x - hi as f64) as f32)
}

/// 1 − e^(−x) for x ≥ 0. Below 1e-3 it is the Taylor series to x⁴ (relative error under
/// x⁴/120 < 1e-14; cheaper than `exp_m1` in per-synapse loops).
#[inline(always)]
pub fn one_minus_exp_neg(x: f64) -> f64 {
    if x < 1e-3 {
        x * (1.0 - x * (0.5 - x * (1.0 / 6.0 - x * (1.0 / 24.0))))
    } else {
        -(-x).exp_m1()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Increments far below an f32's resolution accumulate in hi + lo as they would in an f64.
    #[test]
    fn small_increments_are_kept() {
        let (mut hi, mut lo) = (0.99f32, 0.0f32);
        let mut exact = 0.99f32 as f64;
        for _ in 0..1_000_000 {
            let x = join(hi, lo) + 1e-9;
            exact += 1e-9;
            (hi, lo) = split(x);
        }
        // Each split rounds the residual to f32 (≤ 2e-15 here), so a 1e-3 change is kept to
        // parts in 10^6 (an f64 sum keeps it to parts in 10^10).
        assert!(
            (join(hi, lo) - exact).abs() < 1e-9,
            "{}",
            join(hi, lo) - exact
        );
        // The same increments on a plain f32 are all lost.
        let mut plain = 0.99f32;
        for _ in 0..1000 {
            plain += 1e-9;
        }
        assert_eq!(plain, 0.99f32);
    }

    #[test]
    fn one_minus_exp_neg_matches_exp_m1() {
        for x in [0.0f64, 1e-9, 3e-6, 2.7e-4, 9.99e-4, 1e-3, 0.5, 3.0] {
            let exact = -(-x).exp_m1();
            let got = one_minus_exp_neg(x);
            assert!((got - exact).abs() <= 1e-14 * exact, "{x}: {got} {exact}");
        }
    }
}
