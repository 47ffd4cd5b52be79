//! The library surface without mounting anything: case table invariants, option errors,
//! filtering, the table and its summary line, and the JSON shape.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use fusekit_check::{list_cases, CaseResult, CheckError, CheckOptions, Outcome, Report};

#[test]
fn at_least_150_uniquely_named_described_cases() {
    let cases = list_cases();
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), cases.len(), "duplicate case names");
    for c in &cases {
        assert!(!c.description.is_empty(), "{} has no description", c.name);
        assert!(
            c.name
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
            "{}",
            c.name
        );
    }
    let families: BTreeSet<&str> = cases.iter().map(|c| c.family.as_str()).collect();
    for f in [
        "open", "rename", "unlinked", "tmpfile", "readdir", "mmap", "lock", "xattr", "race",
    ] {
        assert!(families.contains(f), "family {f} missing");
    }
}

#[test]
fn option_errors_are_clear() {
    let missing = CheckOptions::new("/nonexistent/fusekit-check-test");
    match fusekit_check::run(&missing) {
        Err(e @ CheckError::Missing(_)) => assert!(e.to_string().contains("no such directory")),
        other => panic!("expected Missing, got {other:?}"),
    }
    let file = tempfile::NamedTempFile::new().expect("temp file");
    match fusekit_check::run(&CheckOptions::new(file.path())) {
        Err(e @ CheckError::NotADirectory(_)) => assert!(e.to_string().contains("not a directory")),
        other => panic!("expected NotADirectory, got {other:?}"),
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut o = CheckOptions::new(dir.path());
    o.only = vec!["no_such_case_anywhere".into()];
    assert!(matches!(
        fusekit_check::run(&o),
        Err(CheckError::NoCasesSelected { .. })
    ));
}

#[test]
fn only_and_skip_select_by_substring_glob_and_family() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut o = CheckOptions::new(dir.path());
    o.only = vec!["rename".into()];
    o.skip = vec!["*exchange*".into(), "rename_whiteout*".into()];
    let r = fusekit_check::run(&o).expect("run");
    assert!(!r.cases.is_empty());
    assert!(r
        .cases
        .iter()
        .all(|c| c.name.contains("rename") || c.family == "rename"));
    assert!(r
        .cases
        .iter()
        .all(|c| !c.name.contains("exchange") && !c.name.starts_with("rename_whiteout")));
    let in_family = list_cases().iter().filter(|c| c.family == "rename").count();
    assert!(r.cases.iter().filter(|c| c.family == "rename").count() < in_family);

    o.only = vec!["open_*_eexist".into()];
    o.skip.clear();
    let r = fusekit_check::run(&o).expect("run");
    let names: Vec<&str> = r.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "open_excl_existing_eexist",
            "open_excl_dangling_symlink_eexist"
        ]
    );
    assert!(r.success(), "{}", r.render_table());
}

fn sample() -> Report {
    let case = |name: &str, outcome| CaseResult {
        name: name.into(),
        family: "open".into(),
        outcome,
        duration: Duration::from_millis(3),
        peer_waits: vec![],
    };
    Report {
        dir: PathBuf::from("/mnt/x"),
        peer: None,
        fs_type: "tmpfs".into(),
        mount_options: vec!["rw".into()],
        seed: 7,
        cases: vec![
            case("a_passes", Outcome::Pass),
            case(
                "b_fails",
                Outcome::Fail {
                    expected: "EEXIST".into(),
                    observed: "success".into(),
                    detail: "O_CREAT|O_EXCL on existing f".into(),
                },
            ),
            case(
                "c_skips",
                Outcome::Skip {
                    reason: "xattrs answered ENOTSUP".into(),
                },
            ),
            case("d_passes", Outcome::Pass),
        ],
        notes: vec![],
        elapsed: Duration::from_millis(20),
    }
}

#[test]
fn table_has_one_row_per_case_and_the_summary_line_last() {
    let r = sample();
    assert_eq!(
        (r.passed(), r.failed(), r.skipped(), r.success()),
        (2, 1, 1, false)
    );
    let t = r.render_table();
    let lines: Vec<&str> = t.lines().collect();
    assert_eq!(lines.len(), 5);
    assert!(
        lines[0].starts_with("a_passes") && lines[0].ends_with("ok"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("FAIL") && lines[1].contains("expected EEXIST, observed success"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains("skip") && lines[2].contains("xattrs answered ENOTSUP"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[4], "2 passed, 1 failed, 1 skipped");
    assert_eq!(r.summary_line(), "2 passed, 1 failed, 1 skipped");
}

#[test]
fn long_values_are_clipped_in_the_table_but_whole_in_json() {
    let mut r = sample();
    let long = "x".repeat(5000);
    r.cases[1].outcome = Outcome::Fail {
        expected: "short".into(),
        observed: long.clone(),
        detail: "d".into(),
    };
    let row = r.render_table().lines().nth(1).expect("row").to_string();
    assert!(row.len() < 1000, "row of {} bytes", row.len());
    assert!(row.contains("(5000 chars, see --json)"), "{row}");
    let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    assert_eq!(v["cases"][1]["observed"].as_str().map(str::len), Some(5000));
}

#[test]
fn json_carries_the_same_facts() {
    let v: serde_json::Value = serde_json::from_str(&sample().to_json()).expect("valid JSON");
    assert_eq!(v["summary"]["passed"], 2);
    assert_eq!(v["summary"]["failed"], 1);
    assert_eq!(v["summary"]["skipped"], 1);
    assert_eq!(v["summary"]["success"], false);
    assert_eq!(v["seed"], 7);
    assert_eq!(v["fs_type"], "tmpfs");
    let cases = v["cases"].as_array().expect("cases array");
    assert_eq!(cases.len(), 4);
    assert_eq!(cases[0]["outcome"], "pass");
    assert_eq!(cases[1]["outcome"], "fail");
    assert_eq!(cases[1]["expected"], "EEXIST");
    assert_eq!(cases[1]["observed"], "success");
    assert_eq!(cases[2]["outcome"], "skip");
    assert_eq!(cases[2]["reason"], "xattrs answered ENOTSUP");
    assert_eq!(cases[0]["family"], "open");
    assert!(cases[0]["duration_ms"].as_f64().expect("duration") > 2.0);
}
