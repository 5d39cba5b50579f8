//! Reading a block of lines of one band as `f32`, with fills turned into NaN and gains
//! applied: from a memory-mapped raw ENVI scene, or through GDAL (one dataset handle per
//! thread: GDAL datasets are not thread-safe).

use crate::envi::{DataType, Header, Interleave};
use crate::error::{Error, Result};
use gdal::Dataset;
use memmap2::{Advice, Mmap};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The fill value of AVIRIS products, declared or not: always treated as missing.
pub const FILL: f64 = -9999.0;

/// How a stored value becomes a physical one: missing when it is NaN, [`FILL`] or the
/// declared `nodata`; else `value · scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// The declared nodata (ENVI `data ignore value`, GDAL band nodata).
    pub nodata: Option<f64>,
    /// Multiplier (`1 / gain` for an ENVI `data gain values` entry).
    pub scale: f64,
    /// Added after scaling.
    pub offset: f64,
}

impl Conversion {
    /// The physical value of the stored `value`, NaN when missing.
    #[inline]
    fn apply(&self, value: f64) -> f32 {
        if value.is_nan() || value == FILL || self.nodata == Some(value) {
            f32::NAN
        } else {
            (value * self.scale + self.offset) as f32
        }
    }

    fn is_identity(&self) -> bool {
        self.scale == 1.0 && self.offset == 0.0
    }
}

/// An input scene, ready to be read block by block from several threads.
#[derive(Debug)]
pub struct Scene {
    path: PathBuf,
    width: usize,
    height: usize,
    conversions: Vec<Conversion>,
    raw: Option<RawEnvi>,
}

/// A raw ENVI image, memory-mapped.
#[derive(Debug)]
struct RawEnvi {
    map: Mmap,
    header: Header,
}

/// A per-thread handle: a GDAL dataset when the scene is read through GDAL.
#[derive(Debug)]
pub struct Handle(Option<Dataset>);

impl Scene {
    /// A raw ENVI scene `image` described by `header`, memory-mapped. Its size must match
    /// the header. Stored values are divided by the `data gain values` (AVIRIS: stored =
    /// radiance × gain).
    pub fn envi_mmap(image: &Path, header: Header) -> Result<Scene> {
        header.check_image(image)?;
        let file =
            File::open(image).map_err(|err| Error::io(image, "cannot open the ENVI image", err))?;
        // SAFETY: the map is read-only and the file's size was checked just above. Another
        // process truncating the file while it is mapped would fault the reading thread;
        // input assets are never modified while a task reads them.
        let map = unsafe { Mmap::map(&file) }
            .map_err(|err| Error::io(image, "cannot memory-map the ENVI image", err))?;
        // Blocks read a few rows of each line: the kernel's read-around would fetch the
        // whole file. The rows a block needs are asked for explicitly (`prefetch`).
        let _ = map.advise(Advice::Random);
        Ok(Scene {
            path: image.to_path_buf(),
            width: header.samples,
            height: header.lines,
            conversions: envi_conversions(image, &header)?,
            raw: Some(RawEnvi { map, header }),
        })
    }

    /// A raw ENVI scene read through GDAL's ENVI driver, with the gains and the ignore value
    /// of `header` (GDAL does not apply them).
    pub fn envi_gdal(image: &Path, header: &Header) -> Result<Scene> {
        header.check_image(image)?;
        let mut scene = Scene::gdal(image)?;
        if scene.conversions.len() != header.bands {
            return Err(Error::envi(
                image,
                format!(
                    "GDAL reads {} bands, the header says {}",
                    scene.conversions.len(),
                    header.bands
                ),
            ));
        }
        scene.conversions = envi_conversions(image, header)?;
        Ok(scene)
    }

    /// Any raster GDAL reads; each band's nodata, scale and offset are honoured.
    pub fn gdal(path: &Path) -> Result<Scene> {
        let dataset = open(path)?;
        let (width, height) = dataset.raster_size();
        let mut conversions = Vec::with_capacity(dataset.raster_count());
        for i in 1..=dataset.raster_count() {
            let band = dataset
                .rasterband(i)
                .map_err(|err| Error::gdal(format!("band {i} of {}", path.display()), err))?;
            conversions.push(Conversion {
                nodata: band.no_data_value(),
                scale: band.scale().unwrap_or(1.0),
                offset: band.offset().unwrap_or(0.0),
            });
        }
        Ok(Scene {
            path: path.to_path_buf(),
            width,
            height,
            conversions,
            raw: None,
        })
    }

    /// Pixels per line.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Lines.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The number of bands.
    pub fn bands(&self) -> usize {
        self.conversions.len()
    }

    /// Whether the scene is read from a memory map rather than through GDAL.
    pub fn is_mapped(&self) -> bool {
        self.raw.is_some()
    }

    /// A handle for one thread.
    pub fn handle(&self) -> Result<Handle> {
        match self.raw {
            Some(_) => Ok(Handle(None)),
            None => Ok(Handle(Some(open(&self.path)?))),
        }
    }

    /// Asks the kernel to start reading the rows of `bands` (0-based) in `lines`, so that the
    /// reads that follow do not wait on the disk one page at a time. No-op through GDAL.
    pub fn prefetch(&self, bands: &[usize], lines: std::ops::Range<usize>) {
        let Some(raw) = &self.raw else { return };
        let h = &raw.header;
        let size = h.data_type.bytes();
        let row = self.width * size;
        for &band in bands {
            match h.interleave {
                Interleave::Bil => {
                    for line in lines.clone() {
                        let at = raw.offset(line, 0, band);
                        let _ = raw.map.advise_range(Advice::WillNeed, at, row);
                    }
                }
                Interleave::Bsq => {
                    let at = raw.offset(lines.start, 0, band);
                    let _ = raw
                        .map
                        .advise_range(Advice::WillNeed, at, row * lines.len());
                }
                Interleave::Bip => {
                    let at = raw.offset(lines.start, 0, 0);
                    let len = row * h.bands * lines.len();
                    let _ = raw.map.advise_range(Advice::WillNeed, at, len);
                    return;
                }
            }
        }
    }

    /// Reads `lines` of band `band` (0-based) into `out` (`lines.len() × width` values),
    /// NaN where the value is missing.
    pub fn read(
        &self,
        handle: &Handle,
        band: usize,
        lines: std::ops::Range<usize>,
        out: &mut [f32],
    ) -> Result<()> {
        let conversion = self.conversions[band];
        let width = self.width;
        if let Some(raw) = &self.raw {
            for (line, row) in lines.zip(out.chunks_exact_mut(width)) {
                raw.read_row(line, band, row, &conversion);
            }
            return Ok(());
        }
        let Handle(Some(dataset)) = handle else {
            unreachable!("a handle of a GDAL scene holds a dataset (Scene::handle)")
        };
        let count = lines.len();
        let raster = dataset.rasterband(band + 1).map_err(|err| {
            Error::gdal(format!("band {} of {}", band + 1, self.path.display()), err)
        })?;
        raster
            .read_into_slice::<f32>(
                (0, lines.start as isize),
                (width, count),
                (width, count),
                &mut out[..width * count],
                None,
            )
            .map_err(|err| {
                Error::gdal(
                    format!(
                        "reading lines {}–{} of band {} of {}",
                        lines.start,
                        lines.end,
                        band + 1,
                        self.path.display()
                    ),
                    err,
                )
            })?;
        let nodata = conversion.nodata.map(|v| v as f32);
        for value in &mut out[..width * count] {
            let v = *value;
            *value = if v.is_nan() || v == FILL as f32 || nodata == Some(v) {
                f32::NAN
            } else if conversion.is_identity() {
                v
            } else {
                (f64::from(v) * conversion.scale + conversion.offset) as f32
            };
        }
        Ok(())
    }
}

impl RawEnvi {
    /// The byte offset of sample `(line, sample, band)`.
    fn offset(&self, line: usize, sample: usize, band: usize) -> usize {
        let h = &self.header;
        let (s, l, b) = (h.samples, h.lines, h.bands);
        let index = match h.interleave {
            Interleave::Bsq => (band * l + line) * s + sample,
            Interleave::Bil => (line * b + band) * s + sample,
            Interleave::Bip => (line * s + sample) * b + band,
        };
        h.header_offset as usize + index * h.data_type.bytes()
    }

    /// Decodes one line of one band into `row`.
    fn read_row(&self, line: usize, band: usize, row: &mut [f32], conversion: &Conversion) {
        let h = &self.header;
        let size = h.data_type.bytes();
        let little = h.byte_order == 0;
        let stride = match h.interleave {
            Interleave::Bip => h.bands * size,
            Interleave::Bil | Interleave::Bsq => size,
        };
        let start = self.offset(line, 0, band);
        let end = start + (row.len() - 1) * stride + size;
        // In bounds: the file's size was checked against the header when it was mapped.
        let bytes = &self.map[start..end];
        if h.data_type == DataType::F32 && little && stride == 4 && conversion.is_identity() {
            let nodata = conversion.nodata.map(|v| v as f32);
            for (out, chunk) in row.iter_mut().zip(bytes.chunks_exact(4)) {
                let v = f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                *out = if v.is_nan() || v == FILL as f32 || nodata == Some(v) {
                    f32::NAN
                } else {
                    v
                };
            }
            return;
        }
        for (i, out) in row.iter_mut().enumerate() {
            let at = i * stride;
            *out = conversion.apply(h.data_type.decode(&bytes[at..at + size], little));
        }
    }
}

/// The conversions of an ENVI scene's bands: its gains (stored = value × gain) and its
/// ignore value.
fn envi_conversions(image: &Path, header: &Header) -> Result<Vec<Conversion>> {
    (0..header.bands)
        .map(|band| {
            let gain = match &header.data_gain_values {
                None => 1.0,
                Some(gains) => match gains.get(band) {
                    Some(gain) if gain.is_finite() && *gain != 0.0 => *gain,
                    other => {
                        return Err(Error::envi(
                            image,
                            format!(
                                "data gain values: band {} has gain {other:?}; {} gains for {} bands, each finite and non-zero",
                                band + 1,
                                gains.len(),
                                header.bands
                            ),
                        ));
                    }
                },
            };
            Ok(Conversion {
                nodata: header.data_ignore_value,
                scale: 1.0 / gain,
                offset: 0.0,
            })
        })
        .collect()
}

fn open(path: &Path) -> Result<Dataset> {
    Dataset::open(path).map_err(|err| Error::gdal(format!("opening {}", path.display()), err))
}
