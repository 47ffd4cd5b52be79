//! `fusekit check` in a terminal shows every case once: the progress line on stderr is
//! rewritten in place and cleared, the table on stdout is what stays. Run under script(1)
//! for a pseudo-terminal; the screen is reconstructed from the bytes (`\r` and `ESC[2K`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_fusekit");

/// What stays on each screen line once carriage returns and line clears have been applied.
fn screen_lines(raw: &str) -> Vec<String> {
    raw.split('\n')
        .map(|line| {
            let line = line.trim_end_matches('\r');
            let visible = line.rsplit("\x1b[2K").next().unwrap_or(line);
            visible.rsplit('\r').next().unwrap_or(visible).to_string()
        })
        .collect()
}

#[test]
fn check_in_a_terminal_shows_each_case_once() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: script(1) (util-linux) is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cmdline = format!("{BIN} check {} --only open", dir.path().display());
    let mut child = Command::new("script")
        .args(["-qec", &cmdline, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fusekit check under script(1) did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(raw.contains("\x1b[2K"), "no in-place progress: {raw:?}");
    let lines = screen_lines(&raw);
    let listed = Command::new(BIN)
        .args(["check", "--list"])
        .output()
        .unwrap();
    let open_cases: Vec<String> = String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .filter(|n| n.starts_with("open_"))
        .collect();
    assert!(open_cases.len() > 3, "{open_cases:?}");
    for name in &open_cases {
        let shown = lines
            .iter()
            .filter(|l| l.split_whitespace().any(|w| w == name))
            .count();
        assert_eq!(
            shown,
            1,
            "{name} shown {shown} times:\n{}",
            lines.join("\n")
        );
    }
    // Not a terminal: the per-case lines on stderr stay as they were (for logs).
    let out = Command::new(BIN)
        .args(["check"])
        .arg(dir.path())
        .args(["--only", "open"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().any(|l| l.starts_with("[1/")), "{err}");
    assert!(!err.contains("\x1b["), "{err:?}");
}
