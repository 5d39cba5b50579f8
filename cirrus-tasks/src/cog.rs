//! A Cloud-Optimized GeoTIFF writer for single-band float32 rasters held in memory: the
//! products of `hsi-index`.
//!
//! It writes what GDAL's GTiff driver writes with `COPY_SRC_OVERVIEWS=YES`, `TILED=YES`,
//! `COMPRESS=DEFLATE`, `PREDICTOR=3` (the layout `validate_cloud_optimized_geotiff.py`
//! accepts, and GDAL reports as `LAYOUT=COG`):
//!
//! - the classic TIFF header, then GDAL's structural metadata ("ghost") block;
//! - the IFDs, full resolution first, then each overview (average of the valid pixels,
//!   halving until one tile holds the whole level);
//! - the tiles, smallest overview first and full resolution last, row-major, each with its
//!   size before it and its last four bytes repeated after it.
//!
//! Why not GDAL for this part: GDAL compresses one dataset's tiles at a time, behind its
//! block cache and libtiff's per-row predictor, so three products cost three rounds of
//! compression with idle cores between them. Here every tile of every product and overview
//! is one job for the same thread pool, compressed by libdeflate (the library GDAL itself
//! uses for DEFLATE, at GDAL's default level 6), and the statistics come from the same pass
//! that builds the overviews. The georeferencing is still GDAL's: [`GeoTags::from_gdal`]
//! has GDAL write a one-pixel GeoTIFF with the product's transform and CRS, and copies its
//! GeoTIFF tags, so the CRS encoding is exactly what GDAL would write.

use crate::activate::stats::BandStats;
use crate::error::{Error, Result};
use gdal::DriverManager;
use libdeflater::{CompressionLvl, Compressor};
use rayon::prelude::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// The DEFLATE level: GDAL's default (`ZLEVEL=6`).
const LEVEL: i32 = 6;

/// TIFF field types.
const SHORT: u16 = 3;
const LONG: u16 = 4;
const ASCII: u16 = 2;

/// The GeoTIFF tags copied from GDAL: ModelPixelScale, ModelTiepoint, ModelTransformation,
/// GeoKeyDirectory, GeoDoubleParams, GeoAsciiParams.
const GEO_TAGS: [u16; 6] = [33550, 33922, 34264, 34735, 34736, 34737];

/// GDAL's structural metadata, as its COG and GTiff drivers write it.
const GHOST_BODY: &str = "LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\nBLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n  ";

/// One TIFF directory entry: its tag, field type, count and value bytes (little-endian).
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    tag: u16,
    kind: u16,
    count: u32,
    bytes: Vec<u8>,
}

impl Entry {
    fn shorts(tag: u16, values: &[u16]) -> Entry {
        Entry {
            tag,
            kind: SHORT,
            count: values.len() as u32,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn longs(tag: u16, values: &[u32]) -> Entry {
        Entry {
            tag,
            kind: LONG,
            count: values.len() as u32,
            bytes: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn ascii(tag: u16, text: &str) -> Entry {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        Entry {
            tag,
            kind: ASCII,
            count: bytes.len() as u32,
            bytes,
        }
    }

    /// Bytes this entry needs after its directory (its value does not fit in 4), rounded
    /// up to a word boundary.
    fn outside(&self) -> usize {
        if self.bytes.len() > 4 {
            self.bytes.len().next_multiple_of(2)
        } else {
            0
        }
    }
}

/// The GeoTIFF tags of a product's georeferencing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoTags(Vec<Entry>);

impl GeoTags {
    /// The GeoTIFF tags GDAL writes for a raster with this geotransform and CRS (WKT; empty
    /// for none): GDAL writes a one-pixel GeoTIFF at `scratch`, whose tags are read back
    /// and the file removed. A pixel scale, tie point or transformation matrix does not
    /// depend on the raster's size.
    ///
    /// `None` when GDAL could not say it all in GeoTIFF tags and wrote a `.aux.xml` sidecar
    /// beside the probe (a CRS GeoTIFF keys cannot express): then GDAL has to write the COG.
    pub fn from_gdal(
        transform: Option<[f64; 6]>,
        wkt: &str,
        scratch: &Path,
    ) -> Result<Option<GeoTags>> {
        let context = || format!("writing the georeferencing probe {}", scratch.display());
        {
            let driver = DriverManager::get_driver_by_name("GTiff")
                .map_err(|err| Error::gdal(context(), err))?;
            let mut dataset = driver
                .create_with_band_type::<f32, _>(scratch, 1, 1, 1)
                .map_err(|err| Error::gdal(context(), err))?;
            if let Some(transform) = transform {
                dataset
                    .set_geo_transform(&transform)
                    .map_err(|err| Error::gdal(context(), err))?;
            }
            if !wkt.is_empty() {
                dataset
                    .set_projection(wkt)
                    .map_err(|err| Error::gdal(context(), err))?;
            }
        }
        let bytes = std::fs::read(scratch)
            .map_err(|err| Error::io(scratch, "reading the georeferencing probe", err));
        let _ = std::fs::remove_file(scratch);
        let mut sidecar = scratch.as_os_str().to_owned();
        sidecar.push(".aux.xml");
        if std::fs::remove_file(&sidecar).is_ok() {
            tracing::debug!("the CRS needs a GDAL sidecar: GDAL writes the COGs");
            return Ok(None);
        }
        parse_geo_tags(&bytes?)
            .map(|tags| Some(GeoTags(tags)))
            .ok_or_else(|| Error::envi(scratch, "GDAL wrote a GeoTIFF this writer cannot read"))
    }
}

/// The GeoTIFF tags of the first directory of a little-endian classic TIFF; `None` when
/// the bytes are not one.
fn parse_geo_tags(bytes: &[u8]) -> Option<Vec<Entry>> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    if bytes.get(..4)? != b"II*\0" {
        return None;
    }
    let ifd = u32_at(4)? as usize;
    let mut entries = Vec::new();
    for i in 0..usize::from(u16_at(ifd)?) {
        let at = ifd + 2 + 12 * i;
        let tag = u16_at(at)?;
        if !GEO_TAGS.contains(&tag) {
            continue;
        }
        let kind = u16_at(at + 2)?;
        let count = u32_at(at + 4)?;
        let width = match kind {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 | 11 => 4,
            5 | 10 | 12 => 8,
            _ => return None,
        };
        let len = width * count as usize;
        let start = if len <= 4 {
            at + 8
        } else {
            u32_at(at + 8)? as usize
        };
        entries.push(Entry {
            tag,
            kind,
            count,
            bytes: bytes.get(start..start + len)?.to_vec(),
        });
    }
    Some(entries)
}

/// One float32 band to write.
#[derive(Debug)]
pub struct Band<'a> {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width × height` values, row by row.
    pub values: &'a [f32],
    /// The value of missing pixels (NaN also counts as missing).
    pub nodata: f32,
    /// The band's description (GDAL's `DESCRIPTION`).
    pub description: &'a str,
}

/// One resolution level of a band: the full resolution or an overview.
struct Level {
    width: usize,
    height: usize,
    values: Vec<f32>,
}

/// Writes each band as the COG at its path (`tile`-pixel tiles, overviews down to one
/// tile), on `threads` threads; returns each band's raster extension entry
/// (`data_type`, `nodata`, `statistics`).
pub fn write(
    bands: &[(Band<'_>, &Path)],
    geo: &GeoTags,
    tile: usize,
    threads: usize,
) -> Result<Vec<Value>> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .map_err(|err| {
            Error::io(
                bands_path(bands),
                "starting the COG threads",
                std::io::Error::other(err),
            )
        })?;
    pool.install(|| {
        // Statistics and overviews, one band per job.
        let prepared: Vec<(BandStats, Vec<Level>)> = bands
            .par_iter()
            .map(|(band, _)| (statistics(band), overviews(band, tile)))
            .collect();
        // Every tile of every level of every band, one job each.
        let jobs: Vec<(usize, usize, usize)> = prepared
            .iter()
            .enumerate()
            .flat_map(|(b, (_, overviews))| {
                let band = &bands[b].0;
                std::iter::once((band.width, band.height))
                    .chain(overviews.iter().map(|l| (l.width, l.height)))
                    .enumerate()
                    .flat_map(move |(l, (w, h))| {
                        (0..w.div_ceil(tile) * h.div_ceil(tile)).map(move |t| (b, l, t))
                    })
            })
            .collect();
        let compressed: Vec<Vec<u8>> = jobs
            .par_iter()
            .map_init(
                || {
                    let level = CompressionLvl::new(LEVEL).expect("6 is a valid DEFLATE level");
                    (Compressor::new(level), Vec::new(), Vec::new())
                },
                |(compressor, samples, encoded), &(b, l, t)| {
                    let band = &bands[b].0;
                    let (width, height, values) = match l {
                        0 => (band.width, band.height, band.values),
                        l => {
                            let level = &prepared[b].1[l - 1];
                            (level.width, level.height, level.values.as_slice())
                        }
                    };
                    let across = width.div_ceil(tile);
                    let (x0, y0) = ((t % across) * tile, (t / across) * tile);
                    extract(values, width, height, x0, y0, tile, band.nodata, samples);
                    predict(samples, tile, encoded);
                    let mut out = vec![0; compressor.zlib_compress_bound(encoded.len())];
                    let n = compressor
                        .zlib_compress(encoded, &mut out)
                        .expect("the output buffer has the compressor's bound");
                    out.truncate(n);
                    out
                },
            )
            .collect();
        // Each band's file, from its share of the tiles.
        let mut next = 0;
        let mut files = Vec::with_capacity(bands.len());
        for b in 0..bands.len() {
            let count = jobs[next..]
                .iter()
                .take_while(|(jb, _, _)| *jb == b)
                .count();
            files.push(&compressed[next..next + count]);
            next += count;
        }
        bands
            .par_iter()
            .zip(prepared.par_iter())
            .zip(files.into_par_iter())
            .map(|(((band, path), (stats, overviews)), tiles)| {
                let dims: Vec<(usize, usize)> = std::iter::once((band.width, band.height))
                    .chain(overviews.iter().map(|l| (l.width, l.height)))
                    .collect();
                let metadata = metadata(stats, band);
                write_file(path, &dims, tiles, tile, geo, &metadata, band.nodata)?;
                Ok(stats.raster_band((band.width * band.height) as u64, band.nodata))
            })
            .collect()
    })
}

fn bands_path<'a>(bands: &'a [(Band<'_>, &'a Path)]) -> &'a Path {
    bands.first().map_or(Path::new("."), |(_, path)| path)
}

fn is_valid(value: f32, nodata: f32) -> bool {
    !value.is_nan() && value != nodata
}

fn statistics(band: &Band<'_>) -> BandStats {
    let mut stats = BandStats::default();
    for &value in band.values {
        if is_valid(value, band.nodata) {
            stats.add(value);
        }
    }
    stats
}

/// The overviews: each level the average of the valid pixels of 2×2 blocks of the one
/// before (nodata where none is valid), until a level fits in one tile.
fn overviews(band: &Band<'_>, tile: usize) -> Vec<Level> {
    let mut levels: Vec<Level> = Vec::new();
    let (mut width, mut height) = (band.width, band.height);
    // As many levels as GDAL's path builds for the same raster.
    for _ in crate::raster::overview_levels(band.width, band.height, tile) {
        let source = levels.last().map_or(band.values, |l| l.values.as_slice());
        let (w, h) = (width.div_ceil(2), height.div_ceil(2));
        let mut values = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let (mut sum, mut n) = (0.0f64, 0u32);
                for sy in 2 * y..(2 * y + 2).min(height) {
                    for sx in 2 * x..(2 * x + 2).min(width) {
                        let v = source[sy * width + sx];
                        if is_valid(v, band.nodata) {
                            sum += f64::from(v);
                            n += 1;
                        }
                    }
                }
                values.push(if n == 0 {
                    band.nodata
                } else {
                    (sum / f64::from(n)) as f32
                });
            }
        }
        levels.push(Level {
            width: w,
            height: h,
            values,
        });
        (width, height) = (w, h);
    }
    levels
}

/// Copies the `tile`×`tile` window at (`x0`, `y0`) into `out`, nodata past the edges.
#[allow(clippy::too_many_arguments)]
fn extract(
    values: &[f32],
    width: usize,
    height: usize,
    x0: usize,
    y0: usize,
    tile: usize,
    nodata: f32,
    out: &mut Vec<f32>,
) {
    out.clear();
    out.resize(tile * tile, nodata);
    let columns = tile.min(width - x0);
    for row in 0..tile.min(height - y0) {
        let from = (y0 + row) * width + x0;
        out[row * tile..row * tile + columns].copy_from_slice(&values[from..from + columns]);
    }
}

/// TIFF's floating-point predictor (3) on each row of a tile: the row's bytes regrouped
/// most significant byte first (all the first bytes, then all the second…), then each
/// byte replaced by its difference from the one before.
fn predict(samples: &[f32], tile: usize, out: &mut Vec<u8>) {
    out.clear();
    out.resize(samples.len() * 4, 0);
    for (row, encoded) in samples.chunks(tile).zip(out.chunks_mut(tile * 4)) {
        for (i, value) in row.iter().enumerate() {
            let bytes = value.to_be_bytes();
            for (plane, byte) in bytes.iter().enumerate() {
                encoded[plane * tile + i] = *byte;
            }
        }
        for i in (1..encoded.len()).rev() {
            encoded[i] = encoded[i].wrapping_sub(encoded[i - 1]);
        }
    }
}

/// GDAL's `GDAL_METADATA` XML: the band's statistics and description.
fn metadata(stats: &BandStats, band: &Band<'_>) -> String {
    let mut xml = String::from("<GDALMetadata>\n");
    if let Some((mean, stddev)) = stats.mean_stddev() {
        let valid = 100.0 * stats.count as f64 / (band.width * band.height).max(1) as f64;
        for (name, value) in [
            ("STATISTICS_MAXIMUM", f64::from(stats.max)),
            ("STATISTICS_MEAN", mean),
            ("STATISTICS_MINIMUM", f64::from(stats.min)),
            ("STATISTICS_STDDEV", stddev),
            ("STATISTICS_VALID_PERCENT", valid),
        ] {
            xml.push_str(&format!(
                "  <Item name=\"{name}\" sample=\"0\">{value}</Item>\n"
            ));
        }
    }
    if !band.description.is_empty() {
        xml.push_str(&format!(
            "  <Item name=\"DESCRIPTION\" sample=\"0\" role=\"description\">{}</Item>\n",
            escape(band.description)
        ));
    }
    xml.push_str("</GDALMetadata>");
    xml
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Lays out and writes one COG: header, ghost, directories (full resolution, then each
/// overview), then the tiles (smallest overview first). `levels[i]` are the sizes of level
/// `i` (0 the full resolution); `tiles` holds every level's tiles in that order.
fn write_file(
    path: &Path,
    levels: &[(usize, usize)],
    tiles: &[Vec<u8>],
    tile: usize,
    geo: &GeoTags,
    metadata: &str,
    nodata: f32,
) -> Result<()> {
    let ghost = format!(
        "GDAL_STRUCTURAL_METADATA_SIZE={:06} bytes\n{GHOST_BODY}",
        GHOST_BODY.len()
    );
    let first_ifd = (8 + ghost.len()).next_multiple_of(2);
    // Each level's tiles, and its directory without the tile offsets yet.
    let mut counts = Vec::with_capacity(levels.len());
    let mut start = 0;
    for &(w, h) in levels {
        let n = w.div_ceil(tile) * h.div_ceil(tile);
        counts.push(start..start + n);
        start += n;
    }
    let directory = |level: usize, offsets: &[u32]| -> Vec<Entry> {
        let (w, h) = levels[level];
        let sizes: Vec<u32> = tiles[counts[level].clone()]
            .iter()
            .map(|t| t.len() as u32)
            .collect();
        let mut entries = Vec::new();
        if level > 0 {
            entries.push(Entry::longs(254, &[1]));
        }
        entries.extend([
            Entry::longs(256, &[w as u32]),
            Entry::longs(257, &[h as u32]),
            Entry::shorts(258, &[32]),
            Entry::shorts(259, &[8]),
            Entry::shorts(262, &[1]),
            Entry::shorts(277, &[1]),
            Entry::shorts(284, &[1]),
            Entry::shorts(317, &[3]),
            Entry::longs(322, &[tile as u32]),
            Entry::longs(323, &[tile as u32]),
            Entry::longs(324, offsets),
            Entry::longs(325, &sizes),
            Entry::shorts(339, &[3]),
        ]);
        if level == 0 {
            entries.extend(geo.0.iter().cloned());
            entries.push(Entry::ascii(42112, metadata));
        }
        entries.push(Entry::ascii(42113, &format!("{nodata}")));
        entries.sort_by_key(|e| e.tag);
        entries
    };
    let size_of = |entries: &[Entry]| {
        2 + 12 * entries.len() + 4 + entries.iter().map(Entry::outside).sum::<usize>()
    };
    // Directory sizes do not depend on the offsets' values: lay them out with zeros.
    let mut ifd_at = Vec::with_capacity(levels.len());
    let mut at = first_ifd;
    for (level, range) in counts.iter().enumerate() {
        ifd_at.push(at);
        at += size_of(&directory(level, &vec![0; range.len()]));
    }
    // The tiles: smallest overview first, each with its size before and its last four bytes
    // after.
    let mut offsets: Vec<Vec<u32>> = vec![Vec::new(); levels.len()];
    for level in (0..levels.len()).rev() {
        for t in &tiles[counts[level].clone()] {
            at += 4;
            offsets[level].push(offset(at, path)?);
            at += t.len() + 4;
        }
    }
    let file =
        std::fs::File::create(path).map_err(|err| Error::io(path, "creating the COG", err))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let io = |err| Error::io(path, "writing the COG", err);
    let mut written = 0usize;
    let mut put = |out: &mut std::io::BufWriter<std::fs::File>, bytes: &[u8]| {
        written += bytes.len();
        out.write_all(bytes).map_err(io)
    };
    put(&mut out, b"II*\0")?;
    put(&mut out, &(first_ifd as u32).to_le_bytes())?;
    put(&mut out, ghost.as_bytes())?;
    put(&mut out, &vec![0; first_ifd - 8 - ghost.len()])?;
    for level in 0..levels.len() {
        let entries = directory(level, &offsets[level]);
        let start = ifd_at[level];
        let mut extra = start + 2 + 12 * entries.len() + 4;
        let mut table = Vec::with_capacity(size_of(&entries));
        table.extend((entries.len() as u16).to_le_bytes());
        let mut outside = Vec::new();
        for entry in &entries {
            table.extend(entry.tag.to_le_bytes());
            table.extend(entry.kind.to_le_bytes());
            table.extend(entry.count.to_le_bytes());
            if entry.bytes.len() <= 4 {
                let mut value = [0u8; 4];
                value[..entry.bytes.len()].copy_from_slice(&entry.bytes);
                table.extend(value);
            } else {
                table.extend(offset(extra, path)?.to_le_bytes());
                outside.extend(&entry.bytes);
                outside.resize(outside.len().next_multiple_of(2), 0);
                extra += entry.outside();
            }
        }
        let next = ifd_at.get(level + 1).map_or(0, |&at| at as u32);
        table.extend(next.to_le_bytes());
        table.extend(outside);
        put(&mut out, &table)?;
    }
    for level in (0..levels.len()).rev() {
        for t in &tiles[counts[level].clone()] {
            put(&mut out, &(t.len() as u32).to_le_bytes())?;
            put(&mut out, t)?;
            put(&mut out, &t[t.len().saturating_sub(4)..])?;
            if t.len() < 4 {
                put(&mut out, &vec![0; 4 - t.len()])?;
            }
        }
    }
    out.flush().map_err(io)?;
    debug_assert_eq!(written, at);
    Ok(())
}

/// A file offset as a classic TIFF's 32 bits.
fn offset(at: usize, path: &Path) -> Result<u32> {
    u32::try_from(at).map_err(|_| {
        Error::io(
            path,
            "writing the COG",
            std::io::Error::other("the file would pass 4 GB, the classic TIFF limit"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_predictor_regroups_bytes_most_significant_first_then_differences() {
        // One row of two samples, tile width 2.
        let samples = [f32::from_bits(0x0102_0304), f32::from_bits(0x0506_0708)];
        let mut out = Vec::new();
        predict(&samples, 2, &mut out);
        // Regrouped: 01 05 02 06 03 07 04 08; differenced: 01 04 fd 04 fd 04 fd 04.
        assert_eq!(out, [0x01, 0x04, 0xfd, 0x04, 0xfd, 0x04, 0xfd, 0x04]);
    }

    #[test]
    fn overviews_average_the_valid_pixels_and_halve_down_to_one_tile() {
        let nodata = -9999.0;
        #[rustfmt::skip]
        let values = [
            1.0, 3.0, nodata, nodata, 5.0,
            5.0, 7.0, nodata, nodata, 6.0,
            2.0, f32::NAN, 4.0, 4.0, 9.0,
        ];
        let band = Band {
            width: 5,
            height: 3,
            values: &values,
            nodata,
            description: "",
        };
        let levels = overviews(&band, 2);
        assert_eq!(levels.len(), 2);
        assert_eq!((levels[0].width, levels[0].height), (3, 2));
        assert_eq!(levels[0].values, [4.0, nodata, 5.5, 2.0, 4.0, 9.0]);
        assert_eq!((levels[1].width, levels[1].height), (2, 1));
        // From the level before: (4 + 2 + 4) / 3 and (5.5 + 9) / 2.
        assert_eq!(levels[1].values, [10.0 / 3.0, 7.25]);
        assert!(overviews(&band, 5).is_empty());
    }

    #[test]
    fn edge_tiles_are_padded_with_nodata() {
        let values: Vec<f32> = (0..6).map(|v| v as f32).collect();
        let mut out = Vec::new();
        extract(&values, 3, 2, 2, 0, 2, -1.0, &mut out);
        assert_eq!(out, [2.0, -1.0, 5.0, -1.0]);
    }
}
