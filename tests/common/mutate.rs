//! Mutations of valid encodings, for the fuzz tests (`fuzz_wire`,
//! `fuzz_runtimes`).

use rand::rngs::StdRng;
use rand::Rng;

/// Bytes that matter to the encoding: varint markers, bool and option tags,
/// UTF-8 lead bytes.
const INTERESTING: [u8; 12] = [
    0, 1, 2, 0x7f, 0x80, 0xc3, 0xed, 0xf4, 0xfb, 0xfc, 0xfd, 0xff,
];

/// Mutates `input` one to three times: bit flips, bytes the encoding
/// reads specially, random insertions, deletions, cuts, huge lengths,
/// pieces of `other` and repeats of itself.
pub fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..rng.random_range(1..4) {
        let len = input.len();
        match rng.random_range(0..9) {
            0 if len > 0 => {
                let at = rng.random_range(0..len);
                input[at] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let at = rng.random_range(0..len);
                input[at] = INTERESTING[rng.random_range(0..INTERESTING.len())];
            }
            2 => {
                let at = rng.random_range(0..=len);
                let n = rng.random_range(1..9);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                input.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let at = rng.random_range(0..len);
                let end = (at + rng.random_range(1..9)).min(len);
                input.drain(at..end);
            }
            4 if len > 0 => input.truncate(rng.random_range(0..len)),
            5 => {
                // A huge length or count where one may be.
                let at = rng.random_range(0..=len);
                let mut huge = vec![0xfd];
                huge.extend_from_slice(&rng.random_range(1u64 << 20..u64::MAX).to_le_bytes());
                input.splice(at..at, huge);
            }
            6 if !other.is_empty() => {
                let from = rng.random_range(0..other.len());
                let end = (from + rng.random_range(1..32)).min(other.len());
                let at = rng.random_range(0..=len);
                input.splice(at..at, other[from..end].iter().copied());
            }
            7 if len > 0 => {
                let at = rng.random_range(0..len);
                let end = (at + rng.random_range(1..16)).min(len);
                let copy = input[at..end].to_vec();
                input.splice(end..end, copy);
            }
            _ => input.push(rng.random()),
        }
    }
}
