//! `handprop`: the runner as a standalone binary for cluster nodes (not built yet).

fn main() {
    eprintln!("handprop: not built yet");
    std::process::exit(2);
}
