//! The block engine: reads only the bands the products need, block of lines by block of
//! lines, on several threads, evaluates every product's program on each block, and hands
//! the results to the caller (which keeps them in memory, or writes them into one scratch
//! GeoTIFF per product).
//!
//! Memory is bounded by the block size, not the scene: each worker holds one block of its
//! input bands and of its results, and at most `threads` finished blocks wait for the
//! writer (a bounded channel). Workers take block numbers from a shared counter, each with
//! its own [`Handle`] (its own GDAL dataset when reading through GDAL). The sink runs on the
//! calling thread, the only one touching the outputs.

use super::NODATA;
use super::program::Program;
use super::source::{Handle, Scene};
use crate::error::{Error, Result};
use gdal::Dataset;
use gdal::raster::Buffer;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Bytes of input samples (f32) a default block aims at.
const BLOCK_BYTES: usize = 16 << 20;

/// Blocks per thread a default block size leaves at least, for an even load.
const BLOCKS_PER_THREAD: usize = 4;

/// Blocks per thread whose reads are asked for before a worker gets to them.
const READ_AHEAD_BLOCKS_PER_THREAD: usize = 2;

/// What to compute.
#[derive(Debug)]
pub struct Plan<'a> {
    /// The input.
    pub scene: &'a Scene,
    /// The 0-based bands to read; a program's slot `i` is `bands[i]`.
    pub bands: Vec<usize>,
    /// One program per output.
    pub programs: Vec<Program>,
    /// Lines per block.
    pub block_lines: usize,
    /// Worker threads.
    pub threads: usize,
}

/// The default block height for a scene `width` pixels wide read on `threads` threads,
/// needing `bands` bands: about `BLOCK_BYTES` of input per block, at least
/// `BLOCKS_PER_THREAD` blocks per thread, at least 16 lines.
pub fn default_block_lines(width: usize, height: usize, bands: usize, threads: usize) -> usize {
    let by_memory = BLOCK_BYTES / (width.max(1) * bands.max(1) * 4);
    let by_balance = height.div_ceil(threads.max(1) * BLOCKS_PER_THREAD);
    by_memory.min(by_balance).max(16)
}

/// A finished block: its lines and one result per program.
#[derive(Debug)]
pub struct Block {
    /// The block's lines.
    pub lines: Range<usize>,
    /// Program `i`'s values over those lines, row by row.
    pub results: Vec<Vec<f32>>,
}

impl Plan<'_> {
    /// Runs the plan, handing each finished block to `sink` on the calling thread (in no
    /// particular order).
    pub fn run(&self, mut sink: impl FnMut(Block) -> Result<()>) -> Result<()> {
        let height = self.scene.height();
        let block_lines = self.block_lines.max(1);
        let blocks = height.div_ceil(block_lines);
        let threads = self.threads.clamp(1, blocks.max(1));
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let (sender, receiver) = mpsc::sync_channel::<Result<Block>>(threads);
        tracing::debug!(blocks, block_lines, threads, bands = ?self.bands, "computing indices");
        // The reads of the next blocks are asked for ahead of time, so that on a cold cache
        // the disk serves many of them at once while the workers compute.
        let lookahead = threads * READ_AHEAD_BLOCKS_PER_THREAD;
        let block_range =
            |block: usize| block * block_lines..((block + 1) * block_lines).min(height);
        for block in 0..lookahead.min(blocks) {
            self.scene.prefetch(&self.bands, block_range(block));
        }
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let sender = sender.clone();
                let (next, stop) = (&next, &stop);
                scope.spawn(move || {
                    let handle = match self.scene.handle() {
                        Ok(handle) => handle,
                        Err(err) => {
                            let _ = sender.send(Err(err));
                            return;
                        }
                    };
                    let mut inputs = vec![Vec::new(); self.bands.len()];
                    while !stop.load(Ordering::Relaxed) {
                        let block = next.fetch_add(1, Ordering::Relaxed);
                        if block >= blocks {
                            break;
                        }
                        if block + lookahead < blocks {
                            self.scene
                                .prefetch(&self.bands, block_range(block + lookahead));
                        }
                        let lines = block_range(block);
                        let result = self.compute(&handle, lines, &mut inputs);
                        let failed = result.is_err();
                        if sender.send(result).is_err() || failed {
                            break;
                        }
                    }
                });
            }
            drop(sender);
            let mut first_error = None;
            for result in receiver {
                if first_error.is_some() {
                    continue;
                }
                let written = result.and_then(&mut sink);
                if let Err(err) = written {
                    stop.store(true, Ordering::Relaxed);
                    first_error = Some(err);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    /// Reads and evaluates one block.
    fn compute(
        &self,
        handle: &Handle,
        lines: Range<usize>,
        inputs: &mut [Vec<f32>],
    ) -> Result<Block> {
        let n = lines.len() * self.scene.width();
        for (input, &band) in inputs.iter_mut().zip(&self.bands) {
            input.resize(n, 0.0);
            self.scene.read(handle, band, lines.clone(), input)?;
        }
        let slices: Vec<&[f32]> = inputs.iter().map(|v| &v[..n]).collect();
        let results = self
            .programs
            .iter()
            .map(|program| {
                let mut out = vec![0.0; n];
                program.eval(&slices, &mut out, NODATA as f32);
                out
            })
            .collect();
        Ok(Block { lines, results })
    }
}

/// Writes program `i`'s results of `block` to band 1 of `outputs[i]`.
pub fn write(outputs: &mut [Dataset], block: Block) -> Result<()> {
    let rows = block.lines.len();
    for (dataset, result) in outputs.iter_mut().zip(block.results) {
        let width = result.len() / rows.max(1);
        let mut band = dataset
            .rasterband(1)
            .map_err(|err| Error::gdal("the output band", err))?;
        let mut buffer = Buffer::new((width, rows), result);
        band.write((0, block.lines.start as isize), (width, rows), &mut buffer)
            .map_err(|err| {
                Error::gdal(
                    format!("writing lines {}–{}", block.lines.start, block.lines.end),
                    err,
                )
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_blocks_bound_memory_and_balance_threads() {
        // 1024 wide, 4 bands, 2 threads: balance wins (8 blocks of 128 lines).
        assert_eq!(default_block_lines(1024, 1024, 4, 2), 128);
        // A very long scene: memory wins (16 MB / (1024 × 4 × 4 B) = 1024 lines).
        assert_eq!(default_block_lines(1024, 1_000_000, 4, 2), 1024);
        // Tiny scenes still get 16 lines.
        assert_eq!(default_block_lines(7, 7, 1, 2), 16);
    }
}
