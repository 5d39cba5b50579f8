//! The named indices, each an expression in the index language (so one engine runs named
//! and custom products alike).

/// A named index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NamedIndex {
    /// The name used in `indices` and as the output asset key.
    pub name: &'static str,
    /// What it measures, and the reference.
    pub title: &'static str,
    /// The expression.
    pub expression: &'static str,
}

/// Every named index.
pub const NAMED_INDICES: &[NamedIndex] = &[
    NamedIndex {
        name: "ndvi",
        title: "Normalized Difference Vegetation Index (Rouse 1974), 860/670 nm",
        expression: "(R860 - R670) / (R860 + R670)",
    },
    NamedIndex {
        name: "ndwi",
        title: "Normalized Difference Water Index, vegetation water (Gao 1996), 860/1240 nm",
        expression: "(R860 - R1240) / (R860 + R1240)",
    },
    NamedIndex {
        name: "mndwi",
        title: "Modified Normalized Difference Water Index (Xu 2006), 560/1640 nm",
        expression: "(R560 - R1640) / (R560 + R1640)",
    },
    NamedIndex {
        name: "ndre",
        title: "Normalized Difference Red Edge (Gitelson & Merzlyak 1994), 790/720 nm",
        expression: "(R790 - R720) / (R790 + R720)",
    },
    NamedIndex {
        name: "ndmi",
        title: "Normalized Difference Moisture Index (Hardisky 1983), 860/1650 nm",
        expression: "(R860 - R1650) / (R860 + R1650)",
    },
    NamedIndex {
        name: "pri",
        title: "Photochemical Reflectance Index (Gamon 1992), 531/570 nm",
        expression: "(R531 - R570) / (R531 + R570)",
    },
    NamedIndex {
        name: "cai",
        title: "Cellulose Absorption Index (Nagler 2003), 2000/2100/2200 nm",
        expression: "0.5 * (R2000 + R2200) - R2100",
    },
    NamedIndex {
        name: "hydrocarbon",
        title: "Hydrocarbon Index (Kühn et al. 2004), A=1705, B=1729, C=1741 nm",
        expression: "(1729 - 1705) * (R1741 - R1705) / (1741 - 1705) + R1705 - R1729",
    },
];

/// The named index called `name`.
pub fn named(name: &str) -> Option<&'static NamedIndex> {
    NAMED_INDICES.iter().find(|index| index.name == name)
}

/// The names of every named index, for error messages.
pub fn names() -> String {
    NAMED_INDICES
        .iter()
        .map(|index| index.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::expr::Expression;

    #[test]
    fn every_named_index_parses_and_reads_the_documented_wavelengths() {
        let expected: &[(&str, &[f64])] = &[
            ("ndvi", &[860.0, 670.0]),
            ("ndwi", &[860.0, 1240.0]),
            ("mndwi", &[560.0, 1640.0]),
            ("ndre", &[790.0, 720.0]),
            ("ndmi", &[860.0, 1650.0]),
            ("pri", &[531.0, 570.0]),
            ("cai", &[2000.0, 2200.0, 2100.0]),
            ("hydrocarbon", &[1741.0, 1705.0, 1729.0]),
        ];
        assert_eq!(NAMED_INDICES.len(), expected.len());
        for (name, wavelengths) in expected {
            let index = named(name).unwrap();
            let e = Expression::parse(index.expression).unwrap();
            assert_eq!(&e.wavelengths(), wavelengths, "{name}");
        }
        assert!(named("evi").is_none());
        assert!(names().starts_with("ndvi, ndwi"));
    }
}
