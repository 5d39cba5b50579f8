//! Reading a scene's pixel spectra block by block: the chosen bands of a run of lines, pixel
//! by pixel, in physical units, with a validity mask. A raw ENVI scene is read with
//! positioned reads ([`EnviImage`]), which keeps GDAL's block cache (up to 5 % of the RAM)
//! out of the way; any other raster through GDAL.

use crate::envi::{EnviImage, Header};
use crate::error::{Error, Result};
use gdal::Dataset;
use gdal::errors::GdalError;
use std::ffi::{CStr, c_int, c_void};
use std::path::PathBuf;

/// The fill value of AVIRIS products, often not declared in the header: always no data.
pub const FILL: f64 = -9999.0;

/// A raster opened for detection: which bands to read and how to scale them.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The raster file (anything GDAL opens: ENVI, GeoTIFF…).
    pub path: PathBuf,
    /// Pixels per line.
    pub width: usize,
    /// Lines.
    pub height: usize,
    /// The 1-based band numbers read, in order.
    pub bands: Vec<c_int>,
    /// Per band read: physical value = stored × `scale` + `offset`.
    pub scale: Vec<f64>,
    /// Per band read: see `scale`.
    pub offset: Vec<f64>,
    /// Per band read: the stored value that means no data, if declared.
    pub nodata: Vec<Option<f64>>,
    /// The header, when the raster is a raw ENVI scene read without GDAL.
    pub envi: Option<Header>,
}

/// One thread's handle on a scene.
#[derive(Debug)]
pub enum Reader {
    /// A raw ENVI image (boxed: it holds the whole header).
    Envi(Box<EnviImage>),
    /// A GDAL dataset.
    Gdal(Dataset),
}

impl Scene {
    /// Opens the raster (one handle per thread: a GDAL dataset is not shared).
    pub fn open(&self) -> Result<Reader> {
        match &self.envi {
            Some(header) => Ok(Reader::Envi(Box::new(EnviImage::with_header(
                &self.path,
                header.clone(),
            )?))),
            None => Dataset::open(&self.path)
                .map(Reader::Gdal)
                .map_err(|err| Error::gdal(format!("opening {}", self.path.display()), err)),
        }
    }

    /// The number of bands read.
    pub fn band_count(&self) -> usize {
        self.bands.len()
    }

    /// Reads lines `first..first + lines` into `out`: pixel after pixel (line by line), the
    /// read bands of each, in physical units. `valid[i]` says whether pixel `i` has data in
    /// every band read: not NaN or infinite, not the −9999 fill, not the declared no-data.
    pub fn read(
        &self,
        reader: &Reader,
        first: usize,
        lines: usize,
        out: &mut Vec<f64>,
        valid: &mut Vec<bool>,
    ) -> Result<()> {
        let nb = self.bands.len();
        let pixels = self.width * lines;
        out.clear();
        out.resize(pixels * nb, 0.0);
        match reader {
            Reader::Envi(image) => self.read_envi(image, first, lines, out)?,
            Reader::Gdal(dataset) => self.read_gdal(dataset, first, lines, out)?,
        }
        valid.clear();
        valid.extend(out.chunks_exact_mut(nb).map(|pixel| {
            let mut ok = true;
            for (b, x) in pixel.iter_mut().enumerate() {
                let stored = *x;
                if !stored.is_finite() || stored == FILL || self.nodata[b] == Some(stored) {
                    ok = false;
                }
                *x = stored * self.scale[b] + self.offset[b];
            }
            ok
        }));
        Ok(())
    }

    /// The stored values of a raw ENVI scene, line by line.
    fn read_envi(
        &self,
        image: &EnviImage,
        first: usize,
        lines: usize,
        out: &mut [f64],
    ) -> Result<()> {
        let (nb, width) = (self.bands.len(), self.width);
        for line in 0..lines {
            // Band-major: `values[band * width + sample]`.
            let values = image.line(first + line)?;
            let row = &mut out[line * width * nb..(line + 1) * width * nb];
            for (j, band) in self.bands.iter().enumerate() {
                let band = (*band - 1) as usize * width;
                for (sample, value) in values[band..band + width].iter().enumerate() {
                    row[sample * nb + j] = *value;
                }
            }
        }
        Ok(())
    }

    /// The stored values of any raster, through GDAL (one `RasterIO` for all bands).
    fn read_gdal(
        &self,
        dataset: &Dataset,
        first: usize,
        lines: usize,
        out: &mut [f64],
    ) -> Result<()> {
        let nb = self.bands.len();
        let mut band_map = self.bands.clone();
        let too_big = |what: &str| {
            Error::envi(
                &self.path,
                format!("the {what} does not fit GDAL's 32-bit sizes"),
            )
        };
        let value = std::mem::size_of::<f64>();
        let pixel_space = c_int::try_from(nb * value).map_err(|_| too_big("pixel"))?;
        let line_space = c_int::try_from(self.width * nb * value).map_err(|_| too_big("line"))?;
        let (x_size, y_off, y_size) = (
            c_int::try_from(self.width).map_err(|_| too_big("width"))?,
            c_int::try_from(first).map_err(|_| too_big("line number"))?,
            c_int::try_from(lines).map_err(|_| too_big("block"))?,
        );
        // SAFETY: `out` holds width × lines × nb f64 values, laid out as the pixel, line and
        // band spacings given say; `band_map` holds nb band numbers and outlives the call;
        // the dataset handle is open (borrowed from `dataset`) and used by this thread only.
        let status = unsafe {
            gdal_sys::GDALDatasetRasterIO(
                dataset.c_dataset(),
                gdal_sys::GDALRWFlag::GF_Read,
                0,
                y_off,
                x_size,
                y_size,
                out.as_mut_ptr().cast::<c_void>(),
                x_size,
                y_size,
                gdal_sys::GDALDataType::GDT_Float64,
                c_int::try_from(nb).map_err(|_| too_big("band count"))?,
                band_map.as_mut_ptr(),
                pixel_space,
                line_space,
                c_int::try_from(value).map_err(|_| too_big("sample"))?,
            )
        };
        if status != gdal_sys::CPLErr::CE_None {
            return Err(Error::gdal(
                format!(
                    "reading lines {first}..{} of {}",
                    first + lines,
                    self.path.display()
                ),
                last_error(status),
            ));
        }
        Ok(())
    }
}

/// GDAL's last error, as the gdal crate reports it.
fn last_error(class: gdal_sys::CPLErr::Type) -> GdalError {
    // SAFETY: CPLGetLastErrorMsg returns a pointer to a thread-local, NUL-terminated
    // buffer (never null), valid until the next GDAL call on this thread; it is copied
    // before that.
    let (number, msg) = unsafe {
        let msg = gdal_sys::CPLGetLastErrorMsg();
        let msg = if msg.is_null() {
            String::new()
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        };
        let number = gdal_sys::CPLGetLastErrorNo();
        gdal_sys::CPLErrorReset();
        (number, msg)
    };
    GdalError::CplError { class, number, msg }
}
