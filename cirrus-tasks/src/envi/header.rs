//! The ENVI text header: parsing (with validation), writing, and the image size check.

use super::{DataType, Interleave, MapInfo, map_info};
use crate::error::{Error, Result};
use std::fmt::Write as _;
use std::path::Path;

/// An ENVI header. Keys this type does not model are kept, in order, in `extra`.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// Pixels per line.
    pub samples: usize,
    /// Lines.
    pub lines: usize,
    /// Bands.
    pub bands: usize,
    /// Bytes to skip at the start of the image file.
    pub header_offset: u64,
    /// The sample type.
    pub data_type: DataType,
    /// The band layout.
    pub interleave: Interleave,
    /// 0: little-endian; 1: big-endian.
    pub byte_order: u8,
    /// The band centres, in `wavelength_units`, in band order.
    pub wavelength: Option<Vec<f64>>,
    /// `Nanometers`, `Micrometers`, …
    pub wavelength_units: Option<String>,
    /// The band widths (full width at half maximum), in `wavelength_units`.
    pub fwhm: Option<Vec<f64>>,
    /// The bad band list: 1 good, 0 bad.
    pub bbl: Option<Vec<f64>>,
    /// `data gain values`, one per band. For an AVIRIS L1 scene these are the AVIRIS gains:
    /// stored value = radiance × gain.
    pub data_gain_values: Option<Vec<f64>>,
    /// The value that marks a pixel without data, when the header declares one.
    pub data_ignore_value: Option<f64>,
    /// The georeferencing.
    pub map_info: Option<MapInfo>,
    /// The coordinate system, as WKT.
    pub coordinate_system_string: Option<String>,
    /// The band names.
    pub band_names: Option<Vec<String>>,
    /// The free-text description.
    pub description: Option<String>,
    /// Every other key (lower-case) and its raw value, in header order.
    pub extra: Vec<(String, String)>,
}

impl Header {
    /// Reads and parses the header file `path`.
    pub fn read(path: &Path) -> Result<Header> {
        let bytes = std::fs::read(path)
            .map_err(|err| Error::io(path, "cannot read the ENVI header", err))?;
        let text = String::from_utf8_lossy(&bytes);
        Header::parse(&text, path)
    }

    /// Parses header text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Header> {
        let fail = |message: String| Error::envi(path, message);
        let mut lines = text.lines();
        let magic = lines
            .next()
            .unwrap_or("")
            .trim_start_matches('\u{feff}')
            .trim();
        if magic != "ENVI" {
            return Err(fail(format!(
                "not an ENVI header: the first line is {:?}, not \"ENVI\"",
                truncate(magic)
            )));
        }
        let pairs = key_values(lines).map_err(fail)?;
        let mut fields = Fields {
            pairs,
            path,
            used: Vec::new(),
        };
        let samples = fields.count("samples")?;
        let lines = fields.count("lines")?;
        let bands = fields.count("bands")?;
        let header_offset = match fields.take("header offset") {
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                fail(format!(
                    "header offset: {:?} is not a byte count",
                    truncate(&v)
                ))
            })?,
            None => 0,
        };
        let code = fields
            .take("data type")
            .ok_or_else(|| fail("data type: missing".into()))?;
        let data_type = code
            .trim()
            .parse::<u32>()
            .ok()
            .and_then(DataType::from_code)
            .ok_or_else(|| {
                fail(format!(
                    "data type: {:?} is not a supported ENVI type code (1, 2, 3, 4, 5 or 12)",
                    truncate(&code)
                ))
            })?;
        let interleave = match fields.take("interleave") {
            Some(v) => Interleave::parse(&v).ok_or_else(|| {
                fail(format!(
                    "interleave: {:?} is not bsq, bil or bip",
                    truncate(&v)
                ))
            })?,
            None => Interleave::Bsq,
        };
        let byte_order = match fields.take("byte order").as_deref().map(str::trim) {
            None | Some("0") => 0,
            Some("1") => 1,
            Some(other) => {
                return Err(fail(format!(
                    "byte order: {:?} is not 0 or 1",
                    truncate(other)
                )));
            }
        };
        let wavelength = fields.numbers("wavelength", bands)?;
        let fwhm = fields.numbers("fwhm", bands)?;
        let bbl = fields.numbers("bbl", bands)?;
        let data_gain_values = fields.numbers("data gain values", bands)?;
        let data_ignore_value = match fields.take("data ignore value") {
            Some(v) => Some(v.trim().parse::<f64>().map_err(|_| {
                fail(format!(
                    "data ignore value: {:?} is not a number",
                    truncate(&v)
                ))
            })?),
            None => None,
        };
        let map_info = match fields.take("map info") {
            Some(v) => Some(map_info::parse(&v).map_err(|m| fail(format!("map info: {m}")))?),
            None => None,
        };
        let band_names = fields.take("band names").map(|v| {
            list_items(&v)
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        });
        if let Some(names) = &band_names
            && names.len() != bands
        {
            return Err(fail(format!(
                "band names: {} names, but the header has {bands} bands",
                names.len()
            )));
        }
        let header = Header {
            samples,
            lines,
            bands,
            header_offset,
            data_type,
            interleave,
            byte_order,
            wavelength,
            wavelength_units: fields
                .take("wavelength units")
                .map(|v| v.trim().to_string()),
            fwhm,
            bbl,
            data_gain_values,
            data_ignore_value,
            map_info,
            coordinate_system_string: fields.take("coordinate system string").map(unbrace),
            band_names,
            description: fields.take("description").map(unbrace),
            extra: Vec::new(),
        };
        let extra = fields
            .pairs
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !fields.used.contains(i))
            .map(|(_, pair)| pair)
            .collect();
        Ok(Header { extra, ..header })
    }

    /// The header as ENVI text.
    pub fn to_text(&self) -> String {
        let mut out = String::from("ENVI\n");
        let mut line = |key: &str, value: &str| {
            let _ = writeln!(out, "{key} = {value}");
        };
        if let Some(description) = &self.description {
            line("description", &format!("{{{description}}}"));
        }
        line("samples", &self.samples.to_string());
        line("lines", &self.lines.to_string());
        line("bands", &self.bands.to_string());
        line("header offset", &self.header_offset.to_string());
        line("data type", &self.data_type.code().to_string());
        line("interleave", self.interleave.as_str());
        line("byte order", &self.byte_order.to_string());
        if let Some(map) = &self.map_info {
            line("map info", &map_info::to_text(map));
        }
        if let Some(wkt) = &self.coordinate_system_string {
            line("coordinate system string", &format!("{{{wkt}}}"));
        }
        if let Some(units) = &self.wavelength_units {
            line("wavelength units", units);
        }
        if let Some(names) = &self.band_names {
            line("band names", &format!("{{{}}}", names.join(", ")));
        }
        for (key, values) in [
            ("wavelength", &self.wavelength),
            ("fwhm", &self.fwhm),
            ("bbl", &self.bbl),
            ("data gain values", &self.data_gain_values),
        ] {
            if let Some(values) = values {
                line(key, &number_list(values));
            }
        }
        if let Some(ignore) = self.data_ignore_value {
            line("data ignore value", &ignore.to_string());
        }
        for (key, value) in &self.extra {
            line(key, value);
        }
        out
    }

    /// Writes the header to `path`.
    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, self.to_text())
            .map_err(|err| Error::io(path, "cannot write the ENVI header", err))
    }

    /// The size the image file must have: the offset plus every sample.
    pub fn image_len(&self) -> u64 {
        self.header_offset + self.data_len()
    }

    /// The size of the samples alone.
    fn data_len(&self) -> u64 {
        [self.samples, self.lines, self.bands, self.data_type.bytes()]
            .iter()
            .fold(1u64, |acc, n| acc.saturating_mul(*n as u64))
    }

    /// Checks that `image` has exactly the size the header says; a truncated or oversized
    /// file is an [`Error::Envi`] naming the file and both sizes.
    pub fn check_image(&self, image: &Path) -> Result<()> {
        let actual = std::fs::metadata(image)
            .map_err(|err| Error::io(image, "cannot read the ENVI image", err))?
            .len();
        let needed = self.image_len();
        if actual == needed {
            return Ok(());
        }
        let what = if actual < needed {
            "truncated"
        } else {
            "oversized"
        };
        let offset = if self.header_offset > 0 {
            format!(" + a {}-byte header offset", thousands(self.header_offset))
        } else {
            String::new()
        };
        Err(Error::envi(
            image,
            format!(
                "{what}: {} bytes, but the header ({} samples × {} lines × {} bands × {} bytes{offset}) needs {}",
                thousands(actual),
                self.samples,
                self.lines,
                self.bands,
                self.data_type.bytes(),
                thousands(needed)
            ),
        ))
    }

    /// The band centres in nanometres, converted from `wavelength units`
    /// (`Micrometers`/`um`/`Nanometers`/`nm`; for unknown units, values below 100 are
    /// taken as micrometres).
    pub fn wavelengths_nm(&self) -> Option<Vec<f64>> {
        self.wavelength.as_ref().map(|w| self.to_nm(w))
    }

    /// The band widths in nanometres, converted like [`Header::wavelengths_nm`].
    pub fn fwhm_nm(&self) -> Option<Vec<f64>> {
        self.fwhm.as_ref().map(|w| self.to_nm(w))
    }

    fn to_nm(&self, values: &[f64]) -> Vec<f64> {
        let units = self
            .wavelength_units
            .as_deref()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let factor = match units.as_str() {
            "micrometers" | "micrometer" | "micrometres" | "microns" | "micron" | "um" | "µm" => {
                1000.0
            }
            "nanometers" | "nanometer" | "nanometres" | "nm" => 1.0,
            _ => {
                let max = values.iter().copied().fold(0.0, f64::max);
                if max < 100.0 { 1000.0 } else { 1.0 }
            }
        };
        values.iter().map(|v| v * factor).collect()
    }
}

/// The header's `key = value` pairs, for lookup by (lower-case) key.
struct Fields<'a> {
    pairs: Vec<(String, String)>,
    path: &'a Path,
    used: Vec<usize>,
}

impl Fields<'_> {
    /// The raw value of `key`, marking it used (the last one wins when repeated).
    fn take(&mut self, key: &str) -> Option<String> {
        let index = self.pairs.iter().rposition(|(k, _)| k == key)?;
        for (i, (k, _)) in self.pairs.iter().enumerate() {
            if k == key {
                self.used.push(i);
            }
        }
        Some(self.pairs[index].1.clone())
    }

    /// A required positive count.
    fn count(&mut self, key: &str) -> Result<usize> {
        let value = self
            .take(key)
            .ok_or_else(|| Error::envi(self.path, format!("{key}: missing")))?;
        match value.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::envi(
                self.path,
                format!(
                    "{key}: {:?} is not a positive whole number",
                    truncate(&value)
                ),
            )),
        }
    }

    /// An optional list of numbers, which must have one entry per band.
    fn numbers(&mut self, key: &str, bands: usize) -> Result<Option<Vec<f64>>> {
        let Some(value) = self.take(key) else {
            return Ok(None);
        };
        let items = list_items(&value);
        let mut numbers = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let n = item.parse::<f64>().ok().filter(|n| n.is_finite());
            numbers.push(n.ok_or_else(|| {
                Error::envi(
                    self.path,
                    format!(
                        "{key}: entry {} ({:?}) is not a number",
                        i + 1,
                        truncate(item)
                    ),
                )
            })?);
        }
        if numbers.len() != bands {
            return Err(Error::envi(
                self.path,
                format!(
                    "{key}: {} values, but the header has {bands} bands",
                    numbers.len()
                ),
            ));
        }
        Ok(Some(numbers))
    }
}

/// Splits the header body into `(lower-case key, raw value)` pairs; braces may span lines.
fn key_values<'a>(
    mut lines: impl Iterator<Item = &'a str>,
) -> std::result::Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut number = 1;
    while let Some(line) = lines.next() {
        number += 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(format!(
                "line {number}: {:?} is not `key = value`",
                truncate(trimmed)
            ));
        };
        let key = key.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut value = value.trim().to_string();
        if value.starts_with('{') {
            let start = number;
            while !value.contains('}') {
                let Some(next) = lines.next() else {
                    return Err(format!("{key} (line {start}): the `{{` is never closed"));
                };
                number += 1;
                value.push('\n');
                value.push_str(next.trim());
            }
        }
        pairs.push((key.to_ascii_lowercase(), value));
    }
    Ok(pairs)
}

/// The value without its outer braces, trimmed.
fn unbrace(value: String) -> String {
    let trimmed = value.trim();
    let inner = trimmed
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .unwrap_or(trimmed);
    inner.trim().to_string()
}

/// The comma-separated items of a `{…}` list, trimmed (empty items dropped).
pub(super) fn list_items(value: &str) -> Vec<&str> {
    let trimmed = value.trim();
    let inner = trimmed
        .strip_prefix('{')
        .map(|v| v.strip_suffix('}').unwrap_or(v))
        .unwrap_or(trimmed);
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// `{v1, v2, …}`, eight values a line. `{}` prints the shortest text that reads back equal.
fn number_list(values: &[f64]) -> String {
    let mut out = String::from("{\n");
    for (i, chunk) in values.chunks(8).enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        let items: Vec<String> = chunk.iter().map(|v| format!("{v}")).collect();
        out.push_str(&items.join(", "));
    }
    out.push('}');
    out
}

/// At most 60 characters of `text`, for error messages.
pub(super) fn truncate(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
