//! Reading samples from an ENVI image file, whatever its interleave, with positioned reads
//! (no whole-file buffering).

use super::{Header, Interleave, header_path_for};
use crate::error::{Error, Result};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An open ENVI image whose size has been checked against its header.
#[derive(Debug)]
pub struct EnviImage {
    path: PathBuf,
    header: Header,
    file: File,
}

impl EnviImage {
    /// Opens `image` with the header found next to it ([`header_path_for`]).
    pub fn open(image: &Path) -> Result<EnviImage> {
        let header_path = header_path_for(image).ok_or_else(|| {
            Error::envi(
                image,
                "no ENVI header next to it (looked for the .hdr sibling and <image>.hdr)",
            )
        })?;
        EnviImage::with_header(image, Header::read(&header_path)?)
    }

    /// Opens `image` described by `header`; its size must match the header exactly.
    pub fn with_header(image: &Path, header: Header) -> Result<EnviImage> {
        header.check_image(image)?;
        let file =
            File::open(image).map_err(|err| Error::io(image, "cannot open the ENVI image", err))?;
        Ok(EnviImage {
            path: image.to_path_buf(),
            header,
            file,
        })
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The image file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The stored values (no gain applied) of every band of one pixel, in band order.
    pub fn pixel(&self, line: usize, sample: usize) -> Result<Vec<f64>> {
        self.check_position(line, sample)?;
        let h = &self.header;
        let size = h.data_type.bytes();
        let mut out = Vec::with_capacity(h.bands);
        match h.interleave {
            Interleave::Bip => {
                let mut raw = vec![0u8; h.bands * size];
                self.read_at(&mut raw, self.sample_index(line, sample, 0))?;
                out.extend(raw.chunks_exact(size).map(|b| self.decode(b)));
            }
            Interleave::Bil | Interleave::Bsq => {
                let mut raw = vec![0u8; size];
                for band in 0..h.bands {
                    self.read_at(&mut raw, self.sample_index(line, sample, band))?;
                    out.push(self.decode(&raw));
                }
            }
        }
        Ok(out)
    }

    /// The stored values of one line, band-major: `out[band * samples + sample]`.
    pub fn line(&self, line: usize) -> Result<Vec<f64>> {
        self.check_position(line, 0)?;
        let h = &self.header;
        let size = h.data_type.bytes();
        let (samples, bands) = (h.samples, h.bands);
        let mut out = vec![0.0; samples * bands];
        match h.interleave {
            Interleave::Bil | Interleave::Bip => {
                let mut raw = vec![0u8; samples * bands * size];
                self.read_at(&mut raw, self.sample_index(line, 0, 0))?;
                for (i, bytes) in raw.chunks_exact(size).enumerate() {
                    let (band, sample) = if h.interleave == Interleave::Bil {
                        (i / samples, i % samples)
                    } else {
                        (i % bands, i / bands)
                    };
                    out[band * samples + sample] = self.decode(bytes);
                }
            }
            Interleave::Bsq => {
                let mut raw = vec![0u8; samples * size];
                for band in 0..bands {
                    self.read_at(&mut raw, self.sample_index(line, 0, band))?;
                    for (sample, bytes) in raw.chunks_exact(size).enumerate() {
                        out[band * samples + sample] = self.decode(bytes);
                    }
                }
            }
        }
        Ok(out)
    }

    /// The index (in samples, not bytes) of `(line, sample, band)` in the file.
    fn sample_index(&self, line: usize, sample: usize, band: usize) -> u64 {
        let h = &self.header;
        let (s, l, b) = (h.samples as u64, h.lines as u64, h.bands as u64);
        let (line, sample, band) = (line as u64, sample as u64, band as u64);
        match h.interleave {
            Interleave::Bsq => (band * l + line) * s + sample,
            Interleave::Bil => (line * b + band) * s + sample,
            Interleave::Bip => (line * s + sample) * b + band,
        }
    }

    fn check_position(&self, line: usize, sample: usize) -> Result<()> {
        let h = &self.header;
        if line >= h.lines || sample >= h.samples {
            return Err(Error::envi(
                &self.path,
                format!(
                    "pixel (line {line}, sample {sample}) is outside the {} × {} image",
                    h.lines, h.samples
                ),
            ));
        }
        Ok(())
    }

    fn read_at(&self, buf: &mut [u8], sample_index: u64) -> Result<()> {
        let offset =
            self.header.header_offset + sample_index * self.header.data_type.bytes() as u64;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|err| Error::io(&self.path, format!("cannot read at byte {offset}"), err))
    }

    fn decode(&self, bytes: &[u8]) -> f64 {
        self.header
            .data_type
            .decode(bytes, self.header.byte_order == 0)
    }
}
