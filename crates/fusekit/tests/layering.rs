//! The layering rules of docs/architecture.md, checked on the source: dependencies point one
//! way. A transport knows no filesystem, session, serve loop or connection state; the decoder
//! knows nothing above the wire format; connection state and replies name no concrete
//! transport; only the session (and the in-process fuzzing harness) names the transports.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn src(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(sub)
}

/// Every `crate::…` path in non-test code of `files` that starts with one of `forbidden`.
fn uses(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        // Unit tests at the end of a file may use anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let line = line.trim_start();
            if line.starts_with("//") {
                continue;
            }
            for bad in forbidden {
                if line.contains(&format!("crate::{bad}")) {
                    found.push(format!("{}:{}: {line}", file.display(), n + 1));
                }
            }
        }
    }
    found
}

#[test]
fn transports_know_nothing_above_them() {
    let files = sources(&src("transport"));
    assert!(files.len() > 5, "transport sources found: {files:?}");
    let bad = uses(
        &files,
        &[
            "session", "serve", "conn", "lowlevel", "reply", "path", "request", "notify", "attr",
            "backing", "op",
        ],
    );
    assert!(
        bad.is_empty(),
        "transport imports upward:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_decoder_knows_nothing_above_the_wire_format() {
    let bad = uses(
        &sources(&src("op")),
        &[
            "session",
            "serve",
            "conn",
            "lowlevel",
            "reply",
            "path",
            "request",
            "notify",
            "transport",
        ],
    );
    assert!(bad.is_empty(), "op imports upward:\n{}", bad.join("\n"));
}

#[test]
fn connection_state_and_replies_name_no_concrete_transport() {
    let mut files = sources(&src("conn"));
    files.extend(sources(&src("reply")));
    files.extend(sources(&src("serve")));
    files.push(src("notify.rs"));
    files.push(src("request.rs"));
    files.push(src("backing.rs"));
    let bad = uses(&files, &["transport::dev", "transport::uring", "session"]);
    assert!(
        bad.is_empty(),
        "names a concrete transport or the session:\n{}",
        bad.join("\n")
    );
}

#[test]
fn only_the_session_starts_transports() {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(src("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // The session starts transports; the fuzzing harness sends notifications to a
        // /dev/null descriptor; the transports themselves are below.
        if ["session", "transport", "fuzzing.rs"].contains(&name.as_str()) {
            continue;
        }
        if path.is_dir() {
            files.extend(sources(&path));
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
    let bad = uses(&files, &["transport::dev", "transport::uring"]);
    assert!(
        bad.is_empty(),
        "names a concrete transport:\n{}",
        bad.join("\n")
    );
}
