//! The masking soak: runs generated decisions (`sanxiang_publicity::testgen`) through the one
//! masking pipeline and every public output, and counts leaks, over-masking and what the last
//! check (`residual`) would still hold.
//!
//! `cargo run --release -p sanxiang-publicity --features testgen --example masking-soak -- --cases 100000 [--seed N] [--jobs N]`
//!
//! Exits with status 1 if any generated datum leaked or any kept text changed, printing the
//! first seeds that failed (each reproduces alone: `--seed N --cases 1`).

use std::process::ExitCode;
use std::time::Instant;

use sanxiang_publicity::content::held_spans;
use sanxiang_publicity::testgen::{check, generate, public_content};

fn arg(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args.get(i + 1).and_then(|v| v.parse().ok()).ok_or_else(|| format!("{name} needs a number")),
    }
}

/// Counts of one range of seeds.
#[derive(Default)]
struct Tally {
    leaks: u64,
    over: u64,
    held: u64,
    secrets: u64,
    failed: Vec<(u64, String)>,
    held_shown: Vec<String>,
}

fn run(seeds: std::ops::Range<u64>, start: Instant) -> Tally {
    let mut t = Tally::default();
    let first = seeds.start;
    for seed in seeds {
        // Progress of this job, so a long run shows where it stands.
        if seed > first && (seed - first).is_multiple_of(2500) {
            println!(
                "progress: seeds {first}..{seed} done, leaks={} over_masked={} would_hold={} at {:.0}s",
                t.leaks,
                t.over,
                t.held,
                start.elapsed().as_secs_f64()
            );
        }
        let g = generate(seed);
        t.secrets += g.secrets.len() as u64;
        let f = check(&g);
        t.leaks += f.leaks.len() as u64;
        t.over += f.over_masked.len() as u64;
        if !f.is_clean() && t.failed.len() < 10 {
            t.failed.push((seed, format!("{f:?}")));
        }
        // What the last check before automatic publication would hold.
        let (_, content) = public_content(&g);
        let spans = held_spans(&content);
        if !spans.is_empty() {
            t.held += 1;
            if t.held_shown.len() < 5 {
                t.held_shown.extend(
                    spans.iter().map(|s| format!("seed {seed} would hold {} {}: {}", s.field, s.kind, s.excerpt)),
                );
            }
        }
    }
    t
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (cases, first, jobs) = match (arg(&args, "--cases", 100_000), arg(&args, "--seed", 0), arg(&args, "--jobs", 1))
    {
        (Ok(c), Ok(s), Ok(j)) => (c, s, j.max(1)),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Load the segmenter before the clock starts: it is loaded once per process.
    sanxiang_domain::masking::names::warm_up();
    let start = Instant::now();
    let chunk = cases.div_ceil(jobs);
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|j| {
                let from = first + j * chunk;
                let to = (from + chunk).min(first + cases);
                scope.spawn(move || run(from..to, start))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let took = start.elapsed();
    let sum = |f: fn(&Tally) -> u64| tallies.iter().map(f).sum::<u64>();
    let (leaks, over) = (sum(|t| t.leaks), sum(|t| t.over));
    println!(
        "cases={cases} jobs={jobs} secrets={} leaks={leaks} over_masked={over} would_hold={} time={:.1}s",
        sum(|t| t.secrets),
        sum(|t| t.held),
        took.as_secs_f64(),
    );
    for t in &tallies {
        for line in &t.held_shown {
            println!("{line}");
        }
        for (seed, f) in &t.failed {
            println!("seed {seed}: {f}");
        }
    }
    if leaks == 0 && over == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
