//! The fuzz targets (`fuzz/src/lib.rs`) on stable, as part of `cargo test`:
//! every seed (`fuzz/seeds/<target>/`) and every input that once crashed
//! (`fuzz/regressions/<target>/`), then a bounded number of deterministic
//! mutations of them (bit flips, interesting bytes, cuts, duplications,
//! splices). A short, reproducible stand-in for libFuzzer, which needs
//! nightly: longer campaigns are `cargo +nightly fuzz run <target>` (README
//! "Fuzzing"). `FUZZ_REPLAY_ITERATIONS=N` raises the per-target count.

#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

const DEFAULT_ITERATIONS: usize = 1000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["seeds", "regressions"] {
        let Ok(entries) = std::fs::read_dir(fuzz_dir().join(dir).join(target)) else { continue };
        for e in entries.flatten() {
            out.push((format!("{dir}/{target}/{}", e.file_name().to_string_lossy()), std::fs::read(e.path()).unwrap()));
        }
    }
    out.sort();
    out
}

/// xorshift64*: deterministic, so a failure reproduces with the same seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

const INTERESTING: &[u8] =
    &[0x00, 0xff, 0x7f, 0x80, 0x81, 0x82, 0x30, 0x02, 0x04, 0x05, 0x06, b'-', b':', b'\n', b' ', b'"', b'[', b'{', b'=', b'A'];

fn mutate(rng: &mut Rng, input: &[u8], others: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..=rng.below(4) {
        let len = v.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                v[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                v.drain(at..at + n);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let n = 1 + rng.below((len - at).min(64));
                let chunk = v[at..at + n].to_vec();
                let to = rng.below(len);
                v.splice(to..to, chunk);
            }
            4 => v.truncate(rng.below(len + 1)),
            5 => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
            6 if !others.is_empty() => {
                let other = &others[rng.below(others.len())].1;
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                v.truncate(cut);
                v.extend_from_slice(&other[from..]);
            }
            _ if len > 1 => {
                // A DER length byte or a YAML indent: shift a byte by ±1.
                let i = rng.below(len);
                v[i] = if rng.below(2) == 0 { v[i].wrapping_add(1) } else { v[i].wrapping_sub(1) };
            }
            _ => v.push(INTERESTING[rng.below(INTERESTING.len())]),
        }
    }
    v
}

/// Runs `f` on `data`; on a panic, saves the input and says where.
fn run_one(target: &str, f: fn(&[u8]), data: &[u8], origin: &str) -> Result<(), String> {
    match catch_unwind(AssertUnwindSafe(|| f(data))) {
        Ok(()) => Ok(()),
        Err(_) => {
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-replay-failures");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{target}-{:016x}", fnv(data)));
            std::fs::write(&file, data).unwrap();
            Err(format!("{target} panicked on {origin}; input saved to {}", file.display()))
        }
    }
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3))
}

#[test]
fn every_target_survives_its_corpus_and_mutations() {
    let iterations = std::env::var("FUZZ_REPLAY_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(DEFAULT_ITERATIONS);
    let mut failures = Vec::new();
    for (index, (target, f)) in targets::TARGETS.iter().enumerate() {
        let corpus = inputs(target);
        assert!(!corpus.is_empty(), "no seeds for {target} in {}", fuzz_dir().display());
        for (origin, data) in &corpus {
            failures.extend(run_one(target, *f, data, origin).err());
        }
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (index as u64 + 1));
        for i in 0..iterations {
            let (origin, seed) = &corpus[rng.below(corpus.len())];
            let data = mutate(&mut rng, seed, &corpus);
            failures.extend(run_one(target, *f, &data, &format!("mutation {i} of {origin}")).err());
        }
    }
    assert!(failures.is_empty(), "{} panic(s):\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn the_replay_knows_every_fuzz_target() {
    let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().strip_suffix(".rs").map(String::from))
        .collect();
    let known: std::collections::BTreeSet<String> = targets::TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, known);
}
