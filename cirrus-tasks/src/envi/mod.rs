//! The ENVI raster format, in pure Rust (no GDAL): the text header ([`Header`]), its data
//! types, interleaves and `map info`, and a pixel reader ([`EnviImage`]).
//!
//! An ENVI scene is a raw image file (`x.img`, or `x` with no extension) and a text header
//! next to it (`x.hdr`, or `x.img.hdr`). The header starts with the magic line `ENVI`, then
//! `key = value` lines; a value in braces (`{…}`) may span lines; keys are case-insensitive;
//! a line starting with `;` is a comment.

mod header;
mod image;
mod map_info;
#[cfg(test)]
mod tests;

pub use header::Header;
pub use image::EnviImage;
pub use map_info::MapInfo;

use std::fmt;
use std::path::{Path, PathBuf};

/// How the bands of a scene are laid out in the image file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interleave {
    /// Band sequential: every line of band 1, then every line of band 2, …
    Bsq,
    /// Band interleaved by line: line 1 of every band, then line 2 of every band, …
    Bil,
    /// Band interleaved by pixel: every band of pixel 1, then every band of pixel 2, …
    Bip,
}

impl Interleave {
    /// Parses `bsq`, `bil` or `bip`, in any case.
    pub fn parse(text: &str) -> Option<Interleave> {
        match text.trim().to_ascii_lowercase().as_str() {
            "bsq" => Some(Interleave::Bsq),
            "bil" => Some(Interleave::Bil),
            "bip" => Some(Interleave::Bip),
            _ => None,
        }
    }

    /// The header spelling: `bsq`, `bil` or `bip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Interleave::Bsq => "bsq",
            Interleave::Bil => "bil",
            Interleave::Bip => "bip",
        }
    }
}

impl fmt::Display for Interleave {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of one stored sample (the header's `data type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataType {
    /// Unsigned 8-bit integer (code 1).
    U8,
    /// Signed 16-bit integer (code 2): AVIRIS L1 radiance.
    I16,
    /// Signed 32-bit integer (code 3).
    I32,
    /// 32-bit float (code 4): AVIRIS L2 reflectance.
    F32,
    /// 64-bit float (code 5).
    F64,
    /// Unsigned 16-bit integer (code 12).
    U16,
}

impl DataType {
    /// The ENVI `data type` code.
    pub fn code(self) -> u32 {
        match self {
            DataType::U8 => 1,
            DataType::I16 => 2,
            DataType::I32 => 3,
            DataType::F32 => 4,
            DataType::F64 => 5,
            DataType::U16 => 12,
        }
    }

    /// The size of one sample, in bytes.
    pub fn bytes(self) -> usize {
        match self {
            DataType::U8 => 1,
            DataType::I16 | DataType::U16 => 2,
            DataType::I32 | DataType::F32 => 4,
            DataType::F64 => 8,
        }
    }

    /// The type with ENVI code `code`, if this reader supports it (complex types do not).
    pub fn from_code(code: u32) -> Option<DataType> {
        match code {
            1 => Some(DataType::U8),
            2 => Some(DataType::I16),
            3 => Some(DataType::I32),
            4 => Some(DataType::F32),
            5 => Some(DataType::F64),
            12 => Some(DataType::U16),
            _ => None,
        }
    }

    /// Decodes one sample from `bytes` (exactly [`DataType::bytes`] long), little-endian
    /// when `little` is true.
    pub fn decode(self, bytes: &[u8], little: bool) -> f64 {
        macro_rules! num {
            ($t:ty) => {{
                let mut raw = [0u8; std::mem::size_of::<$t>()];
                raw.copy_from_slice(&bytes[..std::mem::size_of::<$t>()]);
                if little {
                    <$t>::from_le_bytes(raw) as f64
                } else {
                    <$t>::from_be_bytes(raw) as f64
                }
            }};
        }
        match self {
            DataType::U8 => f64::from(bytes[0]),
            DataType::I16 => num!(i16),
            DataType::I32 => num!(i32),
            DataType::F32 => num!(f32),
            DataType::F64 => num!(f64),
            DataType::U16 => num!(u16),
        }
    }
}

/// The header of `image`, if one exists next to it: `x.img` → `x.hdr`, then `x.img.hdr`;
/// `x` → `x.hdr`.
pub fn header_path_for(image: &Path) -> Option<PathBuf> {
    let replaced = image.with_extension("hdr");
    let mut appended = image.as_os_str().to_owned();
    appended.push(".hdr");
    let appended = PathBuf::from(appended);
    [replaced, appended]
        .into_iter()
        .find(|candidate| candidate != image && candidate.is_file())
}
