//! `cargo xtask <task>`: the project's tasks in one binary, one module per task.

fn main() {
    eprintln!("no tasks yet");
}
