//! Fuzzing of the action-link tokens and receipts of the email channel: mutated token and
//! receipt texts through `LinkKey::verify` and `LinkKey::verify_receipt`.
//!
//! Properties: no input panics; a mutated text that still verifies is exactly a token (or, for
//! receipts, up to surrounding white space, a receipt) the key signed, with its original claims, so
//! no mutation forges a link or a receipt; and claims built from the input (odd strings, extreme
//! times) survive sign-then-verify unchanged, or are refused for the documented reason (expired,
//! too long).
//!
//! Inputs: an entry of the target's corpus (`tests/fuzz/corpus/tokens/` or `receipts/`, plus the
//! tokens signed at run time) and a list of steps, each a byte mutation (with the envelope's parts as
//! dictionary) or, one time in four, a byte mutation of the decoded payload JSON under the old signature.
//! 2,000 cases per target (`PROPTEST_CASES`), fixed seed (`PROPTEST_RNG_SEED`); see
//! `tests/fuzz/mutations.rs` and `scripts/fuzz.sh`.

use crate::mutations;

use std::rc::Rc;

use email_adapter::receipt::ReceiptClaims;
use email_adapter::token::{LinkClaims, LinkKey, MAX_TOKEN_LEN, Purpose, TokenError};
use mutations::{ByteOp, Seed, Step};
use proptest::prelude::*;

/// A fixed, synthetic secret: the signed seed tokens are the same in every run and can be committed.
const SECRET: &[u8; 32] = b"fuzz-only-secret-not-for-any-hub";
/// 2026-01-09T09:00:00Z.
const NOW_MS: i64 = 1_767_949_200_000;
const DAY_MS: i64 = 86_400_000;

fn key() -> LinkKey {
    LinkKey::from_secret(SECRET).expect("a 32-byte secret")
}

fn links() -> Vec<(&'static str, LinkClaims)> {
    let claims = |referral: &str, org: &str, purpose: Purpose| LinkClaims {
        referral: referral.to_owned(),
        org: org.to_owned(),
        issued_at_ms: NOW_MS - DAY_MS,
        expires_at_ms: NOW_MS + 13 * DAY_MS,
        purpose,
    };
    let act = |action: &str, nonce: &str| Purpose::Act { action: action.to_owned(), nonce: nonce.to_owned() };
    vec![
        ("view", claims("0b7e4c1a-3f2d-4e5b-9a61-7c8d9e0f1a2b", "traeger-wohnhilfe", Purpose::View)),
        (
            "act-accept",
            claims(
                "0b7e4c1a-3f2d-4e5b-9a61-7c8d9e0f1a2b",
                "traeger-wohnhilfe",
                act("ACCEPT", "6f1c0d7e-9a43-4f7e-8f5e-2b1d3c4a5b6c"),
            ),
        ),
        (
            "act-note",
            claims(
                "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
                "schuldnerberatung-nord",
                act("NOTE", "1d2c3b4a-5f6e-4d7c-8b9a-0f1e2d3c4b5a"),
            ),
        ),
        (
            "act-umlaut",
            claims("5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d", "wohnbau-nord", act("DECLINE", "Größe \"ä\";\n")),
        ),
    ]
}

fn receipts() -> Vec<(&'static str, ReceiptClaims)> {
    let receipt = |id: &str, action: &str, state: &str| ReceiptClaims {
        id: id.to_owned(),
        referral: "0b7e4c1a-3f2d-4e5b-9a61-7c8d9e0f1a2b".to_owned(),
        org: "traeger-wohnhilfe".to_owned(),
        action: action.to_owned(),
        state: state.to_owned(),
        at_ms: NOW_MS,
    };
    vec![
        ("accept", receipt("evt-101", "ACCEPT", "ACCEPTED")),
        ("note", receipt("evt-102", "NOTE", "IN_PROGRESS")),
        ("complete", receipt("e7c3a9f0-0000-4000-8000-000000000103", "COMPLETE", "COMPLETED")),
    ]
}

/// Words the mutations insert: the envelope's parts and base64 fragments of claim JSON.
fn dictionary(tokens: &[String]) -> Vec<Vec<u8>> {
    let mut words: Vec<Vec<u8>> = [
        "L1.", "Q1.", "L2.", ".", "..", "-", "_", "=", "==", "+", "/", "A", "AAAA", "e30", "eyJ9", "%2E", " ", "\u{a0}",
    ]
    .iter()
    .map(|w| w.as_bytes().to_vec())
    .collect();
    for t in tokens {
        // The payload and the tag of each signed token, as units to splice.
        if let Some(rest) = t.get(3..)
            && let Some((payload, tag)) = rest.split_once('.')
        {
            words.push(payload.as_bytes().to_vec());
            words.push(tag.as_bytes().to_vec());
        }
    }
    for json in [
        r#"{"referral":"x","org":"y","issued_at_ms":0,"expires_at_ms":9223372036854775807,"purpose":"View"}"#,
        r#"{"id":"a","referral":"b","org":"c","action":"ACCEPT","state":"ACCEPTED","at_ms":-1}"#,
        r#"{"purpose":{"Act":{"action":"ACCEPT","nonce":"n"}}}"#,
    ] {
        words.push(b64_encode(json.as_bytes()).into_bytes());
    }
    words
}

/// A step: a byte mutation of the text, or (one in four) of the payload's JSON.
#[derive(Debug, Clone)]
enum TokenStep {
    Bytes(ByteOp),
    /// Rewrites the payload of a token while keeping its signature: decode, mutate the JSON bytes,
    /// encode again. Reaches the signature check with well-formed but altered content.
    Payload(ByteOp),
}

/// The longest input generated.
const MAX_LEN: usize = 3 * MAX_TOKEN_LEN;

impl Step for TokenStep {
    fn apply(&self, buf: &mut Vec<u8>, corpus: &[Vec<u8>]) {
        match self {
            TokenStep::Bytes(op) => op.apply(buf, corpus, 0, MAX_LEN),
            TokenStep::Payload(op) => {
                let Some(tampered) = tamper_payload(op, buf) else {
                    return;
                };
                *buf = tampered;
                buf.truncate(MAX_LEN);
            }
        }
    }
}

fn tamper_payload(op: &ByteOp, input: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(input).ok()?;
    let (prefix, rest) = text.split_at_checked(3)?;
    let (payload, tag) = rest.split_once('.')?;
    let mut json = b64_decode(payload)?;
    op.apply(&mut json, &[], 0, 4096);
    Some(format!("{prefix}{}.{tag}", b64_encode(&json)).into_bytes())
}

/// The inputs of a target: `seeds` mutated with `dict` words.
fn cases(seeds: &[Seed], dict: Vec<Vec<u8>>) -> impl Strategy<Value = mutations::Case<TokenStep>> + use<> {
    let dict: Rc<[Vec<u8>]> = dict.into();
    let step = prop_oneof![
        3 => mutations::byte_op(&dict).prop_map(TokenStep::Bytes).boxed(),
        1 => mutations::byte_op(&Rc::from([])).prop_map(TokenStep::Payload).boxed(),
    ];
    mutations::cases(seeds, step.boxed())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64url without padding (the tokens' encoding), written out here so the tests crate needs no
/// base64 dependency.
fn b64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn b64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.bytes() {
        acc = acc << 6 | B64.iter().position(|b| *b == c)? as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn i64_at(input: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    for (i, x) in b.iter_mut().enumerate() {
        *x = input.get(at + i).copied().unwrap_or(0);
    }
    i64::from_le_bytes(b)
}

/// Claims made from arbitrary input survive sign-then-verify, or are refused for the right reason.
fn round_trip(key: &LinkKey, input: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(input);
    let expires = NOW_MS.saturating_add(i64_at(input, 0) % (400 * DAY_MS));
    let claims = LinkClaims {
        referral: text.to_string(),
        org: text.chars().rev().take(80).collect(),
        issued_at_ms: i64_at(input, 8),
        expires_at_ms: if input.first().is_some_and(|b| b & 1 == 1) { i64_at(input, 16) } else { expires },
        purpose: if input.len().is_multiple_of(2) {
            Purpose::View
        } else {
            Purpose::Act { action: text.chars().take(12).collect(), nonce: text.to_string() }
        },
    };
    let token = key.sign(&claims);
    match key.verify(&token, NOW_MS) {
        Ok(back) if back == claims && token.len() <= MAX_TOKEN_LEN && NOW_MS < claims.expires_at_ms => {}
        Err(TokenError::Expired) if NOW_MS >= claims.expires_at_ms && token.len() <= MAX_TOKEN_LEN => {}
        Err(TokenError::Malformed) if token.len() > MAX_TOKEN_LEN => {}
        other => return Err(format!("sign/verify round trip of {claims:?} gave {other:?} (token {token})")),
    }
    let receipt = ReceiptClaims {
        id: text.chars().take(40).collect(),
        referral: claims.org.clone(),
        org: text.to_string(),
        action: "NOTE".to_owned(),
        state: text.chars().skip(3).collect(),
        at_ms: i64_at(input, 24),
    };
    let signed = key.sign_receipt(&receipt);
    match key.verify_receipt(&signed) {
        Ok(back) if back == receipt && signed.len() <= MAX_TOKEN_LEN => {}
        Err(TokenError::Malformed) if signed.len() > MAX_TOKEN_LEN => {}
        other => return Err(format!("receipt round trip of {receipt:?} gave {other:?}")),
    }
    Ok(())
}

#[test]
fn fuzz_link_tokens() {
    let key = key();
    let issued: Vec<(String, LinkClaims)> = links().into_iter().map(|(_, c)| (key.sign(&c), c)).collect();
    let receipts: Vec<(String, ReceiptClaims)> =
        receipts().into_iter().map(|(_, r)| (key.sign_receipt(&r), r)).collect();
    let all: Vec<String> =
        issued.iter().map(|(t, _)| t.clone()).chain(receipts.iter().map(|(t, _)| t.clone())).collect();
    let mut seeds = mutations::load_corpus("tokens");
    for ((label, _), (token, _)) in links().iter().zip(&issued) {
        seeds.push((format!("signed link {label}"), token.as_bytes().to_vec()));
    }
    // A receipt is never a link: it is a seed here too.
    seeds.push(("signed receipt".to_owned(), receipts[0].0.as_bytes().to_vec()));
    mutations::run("tokens", 2_000, &seeds, cases(&seeds, dictionary(&all)), |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            // The page's router only ever hands over text (a URL path segment or a form field).
            return Ok(());
        };
        if let Ok(claims) = key.verify(text, NOW_MS)
            && !issued.iter().any(|(t, c)| t == text && *c == claims)
        {
            return Err(format!("a mutated link token verified: {text:?} -> {claims:?}"));
        }
        // The same text as a receipt: never accepted unless it is one the key signed.
        if let Ok(r) = key.verify_receipt(text)
            && !receipts.iter().any(|(t, c)| t == text.trim() && *c == r)
        {
            return Err(format!("a mutated text verified as a receipt: {text:?} -> {r:?}"));
        }
        round_trip(&key, input)
    });
}

#[test]
fn fuzz_receipts() {
    let key = key();
    let signed: Vec<(String, ReceiptClaims)> = receipts().into_iter().map(|(_, r)| (key.sign_receipt(&r), r)).collect();
    let links: Vec<String> = links().into_iter().map(|(_, c)| key.sign(&c)).collect();
    let all: Vec<String> = signed.iter().map(|(t, _)| t.clone()).chain(links.iter().cloned()).collect();
    let mut seeds = mutations::load_corpus("receipts");
    for ((label, _), (text, _)) in receipts().iter().zip(&signed) {
        seeds.push((format!("signed receipt {label}"), text.as_bytes().to_vec()));
        // As pasted from a mail: with white space around it.
        seeds.push((format!("pasted receipt {label}"), format!("  {text}\r\n").into_bytes()));
    }
    seeds.push(("signed link".to_owned(), links[0].as_bytes().to_vec()));
    mutations::run("receipts", 2_000, &seeds, cases(&seeds, dictionary(&all)), |input| {
        let Ok(text) = std::str::from_utf8(input) else {
            return Ok(());
        };
        if let Ok(r) = key.verify_receipt(text)
            && !signed.iter().any(|(t, c)| t == text.trim() && *c == r)
        {
            return Err(format!("a mutated receipt verified: {text:?} -> {r:?}"));
        }
        if let Ok(c) = key.verify(text, NOW_MS)
            && !links.iter().any(|t| t == text)
        {
            return Err(format!("a mutated text verified as a link: {text:?} -> {c:?}"));
        }
        Ok(())
    });
}

/// Writes the committed seed corpus (signed with the fixed fuzz secret) when
/// `HUB_FUZZ_UPDATE_CORPUS=1`; otherwise checks that the committed signed seeds still verify.
#[test]
fn committed_token_corpus_is_current() {
    let key = key();
    let mut files: Vec<(String, Vec<u8>, &str)> = Vec::new();
    for (label, c) in links() {
        files.push((format!("signed-{label}.txt"), key.sign(&c).into_bytes(), "tokens"));
    }
    for (label, r) in receipts() {
        files.push((format!("signed-{label}.txt"), key.sign_receipt(&r).into_bytes(), "receipts"));
    }
    if std::env::var("HUB_FUZZ_UPDATE_CORPUS").is_ok_and(|v| v == "1") {
        for (name, bytes, target) in &files {
            let dir = mutations::corpus_dir(target);
            std::fs::create_dir_all(&dir).expect("corpus dir");
            std::fs::write(dir.join(name), bytes).expect("write corpus file");
        }
        return;
    }
    for (name, bytes, target) in &files {
        let path = mutations::corpus_dir(target).join(name);
        let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(&committed, bytes, "{} is stale; regenerate with HUB_FUZZ_UPDATE_CORPUS=1", path.display());
    }
}

#[test]
fn the_local_base64_matches_the_tokens() {
    let key = key();
    for (_, c) in links() {
        let token = key.sign(&c);
        let (payload, _) = token[3..].split_once('.').expect("token shape");
        let json = b64_decode(payload).expect("base64url");
        assert!(json.starts_with(b"{\"referral\""), "{}", String::from_utf8_lossy(&json));
        assert_eq!(b64_encode(&json), payload);
    }
}
