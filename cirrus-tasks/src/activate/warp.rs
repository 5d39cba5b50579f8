//! The activator's one pass over the pixels: GDAL's warper turns the rotated ENVI grid
//! north-up (nearest neighbour, through a warped VRT), and each strip it yields has its
//! gains and fill applied and its statistics gathered before it is written to a scratch
//! GeoTIFF. Memory is bounded by the strip size, not the scene.

use super::stats::BandStats;
use crate::error::{Error, Result};
use gdal::Dataset;
use gdal::raster::RasterCreationOptions;
use gdal_sys::{CPLErr, GDALDataType, GDALRWFlag, GDALResampleAlg};
use rayon::prelude::*;
use std::ffi::{CString, c_int};
use std::path::Path;
use std::ptr::null_mut;

/// The output's no-data value. AVIRIS float products already use −9999 as their fill, so
/// the same number keeps old and new products comparable, and unlike NaN it survives every
/// tool (and equality tests) unchanged.
pub const NODATA: f32 = -9999.0;

/// At most this many bytes of pixels are held per strip (all bands of a run of lines).
const STRIP_BYTES: usize = 64 << 20;

/// How stored numbers become physical values.
#[derive(Debug, Clone, Default)]
pub struct Radiometry {
    /// Per band: the stored value is divided by this gain (AVIRIS int16 radiance). `None`:
    /// values are used as stored.
    pub gains: Option<Vec<f64>>,
    /// Stored values that mean "no data" (−9999, and the header's `data ignore value`).
    pub fill: Vec<f64>,
}

/// A north-up grid: its size and its GDAL geotransform.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `[x0, pixel width, 0, y0, 0, −pixel height]`.
    pub geo_transform: [f64; 6],
}

impl Grid {
    /// The north-up grid that covers a `width`×`height` grid with the (possibly rotated)
    /// geotransform `source`: the envelope of its four corners, with the same pixel size
    /// (the length of a source pixel's sides), its top-left corner on the envelope's.
    pub fn north_up(source: &[f64; 6], width: usize, height: usize) -> Grid {
        let corners = corners(source, width, height);
        let (min_x, min_y, max_x, max_y) = envelope(&corners);
        let pixel_x = source[1].hypot(source[4]);
        let pixel_y = source[2].hypot(source[5]);
        // A corner that lands on a pixel edge (up to rounding) does not open a new column.
        let cells = |extent: f64, pixel: f64| ((extent / pixel) - 1e-6).ceil().max(1.0) as usize;
        Grid {
            width: cells(max_x - min_x, pixel_x),
            height: cells(max_y - min_y, pixel_y),
            geo_transform: [min_x, pixel_x, 0.0, max_y, 0.0, -pixel_y],
        }
    }

    /// `[min x, min y, max x, max y]` of the grid, in map units.
    pub fn bounds(&self) -> [f64; 4] {
        let (min_x, min_y, max_x, max_y) =
            envelope(&corners(&self.geo_transform, self.width, self.height));
        [min_x, min_y, max_x, max_y]
    }
}

/// The map coordinates of the outer corners of a `width`×`height` grid with geotransform
/// `gt`: top-left, top-right, bottom-right, bottom-left.
pub fn corners(gt: &[f64; 6], width: usize, height: usize) -> [(f64, f64); 4] {
    let at = |col: f64, row: f64| {
        (
            gt[0] + col * gt[1] + row * gt[2],
            gt[3] + col * gt[4] + row * gt[5],
        )
    };
    let (w, h) = (width as f64, height as f64);
    [at(0.0, 0.0), at(w, 0.0), at(w, h), at(0.0, h)]
}

/// `(min x, min y, max x, max y)` of `points`.
pub fn envelope(points: &[(f64, f64)]) -> (f64, f64, f64, f64) {
    points.iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), (x, y)| (a.min(*x), b.min(*y), c.max(*x), d.max(*y)),
    )
}

/// Warps `source` onto `grid` (nearest neighbour, so every output spectrum is an input
/// spectrum, bit for bit), applies `radiometry`, and writes float32 with nodata
/// [`NODATA`] to the band-interleaved scratch GeoTIFF `target`. Returns each band's
/// statistics over its valid pixels.
pub fn warp_to(
    source: &Dataset,
    radiometry: &Radiometry,
    grid: &Grid,
    threads: usize,
    target: &Path,
) -> Result<Vec<BandStats>> {
    let bands = source.raster_count();
    let warped = warped_vrt(source, grid, threads)?;
    let mut output = create_scratch(source, grid, bands, target)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|err| {
            Error::io(
                target,
                "cannot start the worker threads",
                std::io::Error::other(err),
            )
        })?;
    let (width, height) = (grid.width, grid.height);
    let rows_per_strip = strip_rows(width, bands, height);
    let mut buffer = vec![0f32; width * rows_per_strip * bands];
    let mut stats = vec![BandStats::default(); bands];
    let mut row = 0;
    while row < height {
        let rows = rows_per_strip.min(height - row);
        let strip = &mut buffer[..width * rows * bands];
        raster_io(&warped, GDALRWFlag::GF_Read, row, width, rows, bands, strip)
            .map_err(|err| Error::gdal(format!("warping rows {row}.. of the scene"), err))?;
        pool.install(|| {
            strip
                .par_chunks_mut(width * rows)
                .zip(stats.par_iter_mut())
                .enumerate()
                .for_each(|(band, (pixels, stats))| {
                    let gain = radiometry.gains.as_ref().map(|g| g[band]);
                    stats.merge(&calibrate(pixels, gain, &radiometry.fill));
                });
        });
        raster_io(
            &output,
            GDALRWFlag::GF_Write,
            row,
            width,
            rows,
            bands,
            strip,
        )
        .map_err(|err| Error::gdal(format!("writing {}", target.display()), err))?;
        row += rows;
    }
    output
        .flush_cache()
        .map_err(|err| Error::gdal(format!("writing {}", target.display()), err))?;
    Ok(stats)
}

/// Applies the fill and the gain to one band's pixels in place and returns their
/// statistics.
fn calibrate(pixels: &mut [f32], gain: Option<f64>, fill: &[f64]) -> BandStats {
    let mut stats = BandStats::default();
    for value in pixels {
        let stored = f64::from(*value);
        if !value.is_finite() || fill.contains(&stored) {
            *value = NODATA;
            continue;
        }
        if let Some(gain) = gain {
            *value = (stored / gain) as f32;
        }
        stats.add(*value);
    }
    stats
}

/// How many rows one strip holds: [`STRIP_BYTES`] worth, in whole multiples of the warped
/// VRT's 128-row blocks when that fits.
fn strip_rows(width: usize, bands: usize, height: usize) -> usize {
    let row_bytes = width.max(1) * bands.max(1) * 4;
    let rows = (STRIP_BYTES / row_bytes).max(1);
    let rows = if rows >= 128 { rows / 128 * 128 } else { rows };
    rows.min(height.max(1))
}

/// The scratch GeoTIFF: float32, band-interleaved, uncompressed, nodata [`NODATA`].
fn create_scratch(source: &Dataset, grid: &Grid, bands: usize, target: &Path) -> Result<Dataset> {
    let context = || format!("creating {}", target.display());
    let driver = gdal::DriverManager::get_driver_by_name("GTiff")
        .map_err(|err| Error::gdal("the GTiff driver is missing", err))?;
    let options =
        RasterCreationOptions::from_iter(["INTERLEAVE=BAND", "BIGTIFF=IF_SAFER", "TILED=NO"]);
    let mut output = driver
        .create_with_band_type_with_options::<f32, _>(
            target,
            grid.width,
            grid.height,
            bands,
            &options,
        )
        .map_err(|err| Error::gdal(context(), err))?;
    output
        .set_geo_transform(&grid.geo_transform)
        .map_err(|err| Error::gdal(context(), err))?;
    output
        .set_projection(&source.projection())
        .map_err(|err| Error::gdal(context(), err))?;
    for band in 1..=bands {
        output
            .rasterband(band)
            .and_then(|mut b| b.set_no_data_value(Some(f64::from(NODATA))))
            .map_err(|err| Error::gdal(context(), err))?;
    }
    Ok(output)
}

/// A warped VRT of `source` on `grid`: same CRS, nearest neighbour, outside pixels
/// initialised to −9999 (which the fill then turns into nodata), the warper's memory
/// limited to 256 MiB and its kernel on `threads` threads.
fn warped_vrt(source: &Dataset, grid: &Grid, threads: usize) -> Result<Dataset> {
    let bands = source.raster_count();
    let context = "setting up the warp to north-up";
    let count = c_int::try_from(bands).map_err(|_| {
        Error::gdal(
            context,
            gdal::errors::GdalError::BadArgument(format!("{bands} bands")),
        )
    })?;
    let (width, height) = (to_c_int(grid.width)?, to_c_int(grid.height)?);
    let mut geo_transform = grid.geo_transform;
    let init = CString::new(NODATA.to_string()).expect("a number has no NUL byte");
    let threads = CString::new(threads.to_string()).expect("a number has no NUL byte");
    // SAFETY: the options are allocated by GDAL and freed by GDALDestroyWarpOptions; the
    // band lists are CPLMalloc'd for `count` ints as GDAL expects; the transformer is owned
    // by the warped VRT once GDALCreateWarpedVRT succeeds (it copies the options), and is
    // destroyed here when it fails.
    unsafe {
        let options = gdal_sys::GDALCreateWarpOptions();
        (*options).hSrcDS = source.c_dataset();
        (*options).eResampleAlg = GDALResampleAlg::GRA_NearestNeighbour;
        (*options).eWorkingDataType = GDALDataType::GDT_Unknown;
        (*options).dfWarpMemoryLimit = 256.0 * 1024.0 * 1024.0;
        (*options).nBandCount = count;
        let band_list = || gdal_sys::CPLMalloc(bands * size_of::<c_int>()) as *mut c_int;
        (*options).panSrcBands = band_list();
        (*options).panDstBands = band_list();
        for i in 0..bands {
            *(*options).panSrcBands.add(i) = i as c_int + 1;
            *(*options).panDstBands.add(i) = i as c_int + 1;
        }
        let mut warp_options = (*options).papszWarpOptions;
        warp_options =
            gdal_sys::CSLSetNameValue(warp_options, c"INIT_DEST".as_ptr(), init.as_ptr());
        warp_options =
            gdal_sys::CSLSetNameValue(warp_options, c"NUM_THREADS".as_ptr(), threads.as_ptr());
        (*options).papszWarpOptions = warp_options;
        let transformer =
            gdal_sys::GDALCreateGenImgProjTransformer2(source.c_dataset(), null_mut(), null_mut());
        if transformer.is_null() {
            gdal_sys::GDALDestroyWarpOptions(options);
            return Err(Error::gdal(
                context,
                last_error("GDALCreateGenImgProjTransformer2"),
            ));
        }
        gdal_sys::GDALSetGenImgProjTransformerDstGeoTransform(transformer, geo_transform.as_ptr());
        (*options).pfnTransformer = Some(gdal_sys::GDALGenImgProjTransform);
        (*options).pTransformerArg = transformer;
        let vrt = gdal_sys::GDALCreateWarpedVRT(
            source.c_dataset(),
            width,
            height,
            geo_transform.as_mut_ptr(),
            options,
        );
        gdal_sys::GDALDestroyWarpOptions(options);
        if vrt.is_null() {
            gdal_sys::GDALDestroyGenImgProjTransformer(transformer);
            return Err(Error::gdal(context, last_error("GDALCreateWarpedVRT")));
        }
        Ok(Dataset::from_c_dataset(vrt))
    }
}

/// Reads or writes rows `row..row + rows` of every band of `dataset` as float32, band
/// after band, from or into `buffer`.
fn raster_io(
    dataset: &Dataset,
    flag: GDALRWFlag::Type,
    row: usize,
    width: usize,
    rows: usize,
    bands: usize,
    buffer: &mut [f32],
) -> gdal::errors::Result<()> {
    assert_eq!(buffer.len(), width * rows * bands, "strip buffer size");
    let int = |n: usize| {
        c_int::try_from(n).map_err(|_| gdal::errors::GdalError::BadArgument(format!("{n}")))
    };
    // SAFETY: `buffer` holds exactly width × rows × bands float32 values (asserted), the
    // layout GDAL uses for zero spacings; a null band map means bands 1..=bands.
    let result = unsafe {
        gdal_sys::GDALDatasetRasterIO(
            dataset.c_dataset(),
            flag,
            0,
            int(row)?,
            int(width)?,
            int(rows)?,
            buffer.as_mut_ptr().cast(),
            int(width)?,
            int(rows)?,
            GDALDataType::GDT_Float32,
            int(bands)?,
            null_mut(),
            0,
            0,
            0,
        )
    };
    if result == CPLErr::CE_None {
        Ok(())
    } else {
        Err(last_error("GDALDatasetRasterIO"))
    }
}

fn to_c_int(n: usize) -> Result<c_int> {
    c_int::try_from(n).map_err(|_| {
        Error::gdal(
            "sizing the north-up grid",
            gdal::errors::GdalError::BadArgument(format!("{n} pixels is too large")),
        )
    })
}

/// GDAL's last error message, as an error of `method`.
fn last_error(method: &'static str) -> gdal::errors::GdalError {
    // SAFETY: CPLGetLastErrorMsg returns a valid NUL-terminated string owned by GDAL.
    let message = unsafe {
        std::ffi::CStr::from_ptr(gdal_sys::CPLGetLastErrorMsg())
            .to_string_lossy()
            .into_owned()
    };
    gdal::errors::GdalError::NullPointer {
        method_name: method,
        msg: message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_grid_becomes_the_envelope_of_its_corners() {
        // 30° rotation, 10 m pixels, 4 columns × 2 rows.
        let (s, c) = 30f64.to_radians().sin_cos();
        let gt = [
            500_000.0,
            10.0 * c,
            -10.0 * s,
            4_000_000.0,
            -10.0 * s,
            -10.0 * c,
        ];
        let grid = Grid::north_up(&gt, 4, 2);
        let (min_x, min_y, max_x, max_y) = envelope(&corners(&gt, 4, 2));
        assert_eq!(grid.geo_transform[0], min_x);
        assert_eq!(grid.geo_transform[3], max_y);
        assert!((grid.geo_transform[1] - 10.0).abs() < 1e-9);
        assert_eq!(grid.width, ((max_x - min_x) / 10.0).ceil() as usize);
        assert_eq!(grid.height, ((max_y - min_y) / 10.0).ceil() as usize);
        let bounds = grid.bounds();
        assert!(bounds[2] >= max_x && bounds[2] - max_x < 10.0);
        assert!(bounds[1] <= min_y && min_y - bounds[1] < 10.0);
    }

    #[test]
    fn an_unrotated_grid_keeps_its_size() {
        let gt = [500_000.0, 15.0, 0.0, 4_000_000.0, 0.0, -15.0];
        let grid = Grid::north_up(&gt, 7, 9);
        assert_eq!((grid.width, grid.height), (7, 9));
        assert_eq!(grid.geo_transform, gt);
    }

    #[test]
    fn calibration_divides_by_the_gain_and_masks_the_fill() {
        let mut pixels = [600.0, -9999.0, 1200.0, 5.0, f32::NAN];
        let stats = calibrate(&mut pixels, Some(300.0), &[-9999.0, 5.0]);
        assert_eq!(pixels, [2.0, NODATA, 4.0, NODATA, NODATA]);
        assert_eq!(stats.count, 2);
        assert_eq!((stats.min, stats.max), (2.0, 4.0));
    }
}
