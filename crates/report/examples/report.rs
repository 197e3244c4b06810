//! Renders the report of one results directory without building the runner or xtask:
//! `cargo run -p handprop-report --example report -- RESULTS_DIR`.

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: report RESULTS_DIR");
        std::process::exit(2);
    };
    match handprop_report::generate(std::path::Path::new(&dir), &Default::default()) {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("warning: {w}");
            }
            println!("{}", s.report_html.display());
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }
}
