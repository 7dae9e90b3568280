//! Finds where a field path (`synapses[1].rule.tau_plus_ms`) stands in RON text.
//!
//! serde reports parse errors with a position but a value that parses and is out of range, or a
//! name that refers to nothing, is found only after parsing. This walker follows the path through
//! the text so those errors carry a line and column too. Enum variants, `Some(..)` and newtype
//! wrappers are transparent in paths. (Sweeps and timed changes set a field by the same paths
//! through the typed blocks, [`super::param_path`].)

use crate::core::error::Position;
use std::ops::Range;

/// One step of a field path.
#[derive(Clone, Debug, PartialEq)]
pub enum Seg {
    Field(String),
    Index(usize),
}

/// Splits `a.b[2].c` into segments.
pub fn parse_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(b) = rest.find('[') {
            if b > 0 {
                out.push(Seg::Field(rest[..b].to_string()));
            }
            rest = &rest[b..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').unwrap_or(stripped.len());
                if let Ok(i) = stripped[..end].parse() {
                    out.push(Seg::Index(i));
                }
                rest = stripped.get(end + 1..).unwrap_or("");
            }
        } else {
            out.push(Seg::Field(rest.to_string()));
        }
    }
    out
}

/// The byte range of the value at `path` in `src`, if the path exists.
pub fn locate(src: &str, path: &[Seg]) -> Option<Range<usize>> {
    let mut c = Cursor {
        s: src.as_bytes(),
        i: 0,
    };
    c.find(path)
}

/// 1-based line and column of byte `at` in `src`.
pub fn position(src: &str, at: usize) -> Position {
    let before = &src[..at.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Position { line, col }
}

/// The position of the deepest prefix of `path` that exists in `src` (the field itself, or the
/// closest enclosing value when the field was left to its default).
pub fn best_position(src: &str, path: &str) -> Option<Position> {
    let segs = parse_path(path);
    (1..=segs.len())
        .rev()
        .find_map(|n| locate(src, &segs[..n]))
        .map(|r| position(src, r.start))
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        loop {
            match (self.peek(), self.s.get(self.i + 1)) {
                (Some(c), _) if c.is_ascii_whitespace() => self.i += 1,
                (Some(b'/'), Some(b'/')) => {
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    self.i += 2;
                    while self.i < self.s.len() && !self.s[self.i..].starts_with(b"*/") {
                        self.i += 1;
                    }
                    self.i += 2;
                }
                _ => return,
            }
        }
    }

    fn ident(&mut self) -> Option<&str> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.i += 1;
        }
        (self.i > start).then(|| std::str::from_utf8(&self.s[start..self.i]).unwrap_or(""))
    }

    fn string(&mut self, quote: u8) {
        self.i += 1;
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == b'\\' {
                self.i += 1;
            } else if c == quote {
                return;
            }
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'"' => self.string(b'"'),
            b'\'' => self.string(b'\''),
            b'(' | b'[' | b'{' => self.skip_group()?,
            _ => {
                let start = self.i;
                while self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || b"_.+-".contains(&c))
                {
                    self.i += 1;
                }
                if self.i == start {
                    return None;
                }
                let save = self.i;
                self.ws();
                if self.peek() == Some(b'(') {
                    self.skip_group()?;
                } else {
                    self.i = save;
                }
            }
        }
        Some(())
    }

    fn skip_group(&mut self) -> Option<()> {
        let close = match self.peek()? {
            b'(' => b')',
            b'[' => b']',
            _ => b'}',
        };
        self.i += 1;
        loop {
            self.ws();
            if self.peek()? == close {
                self.i += 1;
                return Some(());
            }
            self.skip_value()?;
            self.ws();
            if matches!(self.peek()?, b':' | b',') {
                self.i += 1;
            }
        }
    }

    /// Whether the cursor stands at `ident :` (a named field, not a path `a::b`).
    fn at_named_field(&mut self) -> bool {
        let save = self.i;
        let named = self.ident().is_some() && {
            self.ws();
            self.peek() == Some(b':') && self.s.get(self.i + 1) != Some(&b':')
        };
        self.i = save;
        named
    }

    /// In a map `{"key": value, ...}` (keys quoted or bare), the value at `key`, then `rest`.
    fn find_in_map(&mut self, key: &str, rest: &[Seg]) -> Option<Range<usize>> {
        self.i += 1;
        loop {
            self.ws();
            if self.peek()? == b'}' {
                return None;
            }
            let found = if self.peek()? == b'"' {
                let start = self.i + 1;
                self.string(b'"');
                self.s.get(start..self.i - 1) == Some(key.as_bytes())
            } else {
                self.ident()? == key
            };
            self.ws();
            if self.peek()? != b':' {
                return None;
            }
            self.i += 1;
            if found {
                return self.find(rest);
            }
            self.skip_value()?;
            self.ws();
            if self.peek()? == b',' {
                self.i += 1;
            }
        }
    }

    fn find(&mut self, path: &[Seg]) -> Option<Range<usize>> {
        self.ws();
        let Some(seg) = path.first() else {
            let start = self.i;
            self.skip_value()?;
            return Some(start..self.i);
        };
        match seg {
            Seg::Index(k) => {
                if self.peek()? != b'[' {
                    return None;
                }
                self.i += 1;
                for _ in 0..*k {
                    self.skip_value()?;
                    self.ws();
                    if self.peek()? != b',' {
                        return None;
                    }
                    self.i += 1;
                }
                self.find(&path[1..])
            }
            Seg::Field(name) => {
                if self.peek()?.is_ascii_alphabetic() {
                    let variant = self.ident() == Some(name.as_str());
                    self.ws();
                    if variant && self.peek()? == b'(' {
                        // The segment names the enum variant written here
                        // (`timeline[2].SetParam.value`): the rest of the path is inside it.
                        return self.find(&path[1..]);
                    }
                }
                if self.peek()? == b'{' {
                    return self.find_in_map(name, &path[1..]);
                }
                if self.peek()? != b'(' {
                    return None;
                }
                self.i += 1;
                self.ws();
                if !self.at_named_field() {
                    // A newtype, enum variant or Some(..): look inside.
                    return self.find(path);
                }
                loop {
                    self.ws();
                    let key = self.ident()?.to_string();
                    self.ws();
                    self.i += 1; // ':'
                    if key == *name {
                        return self.find(&path[1..]);
                    }
                    self.skip_value()?;
                    self.ws();
                    if self.peek()? == b',' {
                        self.i += 1;
                    }
                    self.ws();
                    if self.peek()? == b')' {
                        return None;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"Scene(
    name: "x", // a comment with ( and "
    synapses: [
        SynapseGroup(name: "a", rule: PairStdp((tau_plus_ms: 1.0))),
        (name: "b(", rule: PairStdp(StdpParams(a_plus: 0.5, tau_plus_ms: -3.0))),
    ],
)"#;

    #[test]
    fn finds_fields_through_lists_and_variants() {
        let p = parse_path("synapses[1].rule.tau_plus_ms");
        let r = locate(SRC, &p).unwrap();
        assert_eq!(&SRC[r.clone()], "-3.0");
        assert_eq!(position(SRC, r.start), Position { line: 5, col: 74 });
        let r = locate(SRC, &parse_path("synapses[0].rule.tau_plus_ms")).unwrap();
        assert_eq!(&SRC[r], "1.0");
        assert!(locate(SRC, &parse_path("synapses[1].rule.tau_minus_ms")).is_none());
        assert_eq!(
            best_position(SRC, "synapses[1].rule.tau_minus_ms").map(|p| p.line),
            Some(5)
        );
    }

    /// A map's key is a segment (`stages.camkii.tau_ms` in `stages: {"camkii": (...)}`).
    #[test]
    fn finds_values_in_maps() {
        let src = "(stages: {\"a\": (x: 1.0), \"camkii\": (tau_ms: -1.0)}, b: 2)";
        let r = locate(src, &parse_path("stages.camkii.tau_ms")).unwrap();
        assert_eq!(&src[r], "-1.0");
        let r = locate(src, &parse_path("stages.a.x")).unwrap();
        assert_eq!(&src[r], "1.0");
        assert!(locate(src, &parse_path("stages.nope")).is_none());
        let r = locate(src, &parse_path("b")).unwrap();
        assert_eq!(&src[r], "2");
    }

    /// A segment may name the enum variant written at its place, as the checker's paths of
    /// timeline events do (`timeline[1].SetParam.value`); a path without it still works.
    #[test]
    fn a_segment_can_name_the_variant() {
        let src = "(timeline: [\n  Reward(at_ms: 1.0),\n  SetParam(at_ms: 2.0, path: \"p\", value: -5.0),\n])";
        let r = locate(src, &parse_path("timeline[1].SetParam.value")).unwrap();
        assert_eq!(&src[r.clone()], "-5.0");
        assert_eq!(position(src, r.start), Position { line: 3, col: 42 });
        let r = locate(src, &parse_path("timeline[0].Reward.at_ms")).unwrap();
        assert_eq!(&src[r], "1.0");
        let r = locate(src, &parse_path("timeline[1].at_ms")).unwrap();
        assert_eq!(&src[r], "2.0");
        assert!(locate(src, &parse_path("timeline[1].Reward.at_ms")).is_none());
    }
}
