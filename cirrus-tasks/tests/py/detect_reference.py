#!/usr/bin/env python3
"""Independent reference for the hsi-detect tests: numpy + osgeo.gdal.

Reads the ENVI scene itself (its own header parser and numpy.memmap, no Rust code involved):
gains divided out, the -9999 fill and NaN masked (a pixel is valid when every good band has
data), bands with bbl 0 left out. Computes in float64, with numpy's own formulas:

    mu, Sigma = mean and np.cov (ddof 1) of the valid pixels
    Sigma_reg = (1 - lam) Sigma + lam tr(Sigma)/p I
    t = np.interp(band centres, target wavelengths, target values);  s = t - mu
    MF  = s' Si d / (s' Si s),   ACE = (s' Si d)^2 / ((s' Si s)(d' Si d)),   RX = d' Si d
    CH4 (per column c, window bands, k given): t_c = -mu_c * k,  a = d_c' Si_c t_c / (t_c' Si_c t_c)

and compares with the COGs hsi-detect wrote (read with GDAL).

Usage: detect_reference.py SPEC.json  ->  prints a JSON report on stdout.
SPEC: {"image", "header", "regularization", "target": {"wavelengths_nm", "values"},
       "outputs": {method: cog path}, "methane": {"window_nm": [lo, hi], "k": [...]}}
Report: {method: {"max_abs_diff", "max_rel_diff", "valid", "nodata_equal", "max_abs_ref"}}
"""
import json
import re
import sys

import numpy as np
from osgeo import gdal

FILL = -9999.0
DTYPES = {1: "u1", 2: "<i2", 3: "<i4", 4: "<f4", 5: "<f8", 12: "<u2"}


def parse_header(path):
    text = open(path, encoding="utf-8", errors="replace").read()
    fields = {}
    for match in re.finditer(r"^\s*([^=;\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, re.M):
        fields[match.group(1).strip().lower()] = match.group(2).strip()

    def array(key):
        if key not in fields:
            return None
        parts = fields[key].strip("{}").replace("\n", " ").split(",")
        return np.array([float(v) for v in parts if v.strip()])

    wavelengths = array("wavelength")
    units = fields.get("wavelength units", "").lower()
    if units.startswith("micro") or (not units and wavelengths.max() < 100):
        wavelengths = wavelengths * 1000.0
    return {
        "samples": int(fields["samples"]),
        "lines": int(fields["lines"]),
        "bands": int(fields["bands"]),
        "offset": int(fields.get("header offset", "0")),
        "dtype": DTYPES[int(fields["data type"])],
        "interleave": fields.get("interleave", "bsq").lower(),
        "byte_order": int(fields.get("byte order", "0")),
        "wavelengths": wavelengths,
        "bbl": array("bbl"),
        "gains": array("data gain values"),
        "ignore": float(fields["data ignore value"]) if "data ignore value" in fields else None,
    }


def read_cube(image, h):
    """The scene as (lines, samples, bands) float64, gains divided out, missing = NaN."""
    dtype = np.dtype(h["dtype"])
    if h["byte_order"] == 1:
        dtype = dtype.newbyteorder(">")
    shape = {
        "bsq": (h["bands"], h["lines"], h["samples"]),
        "bil": (h["lines"], h["bands"], h["samples"]),
        "bip": (h["lines"], h["samples"], h["bands"]),
    }[h["interleave"]]
    raw = np.memmap(image, dtype=dtype, mode="r", offset=h["offset"], shape=shape)
    order = {"bsq": (1, 2, 0), "bil": (0, 2, 1), "bip": (0, 1, 2)}[h["interleave"]]
    cube = np.transpose(np.asarray(raw, dtype=np.float64), order)
    missing = ~np.isfinite(cube) | (cube == FILL)
    if h["ignore"] is not None:
        missing |= cube == h["ignore"]
    if h["gains"] is not None:
        cube = cube / h["gains"][None, None, :]
    cube[missing] = np.nan
    return cube


def regularized(cov, lam):
    p = cov.shape[0]
    return (1.0 - lam) * cov + lam * np.trace(cov) / p * np.eye(p)


def main():
    spec = json.load(open(sys.argv[1]))
    h = parse_header(spec["header"])
    cube = read_cube(spec["image"], h)
    good = np.ones(h["bands"], bool) if h["bbl"] is None else h["bbl"] != 0
    centres = h["wavelengths"][good]
    x = cube[:, :, good]
    valid = np.all(np.isfinite(x), axis=2)
    lam = spec["regularization"]
    scores = {}

    pixels = x[valid]
    mu = pixels.mean(axis=0)
    sinv = np.linalg.inv(regularized(np.cov(pixels, rowvar=False), lam))
    d = pixels - mu
    rx = np.einsum("ij,jk,ik->i", d, sinv, d)
    target = spec.get("target")
    if target is not None:
        t = np.interp(centres, target["wavelengths_nm"], target["values"])
        s = t - mu
        energy = s @ sinv @ s
        proj = d @ (sinv @ s)
        for name, values in (("mf", proj / energy), ("ace", proj**2 / (energy * rx))):
            scores[name] = np.full(valid.shape, np.nan)
            scores[name][valid] = values
    scores["rx"] = np.full(valid.shape, np.nan)
    scores["rx"][valid] = rx

    methane = spec.get("methane")
    if methane is not None:
        lo, hi = methane["window_nm"]
        window = (centres >= lo) & (centres <= hi)
        k = np.array(methane["k"])
        assert k.shape[0] == window.sum(), (k.shape, window.sum())
        ch4 = np.full(valid.shape, np.nan)
        for c in range(x.shape[1]):
            rows = valid[:, c]
            if rows.sum() <= window.sum():
                continue  # too few pixels for the column's covariance: no data
            xc = x[rows, c][:, window]
            mu_c = xc.mean(axis=0)
            si_c = np.linalg.inv(regularized(np.cov(xc, rowvar=False), lam))
            t_c = -mu_c * k
            ch4[rows, c] = (xc - mu_c) @ (si_c @ t_c) / (t_c @ si_c @ t_c)
        scores["ch4-mf"] = ch4

    report = {}
    for method, cog in spec["outputs"].items():
        ref = scores[method]
        dataset = gdal.Open(cog)  # kept alive while its band is used
        band = dataset.GetRasterBand(1)
        got = band.ReadAsArray().astype(np.float64)
        both = np.isfinite(ref) & np.isfinite(got)
        diff = np.abs(got[both] - ref[both])
        report[method] = {
            "max_abs_diff": float(diff.max()),
            "max_rel_diff": float((diff / np.maximum(1.0, np.abs(ref[both]))).max()),
            "max_abs_ref": float(np.abs(ref[both]).max()),
            "valid": int(both.sum()),
            "nodata_equal": bool(np.array_equal(np.isfinite(ref), np.isfinite(got))),
            "nodata": str(band.GetNoDataValue()),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
