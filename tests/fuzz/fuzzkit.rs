//! fuzzkit: a small, dependency-free, deterministic mutation fuzzer for the hub's parsers and
//! validators. It is included as a module by every fuzz target, so it needs no crate of
//! its own:
//!
//! ```ignore
//! #[path = "../fuzz/fuzzkit.rs"]
//! mod fuzzkit;
//! ```
//!
//! How it works: the corpus (committed seed files under `tests/fuzz/corpus/<target>/` plus seeds the
//! target adds at run time) is mutated by a seeded RNG (bit flips, byte insert/delete/duplicate,
//! splices between corpus entries, "interesting" values such as 0, 0xff, long runs, multibyte
//! UTF-8, `;`, quotes and line breaks, dictionary words, and optionally a target-specific mutator)
//! and each input is run through the target inside `catch_unwind`. A target returns `Ok(outcome)`,
//! a short description of what happened (e.g. `"CreateReferral InvalidArgument case_id"`), or
//! `Err(reason)` when a property is violated. An input that produces an outcome not seen before is
//! kept in the in-memory corpus: a cheap behavioural feedback, not coverage feedback.
//!
//! Environment:
//! - `HUB_FUZZ_ITERATIONS`: mutated inputs per target (default: the target's own, small, so the
//!   normal test suite stays fast).
//! - `HUB_FUZZ_SEED`: the RNG seed (decimal or `0x` hex; default fixed, so runs are reproducible).
//! - `HUB_FUZZ_REPRO`: a file written by an earlier failing run; only the target it belongs to runs,
//!   on exactly that input.
//!
//! A failing input is printed as hex and written to `target/fuzz-failures/<target>/`.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The seed used when `HUB_FUZZ_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x5EED_2026_0109_0900;

/// Failing inputs kept (printed and written) per target.
const MAX_REPORTED: usize = 10;

// ---------------------------------------------------------------------------------------------
// RNG
// ---------------------------------------------------------------------------------------------

/// xorshift64* seeded through splitmix64: fast, deterministic, good enough for choosing mutations.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Self(if z == 0 { 0x2545_F491_4F6C_DD1D } else { z })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// True with probability `num/den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A random byte.
    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
}

/// FNV-1a, for per-target seeds and file names of failing inputs.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Budget and paths
// ---------------------------------------------------------------------------------------------

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim().replace('_', "");
    let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}: '{v}' is not a number")))
}

/// The workspace root: the parent of the crate that includes this module (`tests/` or `hubctl/`).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Where committed seed inputs of `target` live.
pub fn corpus_dir(target: &str) -> PathBuf {
    workspace_root().join("tests").join("fuzz").join("corpus").join(target)
}

/// Where failing inputs of `target` are written.
pub fn failure_dir(target: &str) -> PathBuf {
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { workspace_root().join(p) })
        .unwrap_or_else(|| workspace_root().join("target"));
    target_dir.join("fuzz-failures").join(target)
}

/// The committed corpus of `target`: every regular file of its folder, in name order (hidden files
/// and `README*` are skipped). An absent folder is an empty corpus.
pub fn load_corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = corpus_dir(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !name.starts_with('.') && !name.starts_with("README")
        })
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading corpus file {}: {e}", p.display()));
            (p.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned(), bytes)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Panic capture
// ---------------------------------------------------------------------------------------------

thread_local! {
    static IN_TARGET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs (once) a panic hook that, while a fuzz input runs on this thread, records the message
/// and location instead of printing them; everywhere else it behaves as before.
fn install_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if IN_TARGET.with(Cell::get) {
                let payload = info.payload();
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "(non-string panic payload)".to_owned());
                let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{msg}{at}")));
            } else {
                previous(info);
            }
        }));
    });
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

/// Single bytes worth trying anywhere.
const INTERESTING_BYTES: &[u8] = &[
    0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0xc3, 0xe2, 0xf0, b';', b'"', b'\'', b'\n', b'\r', b'\t', b' ', b'.', b',',
    b'=', b'[', b']', b'{', b'}', b'\\', b'#', b'-', b'_', b'0', b'9', b'a', b'Z',
];

/// Tokens inserted or written over: separators, quotes, line breaks, odd Unicode and invalid UTF-8.
const BUILTIN_TOKENS: &[&[u8]] = &[
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

/// Applies one random byte-level mutation to `buf`.
pub fn mutate_bytes(rng: &mut Rng, buf: &mut Vec<u8>, corpus: &[Vec<u8>], dict: &[Vec<u8>], max_len: usize) {
    let len = buf.len();
    match rng.below(14) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            buf[i] ^= 1 << rng.below(8);
        }
        // Set a random byte.
        1 if len > 0 => {
            let i = rng.below(len);
            buf[i] = rng.byte();
        }
        // Set an interesting byte.
        2 if len > 0 => {
            let i = rng.below(len);
            buf[i] = *rng.pick(INTERESTING_BYTES);
        }
        // Insert 1-8 random or interesting bytes.
        3 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> =
                (0..n).map(|_| if rng.chance(1, 2) { rng.byte() } else { *rng.pick(INTERESTING_BYTES) }).collect();
            buf.splice(i..i, bytes);
        }
        // Delete a range (mostly short).
        4 if len > 0 => {
            let i = rng.below(len);
            let max = if rng.chance(1, 8) { len - i } else { (len - i).min(16) };
            let n = 1 + rng.below(max);
            buf.drain(i..i + n);
        }
        // Duplicate a range somewhere else.
        5 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            let chunk = buf[i..i + n].to_vec();
            let at = rng.below(len + 1);
            let times = if rng.chance(1, 8) { 1 + rng.below(16) } else { 1 };
            for _ in 0..times {
                buf.splice(at..at, chunk.iter().copied());
            }
        }
        // Splice: our head, another entry's tail.
        6 if !corpus.is_empty() => {
            let other = rng.pick(corpus);
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            buf.truncate(cut);
            buf.extend_from_slice(&other[from..]);
        }
        // Insert a token (builtin or the target's dictionary).
        7 => {
            let token = token(rng, dict);
            let i = rng.below(len + 1);
            buf.splice(i..i, token.iter().copied());
        }
        // Overwrite with a token.
        8 if len > 0 => {
            let token = token(rng, dict);
            let i = rng.below(len);
            let end = (i + token.len()).min(len);
            buf.splice(i..end, token.iter().copied());
        }
        // A long run of one byte (or of a short token).
        9 => {
            let n = *rng.pick(RUN_LENGTHS);
            let i = rng.below(len + 1);
            let unit: Vec<u8> = if rng.chance(1, 2) { vec![*rng.pick(INTERESTING_BYTES)] } else { token(rng, dict) };
            let run: Vec<u8> = unit.iter().copied().cycle().take(n.max(unit.len())).collect();
            buf.splice(i..i, run);
        }
        // Truncate.
        10 if len > 0 => {
            buf.truncate(rng.below(len));
        }
        // Replace a run of ASCII digits with an interesting number.
        11 if len > 0 => {
            let start = rng.below(len);
            if let Some(p) = buf[start..].iter().position(u8::is_ascii_digit) {
                let i = start + p;
                let end = i + buf[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                let number = rng.pick(INTERESTING_NUMBERS).as_bytes().to_vec();
                buf.splice(i..end, number);
            } else {
                let i = rng.below(len + 1);
                buf.splice(i..i, rng.pick(INTERESTING_NUMBERS).bytes());
            }
        }
        // Swap two chunks of equal length.
        12 if len > 1 => {
            let n = 1 + rng.below((len / 2).min(16));
            let a = rng.below(len - n + 1);
            let b = rng.below(len - n + 1);
            if a + n <= b || b + n <= a {
                for k in 0..n {
                    buf.swap(a + k, b + k);
                }
            }
        }
        // Change the case of an ASCII letter.
        13 if len > 0 => {
            let i = rng.below(len);
            if buf[i].is_ascii_alphabetic() {
                buf[i] ^= 0x20;
            }
        }
        // Nothing fitted (empty input): start from a token.
        _ => buf.extend_from_slice(&token(rng, dict)),
    }
    if buf.len() > max_len {
        buf.truncate(max_len);
    }
}

fn token(rng: &mut Rng, dict: &[Vec<u8>]) -> Vec<u8> {
    if !dict.is_empty() && rng.chance(2, 3) { rng.pick(dict).clone() } else { rng.pick(BUILTIN_TOKENS).to_vec() }
}

// ---------------------------------------------------------------------------------------------
// Protobuf wire-format mutations
// ---------------------------------------------------------------------------------------------

/// A field of a protobuf message as it is on the wire.
#[derive(Debug, Clone)]
enum Wire {
    Varint(u64),
    Fixed64([u8; 8]),
    Len(Vec<u8>),
    Fixed32([u8; 4]),
}

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v: u64 = 0;
    for shift in (0..70).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift < 64 {
            v |= u64::from(b & 0x7f) << shift;
        }
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn parse_fields(buf: &[u8]) -> Option<Vec<(u64, Wire)>> {
    let mut pos = 0;
    let mut fields = Vec::new();
    while pos < buf.len() {
        let key = read_varint(buf, &mut pos)?;
        let number = key >> 3;
        if number == 0 {
            return None;
        }
        let wire = match key & 7 {
            0 => Wire::Varint(read_varint(buf, &mut pos)?),
            1 => {
                let b: [u8; 8] = buf.get(pos..pos.checked_add(8)?)?.try_into().ok()?;
                pos += 8;
                Wire::Fixed64(b)
            }
            2 => {
                let n = usize::try_from(read_varint(buf, &mut pos)?).ok()?;
                let data = buf.get(pos..pos.checked_add(n)?)?.to_vec();
                pos += n;
                Wire::Len(data)
            }
            5 => {
                let b: [u8; 4] = buf.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
                pos += 4;
                Wire::Fixed32(b)
            }
            _ => return None,
        };
        fields.push((number, wire));
    }
    Some(fields)
}

fn encode_fields(fields: &[(u64, Wire)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (number, wire) in fields {
        let kind = match wire {
            Wire::Varint(_) => 0,
            Wire::Fixed64(_) => 1,
            Wire::Len(_) => 2,
            Wire::Fixed32(_) => 5,
        };
        write_varint(&mut out, number << 3 | kind);
        match wire {
            Wire::Varint(v) => write_varint(&mut out, *v),
            Wire::Fixed64(b) => out.extend_from_slice(b),
            Wire::Len(d) => {
                write_varint(&mut out, d.len() as u64);
                out.extend_from_slice(d);
            }
            Wire::Fixed32(b) => out.extend_from_slice(b),
        }
    }
    out
}

/// Varints worth trying in integer, enum and bool fields.
const INTERESTING_VARINTS: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    12,
    13,
    14,
    15,
    16,
    17,
    20,
    99,
    100,
    127,
    128,
    255,
    1000,
    1001,
    65_535,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    i64::MAX as u64,
    i64::MIN as u64,
    u64::MAX,
    u64::MAX - 1,
];

/// Strings worth trying in string fields (besides the target's dictionary).
fn interesting_string(rng: &mut Rng) -> Vec<u8> {
    let n =
        *rng.pick(&[0usize, 1, 2, 3, 4, 5, 8, 63, 64, 65, 100, 101, 128, 129, 200, 201, 256, 1000, 1001, 4097, 70_000]);
    match rng.below(8) {
        0 => Vec::new(),
        1 => "a".repeat(n).into_bytes(),
        2 => "ä".repeat(n).into_bytes(),
        3 => " ".repeat(n).into_bytes(),
        4 => "\n".repeat(n.min(300)).into_bytes(),
        5 => "𝄞".repeat(n.min(2000)).into_bytes(),
        6 => format!("\u{0}{}", "x".repeat(n.min(100))).into_bytes(),
        // Text tokens (the invalid UTF-8 ones would only test prost's string check).
        _ => {
            let token = rng.pick(BUILTIN_TOKENS);
            if std::str::from_utf8(token).is_ok() { token.to_vec() } else { b"\\xff".to_vec() }
        }
    }
}

/// One mutation that understands the protobuf wire format: a field's value is replaced (varints by
/// interesting numbers, strings by dictionary words or interesting strings, nested messages by a
/// mutation of themselves), a field is duplicated, dropped, reordered or added. The lengths stay
/// consistent, so the result usually still decodes and reaches the validation code. `None` when
/// `buf` is not a protobuf message.
pub fn mutate_protobuf(rng: &mut Rng, buf: &[u8], dict: &[Vec<u8>], depth: usize) -> Option<Vec<u8>> {
    let mut fields = parse_fields(buf)?;
    if fields.is_empty() {
        let number = 1 + rng.below(16) as u64;
        let wire = if rng.chance(1, 2) {
            Wire::Varint(*rng.pick(INTERESTING_VARINTS))
        } else {
            Wire::Len(if dict.is_empty() { interesting_string(rng) } else { rng.pick(dict).clone() })
        };
        return Some(encode_fields(&[(number, wire)]));
    }
    let i = rng.below(fields.len());
    match rng.below(10) {
        0..=5 => {
            let (_, wire) = &mut fields[i];
            match wire {
                Wire::Varint(v) => {
                    *v = match rng.below(3) {
                        0 => *rng.pick(INTERESTING_VARINTS),
                        1 => rng.below(24) as u64,
                        _ => v.wrapping_add(rng.below(5) as u64).wrapping_sub(2),
                    };
                }
                Wire::Len(data) => {
                    // Mostly keep a nested message a message (strings rarely parse as one).
                    let looks_nested = parse_fields(data).is_some_and(|f| !f.is_empty());
                    let nested = depth < 4 && if looks_nested { rng.chance(7, 8) } else { rng.chance(1, 8) };
                    match nested.then(|| mutate_protobuf(rng, data, dict, depth + 1)).flatten() {
                        Some(inner) => *data = inner,
                        None => {
                            *data = match rng.below(4) {
                                0 | 1 if !dict.is_empty() => rng.pick(dict).clone(),
                                2 => {
                                    let mut d = data.clone();
                                    mutate_bytes(rng, &mut d, &[], dict, 1 << 20);
                                    d
                                }
                                _ => interesting_string(rng),
                            }
                        }
                    }
                }
                Wire::Fixed64(b) => b[rng.below(8)] ^= 1 << rng.below(8),
                Wire::Fixed32(b) => b[rng.below(4)] ^= 1 << rng.below(8),
            }
        }
        6 => {
            let f = fields[i].clone();
            let at = rng.below(fields.len() + 1);
            fields.insert(at, f);
        }
        7 => {
            fields.remove(i);
        }
        8 => {
            let j = rng.below(fields.len());
            fields.swap(i, j);
        }
        _ => {
            // Known field numbers (a clash of wire types is refused by the decoder) or unknown ones.
            let number = if rng.chance(1, 2) { 1 + rng.below(16) as u64 } else { 17 + rng.below(1 << 20) as u64 };
            let wire = match rng.below(4) {
                0 => Wire::Varint(*rng.pick(INTERESTING_VARINTS)),
                1 => Wire::Len(if dict.is_empty() { interesting_string(rng) } else { rng.pick(dict).clone() }),
                2 => Wire::Fixed64(rng.next_u64().to_le_bytes()),
                _ => Wire::Fixed32((rng.next_u64() as u32).to_le_bytes()),
            };
            fields.insert(rng.below(fields.len() + 1), (number, wire));
        }
    }
    Some(encode_fields(&fields))
}

// ---------------------------------------------------------------------------------------------
// The fuzzer
// ---------------------------------------------------------------------------------------------

/// A target-specific mutation: returns the new input, or `None` to fall back to byte mutations.
pub type Mutator = Box<dyn FnMut(&mut Rng, &[u8], &[Vec<u8>]) -> Option<Vec<u8>>>;

/// One fuzz target's configuration.
pub struct Fuzzer {
    name: String,
    seeds: Vec<(String, Vec<u8>)>,
    dict: Vec<Vec<u8>>,
    max_len: usize,
    max_corpus: usize,
    default_iterations: u64,
    custom: Option<(Mutator, usize)>,
    quiet: bool,
}

/// What went wrong with one input.
#[derive(Debug, Clone)]
pub struct Failure {
    /// `panic` or `property`.
    pub kind: &'static str,
    /// The panic message or the violated property.
    pub message: String,
    /// The input.
    pub input: Vec<u8>,
    /// Where it was written.
    pub file: Option<PathBuf>,
}

/// The result of a run.
#[derive(Debug)]
pub struct Report {
    /// The target.
    pub name: String,
    /// The seed used.
    pub seed: u64,
    /// Seed inputs executed as they are.
    pub seeds: usize,
    /// Mutated inputs executed.
    pub iterations: u64,
    /// Wall time of the whole run.
    pub elapsed: Duration,
    /// Inputs that panicked.
    pub panics: usize,
    /// Inputs that violated a property.
    pub violations: usize,
    /// Distinct outcomes seen.
    pub outcomes: usize,
    /// Corpus size at the end.
    pub corpus: usize,
    /// The first failures.
    pub failures: Vec<Failure>,
    /// Whether this was a replay of one input (`HUB_FUZZ_REPRO`) or skipped because of one.
    pub mode: &'static str,
}

impl Report {
    /// Executions per second (seeds and mutations).
    pub fn execs_per_sec(&self) -> f64 {
        let n = self.seeds as f64 + self.iterations as f64;
        n / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Panics (failing the test) when any input panicked or violated a property.
    pub fn assert_clean(&self) {
        if self.panics == 0 && self.violations == 0 {
            return;
        }
        let mut msg = format!(
            "fuzz target '{}' (seed {:#x}): {} panic(s), {} property violation(s)\n",
            self.name, self.seed, self.panics, self.violations
        );
        for f in &self.failures {
            let _ = writeln!(msg, "- {}: {}", f.kind, f.message);
            if let Some(file) = &f.file {
                let _ =
                    writeln!(msg, "  input written to {} (replay: HUB_FUZZ_REPRO={})", file.display(), file.display());
            }
        }
        panic!("{msg}");
    }
}

impl Fuzzer {
    /// A target named `name`, seeded with the committed corpus `tests/fuzz/corpus/<name>/`.
    pub fn new(name: &str) -> Self {
        install_hook();
        Self {
            name: name.to_owned(),
            seeds: load_corpus(name),
            dict: Vec::new(),
            max_len: 64 * 1024,
            max_corpus: 512,
            default_iterations: 2_000,
            custom: None,
            quiet: false,
        }
    }

    /// Adds a seed input made at run time.
    pub fn seed(mut self, label: impl Into<String>, input: impl Into<Vec<u8>>) -> Self {
        self.seeds.push((label.into(), input.into()));
        self
    }

    /// Adds dictionary words (inserted and written over by the mutations).
    pub fn dictionary<I, W>(mut self, words: I) -> Self
    where
        I: IntoIterator<Item = W>,
        W: AsRef<[u8]>,
    {
        self.dict.extend(words.into_iter().map(|w| w.as_ref().to_vec()));
        self
    }

    /// Longest input generated.
    pub fn max_len(mut self, n: usize) -> Self {
        self.max_len = n;
        self
    }

    /// Iterations when `HUB_FUZZ_ITERATIONS` is not set.
    pub fn default_iterations(mut self, n: u64) -> Self {
        self.default_iterations = n;
        self
    }

    /// A target-specific mutator, used for about `percent`% of the mutation steps.
    pub fn mutator(
        mut self,
        percent: usize,
        m: impl FnMut(&mut Rng, &[u8], &[Vec<u8>]) -> Option<Vec<u8>> + 'static,
    ) -> Self {
        self.custom = Some((Box::new(m), percent));
        self
    }

    /// Prints no failing inputs (for the engine's own test, whose target fails on purpose).
    pub fn quiet(mut self) -> Self {
        self.quiet = true;
        self
    }

    /// The seed inputs, committed and added, with their labels.
    pub fn seeds(&self) -> &[(String, Vec<u8>)] {
        &self.seeds
    }

    fn next_input(&mut self, rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
        let mut buf = rng.pick(corpus).clone();
        let steps = if rng.chance(1, 8) { 1 + rng.below(12) } else { 1 + rng.below(4) };
        for _ in 0..steps {
            if let Some((m, percent)) = &mut self.custom
                && rng.below(100) < *percent
                && let Some(out) = m(rng, &buf, corpus)
            {
                buf = out;
                buf.truncate(self.max_len);
                continue;
            }
            mutate_bytes(rng, &mut buf, corpus, &self.dict, self.max_len);
        }
        buf
    }

    /// Runs the target on every seed, then on `HUB_FUZZ_ITERATIONS` mutated inputs.
    ///
    /// `target` returns `Ok(outcome)` (a short text; a new one keeps the input in the corpus) or
    /// `Err(violated property)`. Panics are caught per input.
    pub fn run(mut self, mut target: impl FnMut(&[u8]) -> Result<String, String>) -> Report {
        let base_seed = env_u64("HUB_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
        let seed = base_seed ^ fnv1a(self.name.as_bytes());
        let iterations = env_u64("HUB_FUZZ_ITERATIONS").unwrap_or(self.default_iterations);
        let mut report = Report {
            name: self.name.clone(),
            seed: base_seed,
            seeds: 0,
            iterations: 0,
            elapsed: Duration::ZERO,
            panics: 0,
            violations: 0,
            outcomes: 0,
            corpus: 0,
            failures: Vec::new(),
            mode: "fuzz",
        };

        // Replay of one saved input.
        if let Some(file) = std::env::var_os("HUB_FUZZ_REPRO").map(PathBuf::from) {
            // cargo test runs in the crate's folder; a relative path is meant from the workspace root.
            let file = if file.is_relative() && !file.exists() { workspace_root().join(file) } else { file };
            let mine = file.parent().and_then(Path::file_name).is_some_and(|d| d == self.name.as_str());
            if !mine {
                println!("fuzz {}: skipped (HUB_FUZZ_REPRO names another target)", self.name);
                report.mode = "skipped";
                return report;
            }
            let input = std::fs::read(&file).unwrap_or_else(|e| panic!("HUB_FUZZ_REPRO {}: {e}", file.display()));
            println!("fuzz {}: replaying {} ({} bytes): {}", self.name, file.display(), input.len(), hex(&input));
            report.mode = "repro";
            let start = Instant::now();
            match execute(&mut target, &input) {
                Ok(outcome) => println!("fuzz {}: outcome: {outcome}", self.name),
                Err((kind, message)) => {
                    if kind == "panic" {
                        report.panics += 1;
                    } else {
                        report.violations += 1;
                    }
                    report.failures.push(Failure { kind, message, input, file: Some(file) });
                }
            }
            report.seeds = 1;
            report.elapsed = start.elapsed();
            return report;
        }

        println!(
            "fuzz {}: seed {:#x} (HUB_FUZZ_SEED), {} iterations (HUB_FUZZ_ITERATIONS), {} seed inputs",
            self.name,
            base_seed,
            iterations,
            self.seeds.len()
        );
        let mut rng = Rng::new(seed);
        let mut seen: HashSet<String> = HashSet::new();
        let mut corpus: Vec<Vec<u8>> = Vec::new();
        let start = Instant::now();
        let seeds = std::mem::take(&mut self.seeds);
        let mut failed_inputs: HashSet<Vec<u8>> = HashSet::new();
        let quiet = self.quiet;
        let verbose = std::env::var("HUB_FUZZ_VERBOSE").is_ok_and(|v| v == "1");
        let mut histogram: std::collections::HashMap<String, u64> = std::collections::HashMap::new();

        let mut record = |report: &mut Report, kind: &'static str, message: String, input: &[u8]| {
            if kind == "panic" {
                report.panics += 1;
            } else {
                report.violations += 1;
            }
            if report.failures.len() < MAX_REPORTED && failed_inputs.insert(input.to_vec()) {
                let file = save_failure(&report.name, kind, input);
                let shown = if input.len() > 4096 { &input[..4096] } else { input };
                if quiet {
                    report.failures.push(Failure { kind, message, input: input.to_vec(), file });
                    return;
                }
                eprintln!(
                    "fuzz {}: {kind}: {message}\n  input ({} bytes, hex{}): {}",
                    report.name,
                    input.len(),
                    if shown.len() < input.len() { ", first 4096" } else { "" },
                    hex(shown)
                );
                report.failures.push(Failure { kind, message, input: input.to_vec(), file });
            }
        };

        for (label, input) in &seeds {
            report.seeds += 1;
            match execute(&mut target, input) {
                Ok(outcome) => {
                    if verbose {
                        println!("fuzz {}: seed '{label}': {outcome}", self.name);
                    }
                    seen.insert(outcome);
                }
                Err((kind, message)) => record(&mut report, kind, format!("seed '{label}': {message}"), input),
            }
            corpus.push(input.clone());
        }
        if corpus.is_empty() {
            corpus.push(Vec::new());
        }
        for _ in 0..iterations {
            let input = self.next_input(&mut rng, &corpus);
            report.iterations += 1;
            match execute(&mut target, &input) {
                Ok(outcome) => {
                    if verbose {
                        *histogram.entry(outcome.clone()).or_default() += 1;
                    }
                    if seen.insert(outcome) {
                        if corpus.len() < self.max_corpus {
                            corpus.push(input);
                        } else {
                            // Full: a new outcome replaces a random entry that is not a seed.
                            let keep = seeds.len().min(corpus.len() - 1);
                            let i = keep + rng.below(corpus.len() - keep);
                            corpus[i] = input;
                        }
                    }
                }
                Err((kind, message)) => record(&mut report, kind, message, &input),
            }
        }
        report.elapsed = start.elapsed();
        if verbose {
            let mut counts: Vec<(String, u64)> = histogram.into_iter().collect();
            counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            println!("fuzz {}: outcomes of mutated inputs (HUB_FUZZ_VERBOSE=1), most frequent first:", self.name);
            for (outcome, n) in counts.iter().take(200) {
                println!("  {n:>8}  {outcome}");
            }
        }
        report.outcomes = seen.len();
        report.corpus = corpus.len();
        println!(
            "fuzz-result target={} iterations={} seeds={} secs={:.1} execs_per_sec={:.0} panics={} violations={} \
             outcomes={} corpus={} seed={:#x}",
            report.name,
            report.iterations,
            report.seeds,
            report.elapsed.as_secs_f64(),
            report.execs_per_sec(),
            report.panics,
            report.violations,
            report.outcomes,
            report.corpus,
            report.seed
        );
        report
    }
}

/// Runs one input: `Ok(outcome)`, or `Err((kind, message))`.
fn execute(
    target: &mut impl FnMut(&[u8]) -> Result<String, String>,
    input: &[u8],
) -> Result<String, (&'static str, String)> {
    IN_TARGET.with(|f| f.set(true));
    LAST_PANIC.with(|p| p.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(|| target(input)));
    IN_TARGET.with(|f| f.set(false));
    match result {
        Ok(Ok(outcome)) => Ok(outcome),
        Ok(Err(violation)) => Err(("property", violation)),
        Err(_) => {
            let msg = LAST_PANIC.with(|p| p.borrow_mut().take()).unwrap_or_else(|| "panic".to_owned());
            Err(("panic", msg))
        }
    }
}

fn save_failure(target: &str, kind: &str, input: &[u8]) -> Option<PathBuf> {
    let dir = failure_dir(target);
    std::fs::create_dir_all(&dir).ok()?;
    let file = dir.join(format!("{kind}-{:016x}.bin", fnv1a(input)));
    std::fs::write(&file, input).ok()?;
    Some(file)
}

/// Shortens an outcome text to its gist (digits dropped, at most `n` characters), so ids and
/// numbers in error messages do not make every outcome new.
pub fn gist(text: &str, n: usize) -> String {
    text.chars().filter(|c| !c.is_ascii_digit()).take(n).collect()
}

#[cfg(test)]
mod selftest {
    use super::*;

    #[test]
    fn rng_is_deterministic() {
        let a: Vec<u64> = (0..5).scan(Rng::new(7), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> = (0..5).scan(Rng::new(7), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(a, (0..5).scan(Rng::new(8), |r, _| Some(r.next_u64())).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_target_is_caught_and_reported() {
        let report =
            Fuzzer::new("fuzzkit-selftest").quiet().seed("seed", b"ok".to_vec()).default_iterations(200).run(|input| {
                if input.len() > 4 {
                    panic!("selftest: input of {} bytes", input.len());
                }
                if input.first() == Some(&b'!') {
                    return Err("selftest: starts with '!'".to_owned());
                }
                Ok(format!("{}", input.len()))
            });
        if report.mode == "skipped" {
            return;
        }
        assert!(report.panics > 0, "{report:?}");
        assert!(report.failures.iter().any(|f| f.kind == "panic" && f.message.contains("selftest: input of")));
        assert!(report.failures.iter().all(|f| f.file.as_ref().is_some_and(|p| p.exists())));
    }

    #[test]
    fn protobuf_fields_round_trip() {
        let msg = [0x0a, 0x03, b'a', b'b', b'c', 0x10, 0x96, 0x01];
        let fields = parse_fields(&msg).unwrap();
        assert_eq!(encode_fields(&fields), msg);
    }
}
