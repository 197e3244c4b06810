//! Number formatting shared by every table: the shortest form that reads back to the same value.

/// Formats `v` in its shortest round-trip form, with `-0` written as `0` (a sign on zero is noise
/// to a reader and to `pandas`), `NaN` as `NaN` and infinities as `inf`/`-inf`.
pub fn fmt_f64(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}

/// Formats an `f32` (a routing coefficient, say) in its shortest round-trip `f32` form: `0.08`,
/// not the `0.07999999821186066` that widening it to `f64` first would print.
pub fn fmt_f32(v: f32) -> String {
    if v == 0.0 {
        return "0".into();
    }
    format!("{v}")
}

/// `serialize_with` for `f64` columns: [`fmt_f64`] (Rust's shortest round-trip form, the format of
/// every merged table since the first version).
pub(crate) fn ser_f64<S: serde::Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_f64(*v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_forms_without_negative_zero() {
        assert_eq!(fmt_f64(-0.0), "0");
        assert_eq!(fmt_f64(0.25), "0.25");
        assert_eq!(fmt_f64(f64::NAN), "NaN");
        assert_eq!(fmt_f32(0.08), "0.08");
        assert_eq!(fmt_f32(-0.0), "0");
        assert_eq!(fmt_f64(0.08f32 as f64), "0.07999999821186066");
    }
}
