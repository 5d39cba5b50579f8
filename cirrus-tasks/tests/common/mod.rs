//! Helpers shared by the integration tests.

use std::process::Command;
use std::sync::OnceLock;

/// A Python 3 with numpy and osgeo.gdal, for the independent numpy checks: `$CIRRUS_PYTHON`
/// when set (as `scripts/install.sh` honours it), else Debian's `/usr/bin/python3` (where
/// python3-numpy and python3-gdal install; a pyenv `python3` earlier on the PATH may lack
/// them), else `python3`.
pub fn python() -> &'static str {
    static FOUND: OnceLock<String> = OnceLock::new();
    FOUND.get_or_init(|| {
        let mut candidates: Vec<String> = std::env::var("CIRRUS_PYTHON").into_iter().collect();
        candidates.extend(["/usr/bin/python3".to_string(), "python3".to_string()]);
        candidates
            .into_iter()
            .find(|candidate| {
                Command::new(candidate)
                    .args(["-c", "import numpy, osgeo.gdal"])
                    .output()
                    .is_ok_and(|out| out.status.success())
            })
            .expect("a python3 with numpy and osgeo.gdal (Debian: python3-numpy python3-gdal; scripts/install.sh installs them)")
    })
}
