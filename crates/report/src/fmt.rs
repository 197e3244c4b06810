//! Number formatting shared by the tables, `summary.csv` and the charts.
//!
//! Two rules hold everywhere: a value that rounds to zero is printed without a sign (never `-0`),
//! and a parameter that came from an f32 is printed in its shortest round-trip f32 form (`0.08`,
//! not the f64 widening `0.07999999821186066`).

/// Drops the sign of a formatted number that reads as zero (`-0`, `-0.0000`, `-0.000e0` → unsigned).
pub fn unsigned_zero(s: String) -> String {
    match s.strip_prefix('-') {
        Some(rest) if rest.parse::<f64>().is_ok_and(|v| v == 0.0) => rest.to_string(),
        _ => s,
    }
}

/// A table number: 4 decimals, scientific for magnitudes ≥ 1e5 or < 1e-3, "–" for NaN, never `-0`.
pub fn num(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        unsigned_zero(format!("{v:.3e}"))
    } else {
        unsigned_zero(format!("{v:.4}"))
    }
}

/// A CSV number: the shortest f64 text that reads back to `v` (Rust's `Display`), empty for NaN,
/// never `-0`.
pub fn csv_num(v: f64) -> String {
    if v.is_nan() {
        String::new()
    } else {
        unsigned_zero(format!("{v}"))
    }
}

/// The shortest text of a parameter: if `v` is exactly an f32 (every study parameter is, the
/// runner stores them as f32 and writes them widened to f64), the shortest text that reads back
/// to that f32, else the shortest f64 text. Never `-0`.
/// Magnitudes below 1e-4 or from 1e15 up are written in exponent form (`1e-8`, not `0.00000001`).
pub fn param(v: f64) -> String {
    let f = v as f32;
    let exp = v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e15);
    let s = match (v.is_finite() && f as f64 == v, exp) {
        (true, true) => format!("{f:e}"),
        (true, false) => format!("{f}"),
        (false, true) => format!("{v:e}"),
        (false, false) => format!("{v}"),
    };
    unsigned_zero(s)
}

/// Rewrites every `key = <float>` line of a TOML text so that the float is in its [`param`] form;
/// comments, strings, tables and every other line are kept as they are.
pub fn shorten_toml_floats(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&shorten_line(line));
    }
    out
}

fn shorten_line(line: &str) -> String {
    let Some(eq) = line.find('=') else { return line.to_string() };
    let (key, rest) = line.split_at(eq);
    let key_ok = !key.trim().is_empty()
        && key.trim().chars().all(|c| c.is_ascii_alphanumeric() || "_-.\"".contains(c));
    let value = rest[1..].trim_start();
    let lead = &rest[1..rest.len() - value.len()];
    let end = value.find(|c: char| c.is_whitespace() || c == '#').unwrap_or(value.len());
    let (token, tail) = value.split_at(end);
    let is_float = token.contains(['.', 'e', 'E'])
        && token.chars().all(|c| c.is_ascii_digit() || "+-.eE_".contains(c));
    match token.replace('_', "").parse::<f64>() {
        Ok(v) if key_ok && is_float => {
            let mut s = param(v);
            if !s.contains(['.', 'e', 'E', 'i', 'N']) {
                // Keep it a TOML float: `1` would read back as an integer.
                s.push_str(".0");
            }
            format!("{key}={lead}{s}{tail}")
        }
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_negative_zero() {
        assert_eq!(num(-0.0), "0.0000");
        assert_eq!(num(-0.00001), "-1.000e-5");
        assert_eq!(num(-0.00000), "0.0000");
        assert_eq!(csv_num(-0.0), "0");
        assert_eq!(unsigned_zero("-0.000e0".into()), "0.000e0");
        assert_eq!(unsigned_zero("-0.5".into()), "-0.5");
        assert_eq!(param(-0.0), "0");
    }

    #[test]
    fn f32_parameters_print_short() {
        assert_eq!(param(0.08f32 as f64), "0.08");
        assert_eq!(param(0.064f32 as f64), "0.064");
        assert_eq!(param(1000.0), "1000");
        assert_eq!(param(1e-8f32 as f64), "1e-8");
        assert_eq!(param(1e-10), "1e-10");
        // Not an f32: the f64 text is kept.
        assert_eq!(param(0.1), "0.1");
        assert_eq!(param(0.123456789012345), "0.123456789012345");
        let toml = "[cases.routing]\nkind = \"sparse\"\np = 1000.0\nd = 0.07999999821186066 # dilation\nname = \"0.07999999821186066\"\n";
        assert_eq!(
            shorten_toml_floats(toml),
            "[cases.routing]\nkind = \"sparse\"\np = 1000.0\nd = 0.08 # dilation\nname = \"0.07999999821186066\"\n"
        );
    }
}
