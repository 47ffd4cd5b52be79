//! Manual runner: `cargo run -p fusekit-check --example check -- DIR [ONLY...]`
//! prints the table (or JSON with FUSEKIT_CHECK_JSON=1) and exits 1 on any failure.

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: check DIR [ONLY-PATTERN...]");
        std::process::exit(2);
    };
    let mut opts = fusekit_check::CheckOptions::new(dir);
    opts.only = args.collect();
    opts.progress = std::env::var_os("FUSEKIT_CHECK_PROGRESS").is_some();
    if let Some(s) = std::env::var("FUSEKIT_CHECK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        opts.seed = s;
    }
    if let Some(s) = std::env::var("FUSEKIT_CHECK_RACE")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        opts.race_seconds = s;
    }
    match fusekit_check::run(&opts) {
        Ok(report) => {
            if std::env::var_os("FUSEKIT_CHECK_JSON").is_some() {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.render_table());
            }
            std::process::exit(if report.success() { 0 } else { 1 });
        }
        Err(e) => {
            eprintln!("fusekit check: {e}");
            std::process::exit(2);
        }
    }
}
