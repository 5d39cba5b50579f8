//! Band statistics gathered while the pixels stream past, so that the raster extension's
//! `statistics` of a 224-band scene cost no extra pass over the output (GDAL's own
//! statistics would decompress the whole COG once per band).

use serde_json::{Value, json};

/// Running statistics of one band's valid pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandStats {
    /// Valid pixels seen.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// The sum of their squares.
    pub sum_squares: f64,
    /// The smallest.
    pub min: f32,
    /// The largest.
    pub max: f32,
}

impl Default for BandStats {
    fn default() -> BandStats {
        BandStats {
            count: 0,
            sum: 0.0,
            sum_squares: 0.0,
            min: f32::INFINITY,
            max: f32::NEG_INFINITY,
        }
    }
}

impl BandStats {
    /// Adds one valid pixel.
    pub fn add(&mut self, value: f32) {
        let v = f64::from(value);
        self.count += 1;
        self.sum += v;
        self.sum_squares += v * v;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    /// Adds the pixels `other` has seen.
    pub fn merge(&mut self, other: &BandStats) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_squares += other.sum_squares;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The mean and the (population) standard deviation, as GDAL computes them.
    pub fn mean_stddev(&self) -> Option<(f64, f64)> {
        (self.count > 0).then(|| {
            let n = self.count as f64;
            let mean = self.sum / n;
            let variance = (self.sum_squares / n - mean * mean).max(0.0);
            (mean, variance.sqrt())
        })
    }

    /// The band's raster extension entry (`raster:bands` item) for a band of `pixels`
    /// pixels in all: data type, nodata, and statistics when any pixel is valid.
    pub fn raster_band(&self, pixels: u64, nodata: f32) -> Value {
        let mut entry = json!({ "data_type": "float32", "nodata": nodata });
        if let Some((mean, stddev)) = self.mean_stddev() {
            entry["statistics"] = json!({
                "minimum": self.min,
                "maximum": self.max,
                "mean": mean,
                "stddev": stddev,
                "valid_percent": 100.0 * self.count as f64 / pixels.max(1) as f64,
            });
        }
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_statistics_equal_one_pass() {
        let values = [1.0f32, 2.0, 3.5, -4.0, 10.0];
        let mut whole = BandStats::default();
        values.iter().for_each(|v| whole.add(*v));
        let (mut left, mut right) = (BandStats::default(), BandStats::default());
        values[..2].iter().for_each(|v| left.add(*v));
        values[2..].iter().for_each(|v| right.add(*v));
        left.merge(&right);
        assert_eq!(left, whole);
        let (mean, stddev) = whole.mean_stddev().unwrap();
        assert!((mean - 2.5).abs() < 1e-12);
        let expected = (values
            .iter()
            .map(|v| (f64::from(*v) - 2.5).powi(2))
            .sum::<f64>()
            / 5.0)
            .sqrt();
        assert!((stddev - expected).abs() < 1e-12);
        let entry = whole.raster_band(10, -9999.0);
        assert_eq!(entry["statistics"]["valid_percent"], 50.0);
        assert_eq!(entry["statistics"]["minimum"], -4.0);
    }

    #[test]
    fn an_empty_band_has_no_statistics() {
        let entry = BandStats::default().raster_band(4, -9999.0);
        assert!(entry.get("statistics").is_none());
        assert_eq!(entry["nodata"], -9999.0);
    }
}
