//! Case colours: the matplotlib names the study used, resolved to `#rrggbb`.

/// The matplotlib colours the study's cases use and the rest of the `tab:` palette.
const NAMED: &[(&str, &str)] = &[
    ("tab:blue", "#1f77b4"),
    ("tab:orange", "#ff7f0e"),
    ("tab:green", "#2ca02c"),
    ("tab:red", "#d62728"),
    ("tab:purple", "#9467bd"),
    ("tab:brown", "#8c564b"),
    ("tab:pink", "#e377c2"),
    ("tab:gray", "#7f7f7f"),
    ("tab:grey", "#7f7f7f"),
    ("tab:olive", "#bcbd22"),
    ("tab:cyan", "#17becf"),
    ("aqua", "#00ffff"),
    ("azure", "#f0ffff"),
    ("coral", "#ff7f50"),
    ("indigo", "#4b0082"),
    ("lime", "#00ff00"),
    ("tan", "#d2b48c"),
    ("ivory", "#fffff0"),
    ("lightblue", "#add8e6"),
    ("lavender", "#e6e6fa"),
    ("teal", "#008080"),
    ("black", "#000000"),
    ("navy", "#000080"),
    ("gold", "#ffd700"),
    ("magenta", "#ff00ff"),
];

/// Resolves a matplotlib colour name or `#rrggbb` to lower-case `#rrggbb`.
pub fn to_hex(colour: &str) -> Result<String, String> {
    let c = colour.trim().to_ascii_lowercase();
    if let Some(hex) = c.strip_prefix('#') {
        if hex.len() == 6 && hex.chars().all(|ch| ch.is_ascii_hexdigit()) {
            return Ok(c);
        }
        return Err(format!("{colour:?} is not a #rrggbb colour"));
    }
    NAMED.iter().find(|(name, _)| *name == c).map(|(_, hex)| (*hex).to_string()).ok_or_else(|| {
        format!(
            "unknown colour {colour:?}; use #rrggbb or one of: {}",
            NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hex_resolve() {
        assert_eq!(to_hex("tab:green").unwrap(), "#2ca02c");
        assert_eq!(to_hex("Teal").unwrap(), "#008080");
        assert_eq!(to_hex("#A0b0C0").unwrap(), "#a0b0c0");
        assert!(to_hex("#12345").is_err());
        assert!(to_hex("chartreuse-ish").unwrap_err().contains("unknown colour"));
    }
}
