//! The parameters of `hsi-detect`, and the target they name.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Method {
    /// Matched filter: `sᵀΣ⁻¹(x−μ) / (sᵀΣ⁻¹s)`, the target abundance (1 = pure target).
    #[serde(rename = "mf")]
    Mf,
    /// Adaptive coherence estimator: `(sᵀΣ⁻¹(x−μ))² / ((sᵀΣ⁻¹s)((x−μ)ᵀΣ⁻¹(x−μ)))`, in [0, 1].
    #[serde(rename = "ace")]
    Ace,
    /// Reed–Xiaoli anomaly detector: `(x−μ)ᵀΣ⁻¹(x−μ)`, the squared Mahalanobis distance.
    #[serde(rename = "rx")]
    Rx,
    /// The methane matched filter with per-column statistics, in ppm·m.
    #[serde(rename = "ch4-mf")]
    Ch4Mf,
}

impl Method {
    /// The method's name, also its asset key.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Mf => "mf",
            Method::Ace => "ace",
            Method::Rx => "rx",
            Method::Ch4Mf => "ch4-mf",
        }
    }

    /// What the score means, for the asset's description.
    pub fn description(self) -> &'static str {
        match self {
            Method::Mf => "matched filter score (target abundance; 1 = pure target)",
            Method::Ace => "adaptive coherence estimator (squared cosine in whitened space, 0–1)",
            Method::Rx => "RX anomaly score (squared Mahalanobis distance to the scene)",
            Method::Ch4Mf => {
                "methane matched filter enhancement (ppm·m), per cross-track column statistics"
            }
        }
    }

    /// The unit of the score, if it has one.
    pub fn unit(self) -> Option<&'static str> {
        match self {
            Method::Ch4Mf => Some("ppm·m"),
            _ => None,
        }
    }
}

/// A target spectrum given as points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSpectrum {
    /// Wavelengths in nanometres, strictly increasing.
    pub wavelengths_nm: Vec<f64>,
    /// The spectrum's values there, in the units of the data.
    pub values: Vec<f64>,
}

/// The target the detectors look for.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// The library's oil reflectance.
    Oil,
    /// Methane: the signature is `μ ⊙ k`, `k` the unit methane absorption (per ppm·m).
    Methane,
    /// A custom spectrum.
    Custom(CustomSpectrum),
}

impl Target {
    /// The name recorded in the output item: `oil`, `methane` or `custom`.
    pub fn name(&self) -> &'static str {
        match self {
            Target::Oil => "oil",
            Target::Methane => "methane",
            Target::Custom(_) => "custom",
        }
    }
}

/// The parameters of `hsi-detect` (`process[0].tasks.hsi-detect`, over `workflow_options`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameters {
    /// The detectors to run (default `["mf", "ace", "rx"]`).
    #[serde(default = "default_methods")]
    pub methods: Vec<Method>,
    /// The target of `mf` and `ace` (default `"oil"`): `"oil"`, `"methane"` or
    /// `{"wavelengths_nm": [...], "values": [...]}`. `ch4-mf` always looks for methane.
    #[serde(default)]
    pub target: Option<Value>,
    /// The asset to read (default: the first with `eo:bands`, preferring `cog`, then `data`).
    #[serde(default)]
    pub asset: Option<String>,
    /// The covariance shrinkage λ in [0, 1): `Σ_reg = (1−λ)Σ + λ·(tr Σ / p)·I`.
    #[serde(default = "default_regularization")]
    pub regularization: f64,
    /// Lines per block (default: about 16 MiB of samples per block).
    #[serde(default)]
    pub block_lines: Option<usize>,
    /// The output items' collection (default `<input collection>-detect`).
    #[serde(default)]
    pub collection: Option<String>,
    /// The band window of `ch4-mf`, in nanometres (default `[2100, 2450]`).
    #[serde(default = "default_methane_window")]
    pub methane_window_nm: [f64; 2],
}

fn default_methods() -> Vec<Method> {
    vec![Method::Mf, Method::Ace, Method::Rx]
}

/// The default shrinkage λ.
pub const DEFAULT_REGULARIZATION: f64 = 1e-3;

fn default_regularization() -> f64 {
    DEFAULT_REGULARIZATION
}

fn default_methane_window() -> [f64; 2] {
    [2100.0, 2450.0]
}

impl Parameters {
    /// Checks the values serde cannot, and resolves the target.
    pub fn validate(&self) -> Result<Target> {
        if self.methods.is_empty() {
            return Err(Error::parameter(
                "methods",
                "is empty: name at least one of mf, ace, rx, ch4-mf",
            ));
        }
        for (i, method) in self.methods.iter().enumerate() {
            if self.methods[..i].contains(method) {
                return Err(Error::parameter(
                    "methods",
                    format!("{:?} is listed twice", method.as_str()),
                ));
            }
        }
        if !(0.0..1.0).contains(&self.regularization) {
            return Err(Error::parameter(
                "regularization",
                format!("{} is not in [0, 1)", self.regularization),
            ));
        }
        if self.block_lines == Some(0) {
            return Err(Error::parameter("block_lines", "must be at least 1"));
        }
        let [lo, hi] = self.methane_window_nm;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(Error::parameter(
                "methane_window_nm",
                format!("[{lo}, {hi}] is not an increasing pair of wavelengths"),
            ));
        }
        match &self.target {
            None => Ok(Target::Oil),
            Some(Value::String(name)) => match name.as_str() {
                "oil" => Ok(Target::Oil),
                "methane" => Ok(Target::Methane),
                other => Err(Error::parameter(
                    "target",
                    format!(
                        "unknown target {other:?}: use \"oil\", \"methane\" or {{\"wavelengths_nm\": [...], \"values\": [...]}}"
                    ),
                )),
            },
            Some(custom @ Value::Object(_)) => {
                let custom: CustomSpectrum = serde_json::from_value(custom.clone())
                    .map_err(|err| Error::parameter("target", err.to_string()))?;
                custom.check()?;
                Ok(Target::Custom(custom))
            }
            Some(other) => Err(Error::parameter(
                "target",
                format!(
                    "{other} is neither a target name nor {{\"wavelengths_nm\": [...], \"values\": [...]}}"
                ),
            )),
        }
    }
}

impl CustomSpectrum {
    /// Checks the points: as many values as wavelengths, at least two, finite, wavelengths
    /// strictly increasing.
    fn check(&self) -> Result<()> {
        let (w, v) = (&self.wavelengths_nm, &self.values);
        if w.len() != v.len() {
            return Err(Error::parameter(
                "target",
                format!("{} wavelengths_nm but {} values", w.len(), v.len()),
            ));
        }
        if w.len() < 2 {
            return Err(Error::parameter(
                "target",
                "a custom spectrum needs at least two points",
            ));
        }
        if let Some(i) = w.iter().chain(v).position(|x| !x.is_finite()) {
            return Err(Error::parameter(
                "target",
                format!("point {} is not a finite number", i % w.len()),
            ));
        }
        if let Some(i) = w.windows(2).position(|pair| pair[1] <= pair[0]) {
            return Err(Error::parameter(
                "target",
                format!(
                    "wavelengths_nm must increase strictly: {} then {}",
                    w[i],
                    w[i + 1]
                ),
            ));
        }
        Ok(())
    }

    /// The spectrum at `nm`, interpolated linearly; `None` outside its wavelengths.
    pub fn at(&self, nm: f64) -> Option<f64> {
        let w = &self.wavelengths_nm;
        let (first, last) = (*w.first()?, *w.last()?);
        if !(first..=last).contains(&nm) {
            return None;
        }
        let upper = w.partition_point(|x| *x < nm).max(1);
        let (x0, x1) = (w[upper - 1], w[upper]);
        let (y0, y1) = (self.values[upper - 1], self.values[upper]);
        Some(y0 + (y1 - y0) * (nm - x0) / (x1 - x0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: serde_json::Value) -> Result<Target> {
        let params: Parameters = serde_json::from_value(value)
            .map_err(|err| Error::parameter("tasks.hsi-detect", err.to_string()))?;
        params.validate()
    }

    #[test]
    fn defaults_and_names() {
        let params: Parameters = serde_json::from_value(json!({})).unwrap();
        assert_eq!(params.methods, vec![Method::Mf, Method::Ace, Method::Rx]);
        assert_eq!(params.validate().unwrap(), Target::Oil);
        assert_eq!(
            parse(json!({"target": "methane", "methods": ["ch4-mf"]})).unwrap(),
            Target::Methane
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let unknown = parse(json!({"methods": ["mf", "sam"]}))
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("sam"), "{unknown}");
        let field = parse(json!({"method": ["mf"]})).unwrap_err().to_string();
        assert!(field.contains("method"), "{field}");
        assert!(
            parse(json!({"target": "gold"}))
                .unwrap_err()
                .to_string()
                .contains("gold")
        );
        assert!(
            parse(json!({"regularization": 1.0}))
                .unwrap_err()
                .to_string()
                .contains("regularization")
        );
        let custom = parse(json!({"target": {"wavelengths_nm": [500, 400], "values": [1, 2]}}));
        assert!(custom.unwrap_err().to_string().contains("increase"));
        let lengths = parse(json!({"target": {"wavelengths_nm": [400, 500], "values": [1]}}));
        assert!(lengths.unwrap_err().to_string().contains("values"));
    }

    #[test]
    fn custom_spectra_interpolate_inside_their_range_only() {
        let s = CustomSpectrum {
            wavelengths_nm: vec![400.0, 500.0, 700.0],
            values: vec![0.0, 1.0, 3.0],
        };
        assert_eq!(s.at(400.0), Some(0.0));
        assert_eq!(s.at(450.0), Some(0.5));
        assert_eq!(s.at(600.0), Some(2.0));
        assert_eq!(s.at(700.0), Some(3.0));
        assert_eq!(s.at(399.9), None);
        assert_eq!(s.at(700.1), None);
    }
}
