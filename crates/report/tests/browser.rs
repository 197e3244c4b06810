//! The HTML report in a real browser: headless Chromium renders it to a PNG, which must not be blank.
//!
//! Needs a browser, so it is `#[ignore]`d: `cargo test -- --include-ignored` runs it (CI does, after
//! installing Debian's `chromium`), with `HANDPROP_CHROMIUM` naming the binary; without that
//! variable it fails, so a CI that forgot the browser cannot pass silently.

mod common;

use std::collections::HashSet;
use std::process::Command;

use handprop_report::{generate, ReportOptions};

/// Decodes an 8-bit RGB(A) PNG into rows of RGB triples.
fn decode(path: &std::path::Path) -> (u32, u32, Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.bit_depth, png::BitDepth::Eight);
    let bpp = match info.color_type {
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        other => panic!("unexpected colour type {other:?}"),
    };
    let px = buf[..info.buffer_size()].chunks(bpp).map(|p| [p[0], p[1], p[2]]).collect();
    (info.width, info.height, px)
}

#[test]
#[ignore = "needs Chromium: set HANDPROP_CHROMIUM to the chromium binary"]
fn report_renders_in_headless_chromium() {
    let chromium = std::env::var_os("HANDPROP_CHROMIUM")
        .expect("HANDPROP_CHROMIUM must name the chromium binary (e.g. /usr/bin/chromium)");
    let dir = tempfile::tempdir().unwrap();
    common::write_results(dir.path());
    let s =
        generate(dir.path(), &ReportOptions { png: false, ..ReportOptions::default() }).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let shot = dir.path().join("screenshot.png");
    let url = format!("file://{}", s.report_html.canonicalize().unwrap().display());
    let output = Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,4000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("start chromium");
    assert!(
        output.status.success() && shot.exists(),
        "chromium failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let (w, h, px) = decode(&shot);
    assert_eq!((w, h), (1280, 4000));
    let non_white = px.iter().filter(|p| **p != [255, 255, 255]).count();
    let colours: HashSet<[u8; 3]> = px.iter().copied().collect();
    let share = non_white as f64 / px.len() as f64;
    println!("chromium screenshot: {share:.3} non-white, {} distinct colours", colours.len());
    assert!(share > 0.02, "only {share:.4} of the page is not white");
    assert!(colours.len() > 32, "only {} colours", colours.len());
    // The first bar chart (trial 1, lowest cost) is on the page: C0's tab:green and C5's tab:pink
    // bar interiors are painted in exactly their colours.
    for (name, rgb) in [("tab:green", [0x2c, 0xa0, 0x2c]), ("tab:pink", [0xe3, 0x77, 0xc2])] {
        let n = px.iter().filter(|p| **p == rgb).count();
        assert!(n > 50, "{name} appears in {n} pixels");
    }
}
