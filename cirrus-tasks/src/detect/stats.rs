//! Background statistics: the mean and covariance of pixel spectra, accumulated block by
//! block and merged across threads, then regularised and factorised for the detectors.
//!
//! Blocks are merged with Chan et al.'s pairwise update (each block's scatter is taken about
//! its own mean), so the sums stay accurate in f64 whatever the data's offset. The
//! covariance is the unbiased one, `Σ = scatter / (n − 1)`, as `numpy.cov` computes it.

use nalgebra::{Cholesky, DMatrix, DMatrixView, DVector, Dyn, SymmetricEigen};
use std::fmt;

/// Above this condition number, the regularised covariance counts as singular: the scores
/// would keep fewer than four significant digits.
pub const MAX_CONDITION: f64 = 1e12;

/// The count, mean and scatter matrix `Σᵢ (xᵢ − μ)(xᵢ − μ)ᵀ` of a set of p-vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct Moments {
    /// The number of vectors.
    pub n: u64,
    /// Their mean.
    pub mean: DVector<f64>,
    /// Their scatter about the mean.
    pub scatter: DMatrix<f64>,
}

impl Moments {
    /// No vectors of dimension `p` yet.
    pub fn new(p: usize) -> Moments {
        Moments {
            n: 0,
            mean: DVector::zeros(p),
            scatter: DMatrix::zeros(p, p),
        }
    }

    /// The dimension p.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// Adds the vectors in `pixels`, one after the other (`pixels.len()` is a multiple of
    /// p). `scratch` is reused between calls to hold the centred vectors.
    pub fn add(&mut self, pixels: &[f64], scratch: &mut Vec<f64>) {
        let p = self.dim();
        if p == 0 || pixels.len() < p {
            return;
        }
        let n = pixels.len() / p;
        let mut mean = DVector::<f64>::zeros(p);
        for pixel in pixels.chunks_exact(p) {
            for (m, x) in mean.iter_mut().zip(pixel) {
                *m += x;
            }
        }
        mean /= n as f64;
        scratch.clear();
        scratch.extend(
            pixels
                .chunks_exact(p)
                .flat_map(|pixel| pixel.iter().zip(mean.iter()).map(|(x, m)| x - m)),
        );
        let block = Moments {
            n: n as u64,
            mean,
            scatter: DMatrix::zeros(0, 0),
        };
        // The block's own scatter goes straight into ours; `merge_means` adds the rest.
        let centred = DMatrixView::from_slice(scratch, p, n);
        let transposed = DMatrixView::from_slice_with_strides(scratch, n, p, p, 1);
        self.scatter.gemm(1.0, &centred, &transposed, 1.0);
        self.merge_means(&block);
    }

    /// Adds the vectors summarised by `other` (same dimension).
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        self.scatter += &other.scatter;
        self.merge_means(other);
    }

    /// The count and mean update of a merge, and the scatter between the two means:
    /// `δδᵀ·n_a·n_b/n` (Chan, Golub & LeVeque 1979). `other.scatter` is not read.
    fn merge_means(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let n = na + nb;
        let delta = &other.mean - &self.mean;
        if self.n > 0 {
            self.scatter.ger(na * nb / n, &delta, &delta, 1.0);
        }
        self.mean.axpy(nb / n, &delta, 1.0);
        self.n += other.n;
    }

    /// The unbiased covariance `scatter / (n − 1)` (needs n ≥ 2).
    pub fn covariance(&self) -> DMatrix<f64> {
        &self.scatter / (self.n.saturating_sub(1).max(1) as f64)
    }
}

/// Why a background model cannot be made.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// Fewer valid pixels than bands + 1: the sample covariance has rank < p, and any
    /// inverse would be made up by the regularisation.
    TooFewPixels {
        /// Valid pixels.
        pixels: u64,
        /// Bands.
        bands: usize,
    },
    /// The regularised covariance is not positive definite, or too ill-conditioned.
    Singular {
        /// Its condition number (infinite when not positive definite).
        condition: f64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::TooFewPixels { pixels, bands } => write!(
                f,
                "{pixels} valid pixels for {bands} bands: the covariance needs more valid pixels than bands"
            ),
            Problem::Singular { condition } => write!(
                f,
                "the regularised covariance is singular (condition number {condition:.3e}, limit {MAX_CONDITION:e}): the pixels are (nearly) constant in some band combination; raise `regularization`"
            ),
        }
    }
}

/// The background of a detector: the mean μ and the factorised regularised covariance.
#[derive(Debug, Clone)]
pub struct Background {
    /// The mean spectrum μ.
    pub mean: DVector<f64>,
    /// The Cholesky factor of `Σ_reg`.
    pub cholesky: Cholesky<f64, Dyn>,
    /// The 2-norm condition number of `Σ_reg`.
    pub condition: f64,
    /// The pixels the statistics came from.
    pub pixels: u64,
}

impl Background {
    /// The background of `moments`, with the covariance shrunk towards a scaled identity:
    /// `Σ_reg = (1 − λ)Σ + λ·(tr Σ / p)·I`, `λ = regularization`.
    pub fn new(moments: &Moments, regularization: f64) -> Result<Background, Problem> {
        let p = moments.dim();
        if moments.n <= p as u64 {
            return Err(Problem::TooFewPixels {
                pixels: moments.n,
                bands: p,
            });
        }
        let sigma = regularized(&moments.covariance(), regularization);
        let eigen = SymmetricEigen::new(sigma.clone()).eigenvalues;
        let (lo, hi) = eigen
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), e| {
                (lo.min(*e), hi.max(*e))
            });
        let condition = if lo > 0.0 { hi / lo } else { f64::INFINITY };
        if condition.is_nan() || condition > MAX_CONDITION {
            return Err(Problem::Singular { condition });
        }
        let cholesky = Cholesky::new(sigma).ok_or(Problem::Singular {
            condition: f64::INFINITY,
        })?;
        Ok(Background {
            mean: moments.mean.clone(),
            cholesky,
            condition,
            pixels: moments.n,
        })
    }

    /// The filter of signature `s`: `w = Σ⁻¹s / (sᵀΣ⁻¹s)`, so that the matched filter of a
    /// pixel is `wᵀ(x − μ)`; and `v = L⁻¹s` and `sᵀΣ⁻¹s` for ACE. `None` when `s` is zero
    /// in the whitened space (the target looks exactly like the background).
    pub fn filter(&self, signature: &DVector<f64>) -> Option<Filter> {
        let whitened = self.cholesky.l_dirty().solve_lower_triangular(signature)?;
        let energy = whitened.norm_squared();
        if !(energy > 0.0 && energy.is_finite()) {
            return None;
        }
        let weights = self.cholesky.solve(signature) / energy;
        Some(Filter {
            weights,
            whitened,
            energy,
        })
    }

    /// `L⁻¹`, the whitening matrix: `‖L⁻¹(x − μ)‖²` is the RX score.
    pub fn whitening(&self) -> DMatrix<f64> {
        let l = self.cholesky.l();
        let p = l.nrows();
        l.solve_lower_triangular(&DMatrix::identity(p, p))
            .expect("invariant: a Cholesky factor has a positive diagonal, so it is invertible")
    }
}

/// A matched filter, precomputed for one background and one signature.
#[derive(Debug, Clone)]
pub struct Filter {
    /// `Σ⁻¹s / (sᵀΣ⁻¹s)`.
    pub weights: DVector<f64>,
    /// `L⁻¹s`.
    pub whitened: DVector<f64>,
    /// `sᵀΣ⁻¹s`.
    pub energy: f64,
}

/// `(1 − λ)Σ + λ·(tr Σ / p)·I`.
pub fn regularized(sigma: &DMatrix<f64>, lambda: f64) -> DMatrix<f64> {
    let p = sigma.nrows();
    let scale = if p > 0 { sigma.trace() / p as f64 } else { 0.0 };
    let mut out = sigma * (1.0 - lambda);
    for i in 0..p {
        out[(i, i)] += lambda * scale;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic pseudo-random sequence (xorshift) in [−0.5, 0.5).
    fn noise(seed: &mut u64) -> f64 {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        (*seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    fn sample(n: usize, p: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n * p)
            .map(|i| 1000.0 + (i % p) as f64 + noise(&mut state) * (1 + i % 3) as f64)
            .collect()
    }

    /// The textbook two-pass mean and covariance.
    fn direct(pixels: &[f64], p: usize) -> (DVector<f64>, DMatrix<f64>) {
        let n = pixels.len() / p;
        let mut mean = DVector::zeros(p);
        for x in pixels.chunks(p) {
            mean += DVector::from_column_slice(x);
        }
        mean /= n as f64;
        let mut cov = DMatrix::zeros(p, p);
        for x in pixels.chunks(p) {
            let d = DVector::from_column_slice(x) - &mean;
            cov += &d * d.transpose();
        }
        (mean, cov / (n - 1) as f64)
    }

    #[test]
    fn blockwise_merged_moments_equal_the_direct_ones() {
        let p = 7;
        let pixels = sample(500, p, 42);
        let (mean, cov) = direct(&pixels, p);
        let mut scratch = Vec::new();
        let (mut a, mut b) = (Moments::new(p), Moments::new(p));
        for (i, block) in pixels.chunks(p * 37).enumerate() {
            if i % 2 == 0 { &mut a } else { &mut b }.add(block, &mut scratch);
        }
        a.merge(&b);
        assert_eq!(a.n, 500);
        assert!((&a.mean - &mean).amax() < 1e-9);
        assert!((a.covariance() - cov).amax() < 1e-9);
    }

    #[test]
    fn regularisation_keeps_the_trace_and_filters_match_the_formula() {
        let p = 5;
        let mut moments = Moments::new(p);
        moments.add(&sample(100, p, 7), &mut Vec::new());
        let sigma = moments.covariance();
        let reg = regularized(&sigma, 0.1);
        assert!((reg.trace() - sigma.trace()).abs() < 1e-9);
        let background = Background::new(&moments, 0.1).unwrap();
        let s = DVector::from_fn(p, |i, _| (i as f64 - 2.0) * 0.3);
        let filter = background.filter(&s).unwrap();
        let inverse = reg.try_inverse().unwrap();
        let energy = (s.transpose() * &inverse * &s)[(0, 0)];
        assert!((filter.energy - energy).abs() < 1e-9 * energy);
        // The matched filter of the signature itself is 1.
        assert!((filter.weights.dot(&s) - 1.0).abs() < 1e-12);
        let w = background.whitening();
        assert!((w.transpose() * &w - inverse).amax() < 1e-9);
    }

    #[test]
    fn too_few_pixels_and_constant_data_are_refused() {
        let p = 6;
        let mut few = Moments::new(p);
        few.add(&sample(6, p, 3), &mut Vec::new());
        assert_eq!(
            Background::new(&few, 0.01).unwrap_err(),
            Problem::TooFewPixels {
                pixels: 6,
                bands: 6
            }
        );
        let mut constant = Moments::new(p);
        constant.add(&vec![2.0; 50 * p], &mut Vec::new());
        assert!(matches!(
            Background::new(&constant, 0.01),
            Err(Problem::Singular { .. })
        ));
        // Without shrinkage, two identical bands make Σ singular.
        let mut twins = Moments::new(2);
        let data: Vec<f64> = sample(40, 1, 9).iter().flat_map(|x| [*x, *x]).collect();
        twins.add(&data, &mut Vec::new());
        assert!(matches!(
            Background::new(&twins, 0.0),
            Err(Problem::Singular { .. })
        ));
        assert!(Background::new(&twins, 0.01).is_ok());
    }
}
