//! Mutations of scene and checkpoint text, shared by the fuzz test (`tests/fuzz.rs`, proptest)
//! and the fuzz campaign (`examples/fuzz.rs`, through the `edra` binary).

/// Values that break naive code: signs, zero, extremes, NaN, integers just past 32 and 64 bits.
pub const EXTREMES: [&str; 14] = [
    "-1",
    "0",
    "1e308",
    "-1e308",
    "NaN",
    "inf",
    "4294967296",
    "1e-300",
    "99999999999",
    "-0.0",
    "65536",
    "18446744073709551616",
    "1e10",
    "0.000001",
];

/// Characters that change the structure of RON text.
pub const PUNCTUATION: [char; 12] = ['(', ')', '[', ']', '{', '}', ',', ':', '"', '-', '.', 'e'];

/// One edit of the text; positions are taken modulo its length.
#[derive(Clone, Debug)]
pub enum Op {
    /// The number at or after a position becomes `EXTREMES[k]`.
    Number(usize, usize),
    /// Deletes up to n bytes.
    Delete(usize, usize),
    /// Repeats up to n bytes in place.
    Duplicate(usize, usize),
    /// Inserts `PUNCTUATION[k]`.
    Insert(usize, usize),
}

/// Applies `ops` to `text`, in order.
pub fn mutate(text: &str, ops: &[Op]) -> String {
    let mut b = text.as_bytes().to_vec();
    for op in ops {
        if b.is_empty() {
            break;
        }
        let at = |p: usize| p % b.len();
        match *op {
            Op::Number(p, k) => {
                let start = at(p);
                let is_num =
                    |c: u8| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-');
                let Some(s) = (start..b.len()).find(|&i| b[i].is_ascii_digit()) else {
                    continue;
                };
                let mut s = s;
                while s > 0 && is_num(b[s - 1]) {
                    s -= 1;
                }
                let mut e = s;
                while e < b.len() && is_num(b[e]) {
                    e += 1;
                }
                let new = EXTREMES[k % EXTREMES.len()].as_bytes();
                b.splice(s..e, new.iter().copied());
            }
            Op::Delete(p, n) => {
                let s = at(p);
                let e = (s + n).min(b.len());
                b.drain(s..e);
            }
            Op::Duplicate(p, n) => {
                let s = at(p);
                let e = (s + n).min(b.len());
                let piece: Vec<u8> = b[s..e].to_vec();
                b.splice(e..e, piece);
            }
            Op::Insert(p, k) => {
                let s = at(p);
                b.insert(s, PUNCTUATION[k % PUNCTUATION.len()] as u8);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// The shipped scenes, as the texts to mutate (name, text).
pub fn seeds(root: &std::path::Path) -> Vec<(String, String)> {
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "ron") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&root.join("scenes"), &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(root).unwrap().display().to_string();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}
