//! The fuzz targets' common part: proptest strategies that mutate the committed seed corpus, and the
//! runner configuration. Included as a module by every fuzz target:
//!
//! ```ignore
//! #[path = "../fuzz/mutations.rs"]
//! mod mutations;
//! ```
//!
//! An input is a [`Case`]: a corpus entry (`tests/fuzz/corpus/<target>/`, plus seeds the target makes at
//! run time) and a list of mutation steps applied in order. A step is a [`ByteOp`] (bit flip, byte
//! insert/delete/duplicate, splice with another entry, interesting values, dictionary words, long runs,
//! numbers) or a target's own step (TOML lines, token payloads, protobuf fields) that wraps one. Every
//! choice is a proptest strategy, so a failure shrinks to an earlier entry and a short list of small steps.
//!
//! [`run`] runs the target on every seed as it is, then on `cases` mutated inputs with a
//! [`TestRunner`]: the seed is fixed (per target) unless `PROPTEST_RNG_SEED` is set, `PROPTEST_CASES`
//! overrides the case count, and a failing case is persisted to `tests/fuzz/regressions/<target>.txt`
//! and replayed first by the next run (the stored RNG seed makes the same input as long as the corpus and
//! the strategy are unchanged). A panic or an `Err` of the target fails the test; proptest catches panics.

use std::cell::Cell;
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::{Config, FileFailurePersistence, RngAlgorithm, RngSeed, TestCaseError, TestRunner};

/// The seed of every target when `PROPTEST_RNG_SEED` is not set (mixed with the target's name).
pub const DEFAULT_SEED: u64 = 0x5EED_2026_0109_0900;

/// Single bytes worth trying anywhere.
pub const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc3, 0xe2, 0xf0, b';', b'"', b'\'', b'\n', b'\r', b'\t', b' ', b'.', b',',
    b'=', b'[', b']', b'{', b'}', b'\\', b'#', b'-', b'_', b'0', b'9', b'a', b'Z',
];

/// Tokens inserted or written over: separators, quotes, line breaks, odd Unicode and invalid UTF-8.
pub const BUILTIN_TOKENS: &[&[u8]] = &[
    b";",
    b";;",
    b"\"",
    b"\"\"",
    b"'",
    b"\r\n",
    b"\n",
    b"\r",
    b"\t",
    b"\\",
    b"\\u0000",
    b"\x00",
    "ä".as_bytes(),
    "ß".as_bytes(),
    "€".as_bytes(),
    "\u{FEFF}".as_bytes(),
    "\u{202E}".as_bytes(),
    "\u{2028}".as_bytes(),
    "\u{85}".as_bytes(),
    "𝄞".as_bytes(),
    "👩‍👩‍👧".as_bytes(),
    b"\xff",
    b"\xc3",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"%00",
    b"%s%n",
    b"${HOME}",
    b"../../",
    b"'); DROP TABLE cases;--",
    b"0",
    b"-1",
    b"-0",
    b"1e309",
    b"NaN",
    b"inf",
    b"2147483648",
    b"-2147483649",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775809",
    b"99999999999999999999999999",
    b"0x7f",
    b"00000000-0000-0000-0000-000000000000",
    b"2026-02-29",
    b"2026-13-01",
    b"0000-00-00",
    b"9999-12-31",
    b"31.02.2026",
    b"29.02.2028",
];

/// Number strings written over a run of digits.
const INTERESTING_NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "-0",
    "00",
    "007",
    "1.5",
    "1,5",
    "255",
    "256",
    "65535",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "-9223372036854775808",
    "1e309",
    "99999999999999999999999",
];

/// Lengths of long runs.
const RUN_LENGTHS: &[usize] = &[16, 63, 64, 65, 100, 101, 127, 128, 129, 255, 256, 257, 1000, 1025, 2049, 4097, 10_000];

/// Bytes that print as an escaped byte string (`b"a\xff"`), so a shrunk failure is readable.
#[derive(Clone, PartialEq, Eq)]
pub struct Bytes(pub Vec<u8>);

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

/// `index` of a collection of `len` elements (0 when it is empty).
fn at(index: &Index, len: usize) -> usize {
    if len == 0 { 0 } else { index.index(len) }
}

/// One byte-level mutation.
#[derive(Debug, Clone)]
pub enum ByteOp {
    /// Flip one bit.
    FlipBit { at: Index, bit: u8 },
    /// Set a byte (random or interesting).
    SetByte { at: Index, byte: u8 },
    /// Insert 1-8 random or interesting bytes.
    Insert { at: Index, bytes: Bytes },
    /// Delete a range (mostly short).
    Delete { at: Index, len: usize },
    /// Duplicate a range somewhere else, once or several times.
    Duplicate { from: Index, len: usize, to: Index, times: usize },
    /// Our head, another entry's tail.
    Splice { cut: Index, other: Index, from: Index },
    /// Insert a token (builtin or the target's dictionary).
    InsertToken { at: Index, token: Bytes },
    /// Write a token over the bytes at a position.
    OverwriteToken { at: Index, token: Bytes },
    /// A long run of one byte or of a token.
    Run { at: Index, unit: Bytes, len: usize },
    /// Cut the input short.
    Truncate { at: Index },
    /// Replace the next run of ASCII digits (or insert) an interesting number.
    Number { at: Index, number: &'static str },
    /// Swap two chunks of equal length.
    Swap { a: Index, b: Index, len: usize },
    /// Change the case of an ASCII letter.
    ToggleCase { at: Index },
}

/// A token: a builtin one, or (twice as likely) a word of `dict`.
fn token(dict: &Rc<[Vec<u8>]>) -> BoxedStrategy<Bytes> {
    let builtin = select(BUILTIN_TOKENS).prop_map(|t| Bytes(t.to_vec()));
    if dict.is_empty() {
        return builtin.boxed();
    }
    let words: Vec<Vec<u8>> = dict.to_vec();
    prop_oneof![1 => builtin.boxed(), 2 => select(words).prop_map(Bytes).boxed()].boxed()
}

/// Every [`ByteOp`], with dictionary words from `dict`.
pub fn byte_op(dict: &Rc<[Vec<u8>]>) -> BoxedStrategy<ByteOp> {
    let byte = || prop_oneof![any::<u8>(), select(INTERESTING_BYTES)];
    let idx = any::<Index>;
    prop_oneof![
        (idx(), 0u8..8).prop_map(|(at, bit)| ByteOp::FlipBit { at, bit }).boxed(),
        (idx(), byte()).prop_map(|(at, byte)| ByteOp::SetByte { at, byte }).boxed(),
        (idx(), prop::collection::vec(byte(), 1..=8))
            .prop_map(|(at, b)| ByteOp::Insert { at, bytes: Bytes(b) })
            .boxed(),
        (idx(), prop_oneof![7 => 1usize..=16, 1 => 1usize..=1 << 16])
            .prop_map(|(at, len)| ByteOp::Delete { at, len })
            .boxed(),
        (idx(), 1usize..=64, idx(), prop_oneof![7 => Just(1usize), 1 => 1usize..=16])
            .prop_map(|(from, len, to, times)| ByteOp::Duplicate { from, len, to, times })
            .boxed(),
        (idx(), idx(), idx()).prop_map(|(cut, other, from)| ByteOp::Splice { cut, other, from }).boxed(),
        (idx(), token(dict)).prop_map(|(at, token)| ByteOp::InsertToken { at, token }).boxed(),
        (idx(), token(dict)).prop_map(|(at, token)| ByteOp::OverwriteToken { at, token }).boxed(),
        (idx(), prop_oneof![select(INTERESTING_BYTES).prop_map(|b| Bytes(vec![b])), token(dict)], select(RUN_LENGTHS))
            .prop_map(|(at, unit, len)| ByteOp::Run { at, unit, len })
            .boxed(),
        idx().prop_map(|at| ByteOp::Truncate { at }).boxed(),
        (idx(), select(INTERESTING_NUMBERS)).prop_map(|(at, number)| ByteOp::Number { at, number }).boxed(),
        (idx(), idx(), 1usize..=16).prop_map(|(a, b, len)| ByteOp::Swap { a, b, len }).boxed(),
        idx().prop_map(|at| ByteOp::ToggleCase { at }).boxed(),
    ]
    .boxed()
}

impl ByteOp {
    /// Applies the mutation to `buf`. A splice takes its tail from `corpus` (without the first `skip`
    /// bytes of the entry); the result is cut to `max_len`.
    pub fn apply(&self, buf: &mut Vec<u8>, corpus: &[Vec<u8>], skip: usize, max_len: usize) {
        let len = buf.len();
        match self {
            ByteOp::FlipBit { at: i, bit } if len > 0 => buf[i.index(len)] ^= 1 << bit,
            ByteOp::SetByte { at: i, byte } if len > 0 => buf[i.index(len)] = *byte,
            ByteOp::Insert { at: i, bytes } => {
                let i = at(i, len + 1);
                buf.splice(i..i, bytes.0.iter().copied());
            }
            ByteOp::Delete { at: i, len: n } if len > 0 => {
                let i = i.index(len);
                buf.drain(i..i + (*n).min(len - i));
            }
            ByteOp::Duplicate { from, len: n, to, times } if len > 0 => {
                let i = from.index(len);
                let chunk = buf[i..i + (*n).min(len - i)].to_vec();
                let to = at(to, len + 1);
                for _ in 0..*times {
                    buf.splice(to..to, chunk.iter().copied());
                }
            }
            ByteOp::Splice { cut, other, from } if !corpus.is_empty() => {
                let other = &corpus[other.index(corpus.len())];
                let other = other.get(skip..).unwrap_or_default();
                let from = at(from, other.len() + 1);
                buf.truncate(at(cut, len + 1));
                buf.extend_from_slice(&other[from..]);
            }
            ByteOp::InsertToken { at: i, token } => {
                let i = at(i, len + 1);
                buf.splice(i..i, token.0.iter().copied());
            }
            ByteOp::OverwriteToken { at: i, token } if len > 0 => {
                let i = i.index(len);
                let end = (i + token.0.len()).min(len);
                buf.splice(i..end, token.0.iter().copied());
            }
            ByteOp::Run { at: i, unit, len: n } => {
                let i = at(i, len + 1);
                let mut run = unit.0.repeat((*n).div_ceil(unit.0.len().max(1)));
                run.truncate((*n).max(unit.0.len()));
                buf.splice(i..i, run);
            }
            ByteOp::Truncate { at: i } if len > 0 => buf.truncate(i.index(len)),
            ByteOp::Number { at: i, number } => {
                let start = at(i, len + 1);
                match buf[start..].iter().position(u8::is_ascii_digit) {
                    Some(p) => {
                        let i = start + p;
                        let end = i + buf[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                        buf.splice(i..end, number.bytes());
                    }
                    None => {
                        buf.splice(start..start, number.bytes());
                    }
                }
            }
            ByteOp::Swap { a, b, len: n } if len > 1 => {
                let n = (*n).min(len / 2);
                let (a, b) = (a.index(len - n + 1), b.index(len - n + 1));
                if a + n <= b || b + n <= a {
                    for k in 0..n {
                        buf.swap(a + k, b + k);
                    }
                }
            }
            ByteOp::ToggleCase { at: i } if len > 0 => {
                let i = i.index(len);
                if buf[i].is_ascii_alphabetic() {
                    buf[i] ^= 0x20;
                }
            }
            // The input is too short for this mutation: it stays as it is.
            _ => {}
        }
        buf.truncate(max_len);
    }
}

/// A step of a target's mutation list.
pub trait Step: fmt::Debug + Clone {
    /// Applies the step to `buf`; `corpus` holds every seed input (for splices).
    fn apply(&self, buf: &mut Vec<u8>, corpus: &[Vec<u8>]);
}

/// One generated input: a corpus entry and the steps applied to it, with the resulting bytes.
#[derive(Clone)]
pub struct Case<S> {
    /// The name of the corpus entry.
    pub entry: Rc<str>,
    /// The mutation steps, applied in order.
    pub steps: Vec<S>,
    /// The input the target gets.
    pub bytes: Vec<u8>,
}

impl<S: fmt::Debug> fmt::Debug for Case<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case")
            .field("entry", &self.entry)
            .field("steps", &self.steps)
            .field("len", &self.bytes.len())
            .field("bytes", &Bytes(self.bytes.clone()))
            .finish()
    }
}

/// A seed input: its name and bytes.
pub type Seed = (String, Vec<u8>);

/// Inputs made from `seeds`: an entry, then 1-4 steps (1-12 in one case of eight) of `step`.
pub fn cases<S: Step + 'static>(seeds: &[Seed], step: BoxedStrategy<S>) -> impl Strategy<Value = Case<S>> + use<S> {
    assert!(!seeds.is_empty(), "a fuzz target needs at least one seed input");
    let names: Rc<[Rc<str>]> = seeds.iter().map(|(n, _)| Rc::from(n.as_str())).collect();
    let corpus: Rc<[Vec<u8>]> = seeds.iter().map(|(_, b)| b.clone()).collect();
    let steps = prop_oneof![
        7 => prop::collection::vec(step.clone(), 1..=4).boxed(),
        1 => prop::collection::vec(step, 1..=12).boxed(),
    ];
    (0..seeds.len(), steps).prop_map(move |(entry, steps)| {
        let mut bytes = corpus[entry].clone();
        for s in &steps {
            s.apply(&mut bytes, &corpus);
        }
        Case { entry: names[entry].clone(), steps, bytes }
    })
}

/// The workspace root: the parent of the crate that includes this module (`tests/` or `hubctl/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Where committed seed inputs of `target` live.
pub fn corpus_dir(target: &str) -> PathBuf {
    workspace_root().join("tests/fuzz/corpus").join(target)
}

/// The committed corpus of `target`: every regular file of its folder, in name order (hidden files
/// and `README*` are skipped). An absent folder is an empty corpus.
pub fn load_corpus(target: &str) -> Vec<Seed> {
    let Ok(entries) = std::fs::read_dir(corpus_dir(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            if name.starts_with('.') || name.starts_with("README") {
                return None;
            }
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading corpus file {}: {e}", p.display()));
            Some((name, bytes))
        })
        .collect()
}

/// The runner configuration of `target`: `cases` cases unless `PROPTEST_CASES` says otherwise, a fixed
/// seed unless `PROPTEST_RNG_SEED` gives one, failures persisted to `tests/fuzz/regressions/<target>.txt`.
pub fn config(target: &str, cases: u32) -> Config {
    // Config::default() reads the PROPTEST_* variables.
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        let name =
            target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        config.rng_seed = RngSeed::Fixed(DEFAULT_SEED ^ name);
    }
    // ChaCha, proptest's default, is slow unoptimised: it took more time than some targets themselves.
    if std::env::var_os("PROPTEST_RNG_ALGORITHM").is_none() {
        config.rng_algorithm = RngAlgorithm::XorShift;
    }
    let file = workspace_root().join("tests/fuzz/regressions").join(format!("{target}.txt"));
    let file: &'static str = Box::leak(file.to_string_lossy().into_owned().into_boxed_str());
    config.failure_persistence = Some(Box::new(FileFailurePersistence::Direct(file)));
    config
}

/// Runs `test` on every seed as it is, then as a property test on `config(target, cases)` inputs of
/// `strategy`. `test` returns `Err(violated property)`; that and a panic fail the test, after proptest has
/// shrunk the input. Prints one `fuzz-result` line (read by `scripts/fuzz.sh`).
pub fn run<S: Step>(
    target: &str,
    cases: u32,
    seeds: &[Seed],
    strategy: impl Strategy<Value = Case<S>>,
    test: impl Fn(&[u8]) -> Result<(), String>,
) {
    for (name, bytes) in seeds {
        if let Err(violation) = test(bytes) {
            panic!("fuzz target '{target}': the seed input '{name}' violates a property: {violation}");
        }
    }
    let config = config(target, cases);
    let seed = config.rng_seed;
    let mut runner = TestRunner::new(config);
    // Inputs run: the cases, or up to the failure and then the shrinking steps.
    let runs = Cell::new(0u64);
    let start = Instant::now();
    let result = runner.run(&strategy, |case| {
        runs.set(runs.get() + 1);
        test(&case.bytes).map_err(TestCaseError::fail)
    });
    let secs = start.elapsed().as_secs_f64();
    println!(
        "fuzz-result target={target} cases={} secs={secs:.1} cases_per_sec={:.0} failures={} seed={seed:?}",
        runs.get(),
        runs.get() as f64 / secs.max(1e-9),
        u8::from(result.is_err()),
    );
    if let Err(e) = result {
        panic!(
            "fuzz target '{target}' failed ({e}); the failing case is kept in tests/fuzz/regressions/{target}.txt \
             and replayed first by the next run"
        );
    }
}
