//! docs/results.md is the results format's contract for CSV readers: every table's header there
//! must be the header the runner writes (for the study's case table), and every table must parse
//! as plain values (no JSON in a cell, no `-0`).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{opts, read, synthetic_data, tiny_config};
use handprop_runner::{run, Shard};

/// The documented header of each file: a `### \`file\`` heading followed by a backticked line.
fn documented_headers() -> BTreeMap<String, String> {
    let doc = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results.md"));
    let lines: Vec<&str> = doc.lines().collect();
    let mut out = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.strip_prefix("### `").and_then(|l| l.strip_suffix('`')) else {
            continue;
        };
        let header = lines[i + 1].trim().trim_matches('`').to_string();
        let file = if name.starts_with("cells/") { "cell".to_string() } else { name.to_string() };
        out.insert(file, header);
    }
    out
}

#[test]
fn every_table_has_its_documented_header_and_plain_values() {
    let tmp = tempfile::tempdir().unwrap();
    let config = tiny_config(tmp.path());
    let out = tmp.path().join("out");
    run(&config, &synthetic_data(100, 40), &opts(&out, 2, Shard::ALL)).unwrap();
    let documented = documented_headers();
    let tables = handprop_results::TABLES;
    for t in tables {
        let text = read(&out.join(t));
        let header = text.lines().next().unwrap();
        assert_eq!(Some(&header.to_string()), documented.get(t), "{t}: header vs docs/results.md");
        for (n, line) in text.lines().enumerate().skip(1) {
            assert!(
                !line.contains('{') && !line.contains('['),
                "{t}:{}: JSON in a cell: {line}",
                n + 1
            );
            assert!(!line.split(',').any(|f| f == "-0"), "{t}:{}: -0 in {line}", n + 1);
        }
    }
    let cells = out.join("cells").join(config.hash());
    let cell = std::fs::read_dir(&cells).unwrap().next().unwrap().unwrap().path();
    assert_eq!(Some(&read(&cell).lines().next().unwrap().to_string()), documented.get("cell"));
    // A tuning sweep's outcome table, written from its columns (the results crate checks the
    // writer against them).
    use handprop_results::Table;
    let tuning = handprop_results::TuningRow::FILE;
    assert_eq!(documented.get(tuning), Some(&handprop_results::TuningRow::COLUMNS.join(",")));
    assert_eq!(
        documented.len(),
        tables.len() + 2,
        "docs/results.md documents exactly these files: the tables, a cell and tuning.csv"
    );
}
