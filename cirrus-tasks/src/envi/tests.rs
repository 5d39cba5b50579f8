//! Unit tests of the ENVI header parser, writer and reader.

use super::*;
use crate::error::Error;

const AVIRIS_LIKE: &str = "ENVI
description = {
  AVIRIS orthocorrected radiance, a
  multi-line description}
samples = 3
lines = 2
bands = 4
header offset = 0
file type = ENVI Standard
data type = 2
interleave = BIP
byte order = 0
; a comment
map info = { UTM , 1.000 , 1.000 , 724522.127 , 3841901.464 , 1.5e+01 , 1.5e+01 , 11 , North , WGS-84 , units=Meters , rotation=-27.00000000 }
Wavelength Units = Micrometers
wavelength = { 0.3659, 0.6675,
 0.6555, 2.4970 }
fwhm = {0.0092, 0.0095, 0.0096, 0.0120}
bbl = {0, 1, 1, 0}
data gain values = {300, 300, 600, 1200}
sensor type = AVIRIS
";

fn parse(text: &str) -> crate::Result<Header> {
    Header::parse(text, Path::new("scene.hdr"))
}

fn message(text: &str) -> String {
    match parse(text) {
        Err(err @ Error::Envi { .. }) => err.to_string(),
        other => panic!("expected an ENVI error, got {other:?}"),
    }
}

#[test]
fn a_real_header_parses_with_case_insensitive_keys_lists_and_map_info() {
    let h = parse(AVIRIS_LIKE).unwrap();
    assert_eq!((h.samples, h.lines, h.bands), (3, 2, 4));
    assert_eq!(h.data_type, DataType::I16);
    assert_eq!(h.interleave, Interleave::Bip);
    assert_eq!(
        h.wavelengths_nm().unwrap(),
        vec![365.9, 667.5, 655.5, 2497.0]
    );
    assert_eq!(h.fwhm_nm().unwrap()[3], 12.0);
    assert_eq!(h.bbl.as_deref(), Some(&[0.0, 1.0, 1.0, 0.0][..]));
    assert_eq!(h.data_gain_values.as_ref().unwrap()[3], 1200.0);
    let map = h.map_info.as_ref().unwrap();
    assert_eq!(map.projection, "UTM");
    assert_eq!((map.zone, map.north), (Some(11), Some(true)));
    assert_eq!(map.datum.as_deref(), Some("WGS-84"));
    assert_eq!(map.units.as_deref(), Some("Meters"));
    assert_eq!(map.rotation_deg, -27.0);
    assert_eq!(map.pixel_x, 15.0);
    assert!(h.description.as_ref().unwrap().contains("multi-line"));
    assert_eq!(
        h.extra,
        vec![
            ("file type".to_string(), "ENVI Standard".to_string()),
            ("sensor type".to_string(), "AVIRIS".to_string())
        ]
    );
}

#[test]
fn to_text_round_trips() {
    let h = parse(AVIRIS_LIKE).unwrap();
    let again = parse(&h.to_text()).unwrap();
    assert_eq!(h, again);
}

#[test]
fn units_decide_the_wavelength_scale() {
    let nm = AVIRIS_LIKE
        .replace(
            "Wavelength Units = Micrometers\n",
            "wavelength units = Nanometers\n",
        )
        .replace("0.3659, 0.6675", "365.9, 667.5")
        .replace("0.6555, 2.4970", "655.5, 2497");
    assert_eq!(parse(&nm).unwrap().wavelengths_nm().unwrap()[0], 365.9);
    let unknown = AVIRIS_LIKE.replace("Wavelength Units = Micrometers\n", "");
    assert_eq!(
        parse(&unknown).unwrap().wavelengths_nm().unwrap()[3],
        2497.0
    );
}

#[test]
fn each_malformed_field_is_named() {
    assert!(message("NOT ENVI\nsamples = 1\n").contains("not an ENVI header"));
    assert!(message(&AVIRIS_LIKE.replace("samples = 3", "samples = 0")).contains("samples"));
    assert!(message(&AVIRIS_LIKE.replace("lines = 2\n", "")).contains("lines: missing"));
    assert!(message(&AVIRIS_LIKE.replace("bands = 4", "bands = four")).contains("bands"));
    assert!(message(&AVIRIS_LIKE.replace("data type = 2", "data type = 6")).contains("data type"));
    assert!(message(&AVIRIS_LIKE.replace("BIP", "bix")).contains("interleave"));
    assert!(
        message(&AVIRIS_LIKE.replace("byte order = 0", "byte order = 2")).contains("byte order")
    );
    let fewer = message(&AVIRIS_LIKE.replace(" 0.6555, 2.4970 }", " 0.6555 }"));
    assert!(
        fewer.contains("wavelength: 3 values, but the header has 4 bands"),
        "{fewer}"
    );
    assert!(message(&AVIRIS_LIKE.replace("0.0120}", "x}")).contains("fwhm: entry 4"));
    assert!(message(&AVIRIS_LIKE.replace("{0, 1, 1, 0}", "{0, 1}")).contains("bbl: 2 values"));
    let gains = message(&AVIRIS_LIKE.replace("600, 1200}", "600}"));
    assert!(gains.contains("data gain values: 3 values"), "{gains}");
    assert!(
        message(&AVIRIS_LIKE.replace("rotation=-27.00000000", "rotation=abc")).contains("map info")
    );
    assert!(message(&AVIRIS_LIKE.replace(", 11 ,", ", 99 ,")).contains("UTM zone"));
    assert!(message(&format!("{AVIRIS_LIKE}band names = {{a, b,\nc\n")).contains("never closed"));
    assert!(
        message(&AVIRIS_LIKE.replace("; a comment", "garbage"))
            .contains("line 13: \"garbage\" is not `key = value`")
    );
    assert!(
        message(&format!("{AVIRIS_LIKE}data ignore value = none\n")).contains("data ignore value")
    );
}

#[test]
fn the_image_size_is_checked_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let h = parse(AVIRIS_LIKE).unwrap();
    let image = dir.path().join("scene.img");
    assert_eq!(h.image_len(), 3 * 2 * 4 * 2);
    std::fs::write(&image, vec![0u8; 47]).unwrap();
    let err = h.check_image(&image).unwrap_err().to_string();
    assert!(err.contains("scene.img: truncated: 47 bytes"), "{err}");
    assert!(
        err.contains("(3 samples × 2 lines × 4 bands × 2 bytes) needs 48"),
        "{err}"
    );
    std::fs::write(&image, vec![0u8; 49]).unwrap();
    assert!(
        h.check_image(&image)
            .unwrap_err()
            .to_string()
            .contains("oversized")
    );
    std::fs::write(&image, vec![0u8; 48]).unwrap();
    h.check_image(&image).unwrap();
}

#[test]
fn the_header_is_found_next_to_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("f1_img");
    assert_eq!(header_path_for(&image), None);
    std::fs::write(dir.path().join("f1_img.hdr"), "").unwrap();
    assert_eq!(header_path_for(&image), Some(dir.path().join("f1_img.hdr")));
    let img = dir.path().join("x.img");
    std::fs::write(dir.path().join("x.img.hdr"), "").unwrap();
    assert_eq!(header_path_for(&img), Some(dir.path().join("x.img.hdr")));
    std::fs::write(dir.path().join("x.hdr"), "").unwrap();
    assert_eq!(header_path_for(&img), Some(dir.path().join("x.hdr")));
}

#[test]
fn every_interleave_reads_the_same_pixels() {
    let dir = tempfile::tempdir().unwrap();
    let (samples, lines, bands) = (3usize, 2usize, 4usize);
    // value(line, sample, band) = 100·line + 10·sample + band
    let value = |l: usize, s: usize, b: usize| (100 * l + 10 * s + b) as i16;
    for interleave in [Interleave::Bsq, Interleave::Bil, Interleave::Bip] {
        let mut bytes = Vec::new();
        let order: Vec<(usize, usize, usize)> = match interleave {
            Interleave::Bsq => (0..bands)
                .flat_map(|b| (0..lines).flat_map(move |l| (0..samples).map(move |s| (l, s, b))))
                .collect(),
            Interleave::Bil => (0..lines)
                .flat_map(|l| (0..bands).flat_map(move |b| (0..samples).map(move |s| (l, s, b))))
                .collect(),
            Interleave::Bip => (0..lines)
                .flat_map(|l| (0..samples).flat_map(move |s| (0..bands).map(move |b| (l, s, b))))
                .collect(),
        };
        for (l, s, b) in order {
            bytes.extend_from_slice(&value(l, s, b).to_le_bytes());
        }
        let image = dir.path().join(format!("{interleave}.img"));
        std::fs::write(&image, bytes).unwrap();
        let mut header = parse(AVIRIS_LIKE).unwrap();
        header.interleave = interleave;
        header.write(&image.with_extension("hdr")).unwrap();
        let reader = EnviImage::open(&image).unwrap();
        assert_eq!(
            reader.pixel(1, 2).unwrap(),
            vec![120.0, 121.0, 122.0, 123.0]
        );
        let line = reader.line(1).unwrap();
        assert_eq!(line[3 * samples + 1], 113.0, "{interleave}");
        assert!(
            reader
                .pixel(2, 0)
                .unwrap_err()
                .to_string()
                .contains("outside")
        );
    }
}

#[test]
fn the_geotransform_is_the_one_gdal_reads() {
    // gdalinfo (GDAL 3.6.2) on a header with this map info reported exactly this transform.
    let header = AVIRIS_LIKE.replace(
        "{ UTM , 1.000 , 1.000 , 724522.127 , 3841901.464 , 1.5e+01 , 1.5e+01 ,",
        "{UTM, 1.5, 2.5, 441000, 3906000, 14.4, 14.4,",
    );
    let map = parse(&header).unwrap().map_info.unwrap();
    let gdal = [
        440992.8,
        12.830493948312498,
        -6.537463196249473,
        3906021.6,
        -6.537463196249473,
        -12.830493948312498,
    ];
    for (mine, theirs) in map.geotransform().iter().zip(gdal) {
        assert!((mine - theirs).abs() < 1e-6, "{mine} vs {theirs}");
    }
}
