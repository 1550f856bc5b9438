//! The masking soak: runs generated decisions (`sanxiang_publicity::testgen`) through the one
//! masking pipeline and every public output, and counts leaks, over-masking and what the last
//! check (`residual`) would still hold.
//!
//! `cargo run --release -p sanxiang-publicity --features testgen --example masking-soak -- --cases 100000 [--seed N]`
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (cases, first) = match (arg(&args, "--cases", 100_000), arg(&args, "--seed", 0)) {
        (Ok(c), Ok(s)) => (c, s),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    // Load the segmenter before the clock starts: it is loaded once per process.
    sanxiang_domain::masking::names::warm_up();
    let start = Instant::now();
    let (mut leaks, mut over, mut held, mut secrets) = (0u64, 0u64, 0u64, 0u64);
    let mut failed = Vec::new();
    let mut held_shown = 0;
    for seed in first..first + cases {
        let g = generate(seed);
        secrets += g.secrets.len() as u64;
        let f = check(&g);
        leaks += f.leaks.len() as u64;
        over += f.over_masked.len() as u64;
        if !f.is_clean() && failed.len() < 10 {
            failed.push((seed, f));
        }
        // What the last check before automatic publication would hold.
        let (_, content) = public_content(&g);
        let spans = held_spans(&content);
        if !spans.is_empty() {
            held += 1;
            if held_shown < 5 {
                held_shown += 1;
                for s in &spans {
                    println!("seed {seed} would hold {} {}: {}", s.field, s.kind, s.excerpt);
                }
            }
        }
    }
    let took = start.elapsed();
    println!(
        "cases={cases} secrets={secrets} leaks={leaks} over_masked={over} would_hold={held} time={:.1}s ({:.0} µs/case)",
        took.as_secs_f64(),
        took.as_micros() as f64 / cases.max(1) as f64
    );
    for (seed, f) in &failed {
        println!("seed {seed}: {f:?}");
    }
    if leaks == 0 && over == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
