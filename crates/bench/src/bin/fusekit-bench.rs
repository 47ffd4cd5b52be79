//! `fusekit-bench`: the stand-alone runner of the benchmark library, used by bench/compare.sh
//! (`run` measures one directory, `merge` builds the comparison table and chart, `list` names
//! the workloads). `fusekit bench` in the main CLI calls the same library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use fusekit_bench::{
    list_workloads, print_progress, BenchOptions, BenchReport, CacheDrop, Comparison,
};

#[derive(Parser)]
#[command(
    name = "fusekit-bench",
    about = "Measure directories and compare the results"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum CacheDropArg {
    /// drop_caches when writable (root), else posix_fadvise.
    Auto,
    /// Always posix_fadvise(DONTNEED) on the file.
    Fadvise,
}

#[derive(Subcommand)]
enum Command {
    /// Measure one directory.
    Run {
        dir: PathBuf,
        /// Run only this workload (repeatable; default: all).
        #[arg(long = "workload", value_name = "NAME")]
        workloads: Vec<String>,
        /// N for the multi-threaded cells (default: CPUs, at least 2).
        #[arg(long)]
        threads: Option<usize>,
        /// Seconds per timed cell.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Size of the sequential file in MiB.
        #[arg(long, default_value_t = 1024)]
        seq_mib: u64,
        /// Size of the random-read file in MiB.
        #[arg(long, default_value_t = 256)]
        randread_mib: u64,
        /// Seconds one workload may take, setup and cleanup included, before it is stopped
        /// with an error and the run goes on.
        #[arg(long, default_value_t = 300.0)]
        workload_limit: f64,
        /// Tiny sizes and durations (a smoke run).
        #[arg(long)]
        tiny: bool,
        #[arg(long, value_enum, default_value_t = CacheDropArg::Auto)]
        cache_drop: CacheDropArg,
        /// Write the report as JSON here.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Write an SVG chart here.
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
    },
    /// Merge reports into a Markdown table and an SVG chart; the first row is the baseline.
    Merge {
        /// `LABEL=FILE[,FILE...]` (several files of one contender are joined), or `LABEL=-`
        /// for a contender that could not be measured.
        #[arg(required = true, value_name = "LABEL=FILES")]
        rows: Vec<String>,
        /// `LABEL=TEXT`: a note shown under the table for that row.
        #[arg(long = "note", value_name = "LABEL=TEXT")]
        notes: Vec<String>,
        /// Write the Markdown table here (default: stdout).
        #[arg(long, value_name = "FILE")]
        markdown: Option<PathBuf>,
        #[arg(long, value_name = "FILE.svg")]
        plot: Option<PathBuf>,
    },
    /// List the workloads.
    List,
}

fn main() -> ExitCode {
    match real_main(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fusekit-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn split(arg: &str) -> Result<(&str, &str), String> {
    arg.split_once('=')
        .filter(|(l, _)| !l.is_empty())
        .ok_or_else(|| format!("{arg:?}: expected LABEL=VALUE"))
}

fn real_main(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::List => {
            for w in list_workloads() {
                println!("{:<18} {}", w.name, w.description);
            }
        }
        Command::Run {
            dir,
            workloads,
            threads,
            seconds,
            seq_mib,
            randread_mib,
            workload_limit,
            tiny,
            cache_drop,
            json,
            plot,
        } => {
            let mut opts = if tiny {
                BenchOptions::tiny(&dir)
            } else {
                let mut o = BenchOptions::new(&dir);
                o.duration = Duration::try_from_secs_f64(seconds)?;
                o.seq_bytes = seq_mib << 20;
                o.randread_bytes = randread_mib << 20;
                o.workload_limit = Duration::try_from_secs_f64(workload_limit)?;
                o
            };
            opts.workloads = workloads;
            if let Some(n) = threads {
                opts.threads = n;
            }
            opts.cache_drop = match cache_drop {
                CacheDropArg::Auto => CacheDrop::Auto,
                CacheDropArg::Fadvise => CacheDrop::Fadvise,
            };
            let report = fusekit_bench::run(&opts, &mut print_progress)?;
            print!("{}", report.render_table());
            if let Some(path) = json {
                std::fs::write(&path, report.to_json())?;
            }
            if let Some(path) = plot {
                report.write_svg(&path)?;
            }
        }
        Command::Merge {
            rows,
            notes,
            markdown,
            plot,
        } => {
            let mut c = Comparison::default();
            for row in &rows {
                let (label, files) = split(row)?;
                let note: Vec<&str> = notes
                    .iter()
                    .filter_map(|n| split(n).ok())
                    .filter(|(l, _)| *l == label)
                    .map(|(_, t)| t)
                    .collect();
                let report = if files == "-" {
                    None
                } else {
                    let mut joined: Option<BenchReport> = None;
                    for f in files.split(',') {
                        let r = BenchReport::load(f.as_ref())?;
                        match &mut joined {
                            None => joined = Some(r),
                            Some(j) => j.results.extend(r.results),
                        }
                    }
                    joined
                };
                c.add(label, report, &note.join("; "));
            }
            let md = c.render_markdown();
            match markdown {
                Some(path) => std::fs::write(path, md)?,
                None => print!("{md}"),
            }
            if let Some(path) = plot {
                c.write_svg(&path)?;
            }
        }
    }
    Ok(())
}
