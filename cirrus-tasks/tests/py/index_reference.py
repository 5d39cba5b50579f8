#!/usr/bin/env python3
"""Independent reference for the hsi-index tests: numpy + osgeo.gdal.

Reads the ENVI scene itself (its own header parser and numpy.memmap, no Rust code involved),
resolves each wavelength to the nearest good band centre (argmin over the header's
wavelengths, bbl honoured), computes every product in float64 with its own formulas, and
compares with the COGs hsi-index wrote (read with GDAL).

Usage: index_reference.py SPEC.json  ->  prints a JSON report on stdout.
SPEC: {"image": path, "header": path, "outputs": {name: cog path}}
Report: {name: {"max_abs_diff", "max_error" (|a-e| / max(1, |e|)), "nodata_equal", "nodata": n, "valid": n,
                "bands": {wavelength: 1-based band}, "nodata_value", "shape"}}
"""
import json
import re
import sys

import numpy as np
from osgeo import gdal
from osgeo_utils.samples.validate_cloud_optimized_geotiff import validate

FILL = -9999.0

# The products, written independently of the Rust expressions.
FORMULAS = {
    "ndvi": ([860, 670], lambda r: (r[860] - r[670]) / (r[860] + r[670])),
    "ndwi": ([860, 1240], lambda r: (r[860] - r[1240]) / (r[860] + r[1240])),
    "mndwi": ([560, 1640], lambda r: (r[560] - r[1640]) / (r[560] + r[1640])),
    "ndre": ([790, 720], lambda r: (r[790] - r[720]) / (r[790] + r[720])),
    "ndmi": ([860, 1650], lambda r: (r[860] - r[1650]) / (r[860] + r[1650])),
    "pri": ([531, 570], lambda r: (r[531] - r[570]) / (r[531] + r[570])),
    "cai": ([2000, 2100, 2200], lambda r: 0.5 * (r[2000] + r[2200]) - r[2100]),
    "hydrocarbon": (
        [1705, 1729, 1741],
        lambda r: (1729 - 1705) * (r[1741] - r[1705]) / (1741 - 1705) + r[1705] - r[1729],
    ),
    # The custom expressions the tests use, by product name.
    "custom": (
        [1000, 550, 450, 2200],
        lambda r: np.sqrt(np.abs(r[1000] - r[550])) / np.maximum(np.maximum(r[450], r[2200]), 0.01),
    ),
    "seam": ([662], lambda r: r[662]),
    "seam2": ([1258], lambda r: -r[1258] * 2),
}


def parse_header(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    fields = {}
    for match in re.finditer(r"^\s*([^=;\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, re.M):
        key, value = match.group(1).strip().lower(), match.group(2).strip()
        fields[key] = value

    def array(key, cast=float):
        if key not in fields:
            return None
        return [cast(v) for v in fields[key].strip("{}").replace("\n", " ").split(",") if v.strip()]

    units = fields.get("wavelength units", "").lower()
    wavelengths = np.array(array("wavelength"), dtype=np.float64)
    if units.startswith("micro") or (not units and wavelengths.max() < 100):
        wavelengths = wavelengths * 1000.0
    return {
        "samples": int(fields["samples"]),
        "lines": int(fields["lines"]),
        "bands": int(fields["bands"]),
        "offset": int(fields.get("header offset", "0")),
        "dtype": {2: "i2", 4: "f4", 12: "u2", 3: "i4", 5: "f8", 1: "u1"}[int(fields["data type"])],
        "big": fields.get("byte order", "0").strip() == "1",
        "interleave": fields["interleave"].strip().lower(),
        "wavelengths": wavelengths,
        "bbl": array("bbl"),
        "gains": array("data gain values"),
        "ignore": float(fields["data ignore value"]) if "data ignore value" in fields else None,
    }


def band_reader(image, h):
    dtype = np.dtype(h["dtype"]).newbyteorder(">" if h["big"] else "<")
    s, l, b = h["samples"], h["lines"], h["bands"]
    shape = {"bsq": (b, l, s), "bil": (l, b, s), "bip": (l, s, b)}[h["interleave"]]
    cube = np.memmap(image, dtype=dtype, mode="r", offset=h["offset"], shape=shape)

    def band(i):
        raw = {"bsq": lambda: cube[i], "bil": lambda: cube[:, i, :], "bip": lambda: cube[:, :, i]}[h["interleave"]]()
        raw = np.asarray(raw, dtype=np.float64)
        missing = np.isnan(raw) | (raw == FILL)
        if h["ignore"] is not None:
            missing |= raw == h["ignore"]
        value = raw / h["gains"][i] if h["gains"] else raw
        value[missing] = np.nan
        return value

    return band


def nearest(h, nm):
    good = np.ones(h["bands"], dtype=bool) if h["bbl"] is None else np.array(h["bbl"]) != 0
    distance = np.where(good, np.abs(h["wavelengths"] - nm), np.inf)
    return int(np.argmin(distance))


def main():
    spec = json.load(open(sys.argv[1]))
    h = parse_header(spec["header"])
    band = band_reader(spec["image"], h)
    report = {}
    for name, cog in spec["outputs"].items():
        wavelengths, formula = FORMULAS[name]
        resolved = {nm: nearest(h, nm) for nm in wavelengths}
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = formula({nm: band(i) for nm, i in resolved.items()})
        expected_nodata = ~np.isfinite(expected)
        ds = gdal.Open(cog)
        out_band = ds.GetRasterBand(1)
        actual = out_band.ReadAsArray().astype(np.float64)
        nodata = out_band.GetNoDataValue()
        actual_nodata = actual == nodata
        valid = ~expected_nodata & ~actual_nodata
        diff = np.abs(actual[valid] - expected[valid])
        # Relative above 1: a float32 output cannot hold 20.0 to better than ~1e-6.
        error = diff / np.maximum(1.0, np.abs(expected[valid]))
        report[name] = {
            "max_abs_diff": float(diff.max()) if diff.size else 0.0,
            "max_error": float(error.max()) if error.size else 0.0,
            "nodata_equal": bool((expected_nodata == actual_nodata).all()),
            "nodata": int(actual_nodata.sum()),
            "valid": int(valid.sum()),
            "bands": {str(nm): i + 1 for nm, i in resolved.items()},
            "nodata_value": nodata,
            "shape": list(actual.shape),
            "driver_layout": ds.GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"),
            "cog_errors": validate(cog, full_check=True)[1],
            "statistics": {
                key: ds.GetRasterBand(1).GetMetadataItem("STATISTICS_" + key.upper())
                for key in ("minimum", "maximum", "mean", "stddev")
            },
            "description": ds.GetRasterBand(1).GetDescription(),
            "overviews": ds.GetRasterBand(1).GetOverviewCount(),
        }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
