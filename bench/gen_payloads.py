#!/usr/bin/env python3
"""Deterministic generator of Cirrus process payloads for the get-id benchmark.

Usage: gen_payloads.py COUNT SEED OUTPUT

Writes COUNT payloads as NDJSON (compact JSON, one payload per line, UTF-8)
to OUTPUT. Each payload is a FeatureCollection of 1-5 Sentinel-2-like STAC
items (15-17 assets with proj:/raster: fields, polygon geometry, bbox,
~20 properties, self/canonical/collection links; 7-8 KB each)
plus a `process` block with `workflow`, `upload_options` and `tasks`.
The top-level `id` is deliberately absent so it has to be computed.

Standard library only; the same COUNT and SEED always give the same bytes.
A small share of payloads exercise the less common ID paths of cirrus-geo:
mixed collections, items without `collection`, and a `process.collections`
override.
"""

from __future__ import annotations

import json
import os
import random
import sys

LAT_BANDS = "CDEFGHJKLMNPQRSTUVWX"
GRID_E = "ABCDEFGHJKLMNPQRSTUVWXYZ"
GRID_N = "ABCDEFGHJKLMNPQRSTUV"

# (key, title, resolution in m, common name or None)
BANDS = [
    ("coastal", "Coastal - 60m", 60, "coastal"),
    ("blue", "Blue (band 2) - 10m", 10, "blue"),
    ("green", "Green (band 3) - 10m", 10, "green"),
    ("red", "Red (band 4) - 10m", 10, "red"),
    ("rededge1", "Red edge 1 (band 5) - 20m", 20, "rededge"),
    ("rededge2", "Red edge 2 (band 6) - 20m", 20, "rededge"),
    ("rededge3", "Red edge 3 (band 7) - 20m", 20, "rededge"),
    ("nir", "NIR 1 (band 8) - 10m", 10, "nir"),
    ("nir08", "NIR 2 (band 8A) - 20m", 20, "nir08"),
    ("nir09", "NIR 3 (band 9) - 60m", 60, "nir09"),
    ("swir16", "SWIR 1 (band 11) - 20m", 20, "swir16"),
    ("swir22", "SWIR 2 (band 12) - 20m", 20, "swir22"),
    # non-ASCII on purpose: JSON is written with ensure_ascii=False
    ("aot", "Épaisseur optique des aérosols (AOT) — 20 m", 20, None),
    ("scl", "Scene classification map (SCL) – Szenenklassifikation", 20, None),
    ("wvp", "Water vapour (WVP) - 20m", 20, None),
]
SHAPE = {10: 10980, 20: 5490, 60: 1830}
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
COLLECTIONS = ["sentinel-2-l2a", "sentinel-2-l1c", "sentinel-2-c1-l2a"]
COLLECTION_WEIGHTS = [6, 2, 2]
ROOT = "https://earth-search.example.com/v1"


def polygon(rng: random.Random) -> tuple[list, list]:
    x = rng.uniform(-179.0, 178.0)
    y = rng.uniform(-75.0, 75.0)
    ring = []
    for dx, dy in ((0.0, 0.0), (1.0, 0.02), (1.02, 0.99), (0.6, 1.0), (0.01, 0.98)):
        ring.append(
            [
                round(x + dx * rng.uniform(0.97, 1.03), 9),
                round(y + dy * rng.uniform(0.97, 1.03), 9),
            ]
        )
    ring.append(list(ring[0]))
    xs = [c[0] for c in ring]
    ys = [c[1] for c in ring]
    return [ring], [min(xs), min(ys), max(xs), max(ys)]


def item(rng: random.Random, collection: str | None, coll_for_id: str) -> dict:
    zone = rng.randint(1, 60)
    band = rng.choice(LAT_BANDS)
    square = rng.choice(GRID_E) + rng.choice(GRID_N)
    tile = f"{zone:02d}{band}{square}"
    sat = rng.choice("AB")
    year = rng.randint(2017, 2024)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    hh, mm, ss = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
    date = f"{year}{month:02d}{day:02d}"
    seq = rng.randint(0, 2)
    if coll_for_id == "sentinel-2-c1-l2a":
        iid = f"S2{sat}_T{tile}_{date}T{hh:02d}{mm:02d}{ss:02d}_L2A"
    elif coll_for_id == "sentinel-2-l1c":
        iid = f"S2{sat}_{tile}_{date}_{seq}_L1C"
    else:
        iid = f"S2{sat}_{tile}_{date}_{seq}_L2A"
    coll_path = coll_for_id
    prefix = f"s3://sentinel-cogs/{coll_path}/{zone}/{band}/{square}/{year}/{month}/{iid}"
    epsg = (32600 if band >= "N" else 32700) + zone
    x0 = rng.choice([199980, 300000, 399960, 499980, 600000, 699960])
    y0 = rng.choice([1000020, 2000040, 3000000, 4000020, 5000040, 6000000, 7000020])

    assets = {}
    bands = BANDS if rng.random() < 0.7 else [b for b in BANDS if b[0] != "wvp"]
    for key, title, res, common in bands:
        band_info = {"nodata": 0, "data_type": "uint16"}
        if common:
            band_info.update({"scale": 0.0001, "offset": -0.1})
        asset = {
            "href": f"{prefix}/{key.upper() if len(key) == 3 else key}.tif",
            "type": COG,
            "title": title,
            "roles": ["data"],
            "proj:shape": [SHAPE[res], SHAPE[res]],
            "proj:transform": [res, 0, x0, 0, -res, y0],
            "raster:bands": [band_info],
        }
        assets[key] = asset
    assets["visual"] = {
        "href": f"{prefix}/TCI.tif",
        "type": COG,
        "title": "True color image",
        "roles": ["visual"],
        "proj:shape": [10980, 10980],
        "proj:transform": [10, 0, x0, 0, -10, y0],
    }
    if rng.random() < 0.5:
        assets["thumbnail"] = {
            "href": f"{prefix}/thumbnail.jpg",
            "type": "image/jpeg",
            "title": "Thumbnail image",
            "roles": ["thumbnail"],
        }

    coords, bbox = polygon(rng)
    dt = f"{year}-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{rng.randint(0, 999999):06d}Z"
    stamp = f"{year}-{month:02d}-{min(day + 1, 28):02d}T0{rng.randint(0, 9)}:12:35.114Z"
    props = {
        "datetime": dt,
        "created": stamp,
        "updated": stamp,
        "platform": f"sentinel-2{sat.lower()}",
        "constellation": "sentinel-2",
        "instruments": ["msi"],
        "eo:cloud_cover": round(rng.uniform(0, 100), 6),
        "proj:epsg": epsg,
        "mgrs:utm_zone": zone,
        "mgrs:latitude_band": band,
        "mgrs:grid_square": square,
        "grid:code": f"MGRS-{tile}",
        "view:sun_azimuth": round(rng.uniform(0, 360), 9),
        "view:sun_elevation": round(rng.uniform(5, 80), 9),
        "s2:processing_baseline": rng.choice(["02.14", "04.00", "05.09", "05.10"]),
        "s2:product_type": "S2MSI1C" if iid.endswith("L1C") else "S2MSI2A",
        "s2:datatake_id": f"GS2{sat}_{date}T{hh:02d}{mm:02d}{ss:02d}_0{rng.randint(10000, 99999)}_N05.09",
        "s2:degraded_msi_data_percentage": round(rng.uniform(0, 0.1), 4),
        "s2:nodata_pixel_percentage": round(rng.uniform(0, 100), 6),
        "s2:vegetation_percentage": round(rng.uniform(0, 100), 6),
        "s2:water_percentage": round(rng.uniform(0, 100), 6),
    }
    links = [
        {"rel": "self", "type": "application/geo+json",
         "href": f"{ROOT}/collections/{coll_path}/items/{iid}"},
        {"rel": "canonical", "type": "application/json", "href": f"{prefix}/{iid}.json"},
        {"rel": "collection", "type": "application/json", "href": f"{ROOT}/collections/{coll_path}"},
    ]
    out = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "stac_extensions": [
            "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
            "https://stac-extensions.github.io/projection/v1.1.0/schema.json",
            "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        ],
        "id": iid,
        "geometry": {"type": "Polygon", "coordinates": coords},
        "bbox": bbox,
        "properties": props,
        "links": links,
        "assets": assets,
    }
    if collection is not None:
        out["collection"] = collection
    return out


def payload(rng: random.Random) -> dict:
    n_items = rng.randint(1, 5)
    main = rng.choices(COLLECTIONS, COLLECTION_WEIGHTS)[0]
    r = rng.random()
    features = []
    for i in range(n_items):
        coll = main
        if r < 0.10:  # mixed-collection payload
            coll = rng.choice(COLLECTIONS)
        drop = (0.10 <= r < 0.105) or (0.105 <= r < 0.11 and i == 0)
        features.append(item(rng, None if drop else coll, coll))
    process = {
        "workflow": "cog-archive",
        "upload_options": {
            "path_template": "/${collection}/${mgrs:utm_zone}/${mgrs:latitude_band}/"
            "${mgrs:grid_square}/${year}/${month}/${id}",
            "public_assets": "ALL",
            "s3_urls": False,
            "headers": {"CacheControl": "public, max-age=31536000, immutable"},
        },
        "tasks": {
            "copy-assets": {"assets": ["red", "green", "blue", "nir", "scl"], "drop_assets": ["wvp"]},
            "publish": {"public": True, "stac_validate": False},
        },
    }
    if 0.11 <= r < 0.12:  # explicit collections override
        process["collections"] = "sentinel-2-archive"
    return {"type": "FeatureCollection", "features": features, "process": [process]}


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    count, seed, path = int(argv[1]), int(argv[2]), argv[3]
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    tmp = f"{path}.tmp"
    with open(tmp, "wb", buffering=1 << 20) as f:
        for _ in range(count):
            f.write(dumps(payload(rng)).encode("utf-8"))
            f.write(b"\n")
    os.replace(tmp, path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
