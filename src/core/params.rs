//! Parameter plumbing shared by every stage: distributions for per-synapse values, and range
//! checks that name the field.

use crate::core::param_path::{At, ParamValue, SetError, SetPath, set_in};
use crate::core::rng::{self, Purpose};
use serde::{Deserialize, Serialize};

/// A per-synapse (or per-neuron) value: a constant, or a distribution sampled once per entity at
/// build time from the scene's seed. Written in a scene as `0.5` or `Uniform(min: 0.1, max: 0.2)`,
/// `Normal(mean: 1.0, sd: 0.1)` (clipped to the field's valid range), `LogNormal(mu: 0.0, sigma: 0.5)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Dist {
    Const(f64),
    Random(Random),
}

/// The random distributions a [`Dist`] can take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Random {
    Uniform { min: f64, max: f64 },
    Normal { mean: f64, sd: f64 },
    LogNormal { mu: f64, sigma: f64 },
}

/// `init.h_mv` sets a constant; `init.h_mv.mean` a parameter of a distribution.
impl SetPath for Dist {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match self {
            Dist::Const(c) => c.set_at(at.variant("Const"), value),
            Dist::Random(r) => r.set_at(at.variant("Random"), value),
        }
    }
}

impl SetPath for Random {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match self {
            Random::Uniform { min, max } => set_in(
                at.variant("Uniform"),
                value,
                &mut [("min", min), ("max", max)],
            ),
            Random::Normal { mean, sd } => set_in(
                at.variant("Normal"),
                value,
                &mut [("mean", mean), ("sd", sd)],
            ),
            Random::LogNormal { mu, sigma } => set_in(
                at.variant("LogNormal"),
                value,
                &mut [("mu", mu), ("sigma", sigma)],
            ),
        }
    }
}

impl Default for Dist {
    fn default() -> Self {
        Dist::Const(0.0)
    }
}

impl From<f64> for Dist {
    fn from(v: f64) -> Self {
        Dist::Const(v)
    }
}

impl Dist {
    /// Draws the value of entity `stream` (key `salt` tells apart fields), clipped to `[lo, hi]`.
    pub fn sample(&self, seed: u64, stream: u64, salt: u64, lo: f64, hi: f64) -> f64 {
        let u = || rng::uniform_f64(seed, stream, salt, Purpose::Init);
        let n = || rng::normal(seed, stream, salt, Purpose::Init);
        let v = match self {
            Dist::Const(c) => *c,
            Dist::Random(Random::Uniform { min, max }) => min + (max - min) * u(),
            Dist::Random(Random::Normal { mean, sd }) => mean + sd * n(),
            Dist::Random(Random::LogNormal { mu, sigma }) => (mu + sigma * n()).exp(),
        };
        v.clamp(lo, hi)
    }

    /// The mean of the distribution (used for memory and delay estimates).
    pub fn mean(&self) -> f64 {
        match self {
            Dist::Const(c) => *c,
            Dist::Random(Random::Uniform { min, max }) => 0.5 * (min + max),
            Dist::Random(Random::Normal { mean, .. }) => *mean,
            Dist::Random(Random::LogNormal { mu, sigma }) => (mu + 0.5 * sigma * sigma).exp(),
        }
    }

    /// The smallest value the distribution can give inside `[lo, hi]`.
    pub fn min_in(&self, lo: f64, hi: f64) -> f64 {
        match self {
            Dist::Const(c) => c.clamp(lo, hi),
            Dist::Random(Random::Uniform { min, .. }) => min.clamp(lo, hi),
            _ => lo,
        }
    }

    /// The largest value the distribution can give inside `[lo, hi]`.
    pub fn max_in(&self, lo: f64, hi: f64) -> f64 {
        match self {
            Dist::Const(c) => c.clamp(lo, hi),
            Dist::Random(Random::Uniform { max, .. }) => max.clamp(lo, hi),
            _ => hi,
        }
    }
}

/// Collects out-of-range and inconsistent values, each with the path of its field.
#[derive(Default)]
pub struct Checker {
    prefix: Vec<String>,
    pub errors: Vec<(String, String)>,
}

impl Checker {
    /// Runs `f` with `name` appended to the field path.
    pub fn within(&mut self, name: impl Into<String>, f: impl FnOnce(&mut Checker)) {
        self.prefix.push(name.into());
        f(self);
        self.prefix.pop();
    }

    /// The full path of `field` under the current prefix.
    pub fn path(&self, field: &str) -> String {
        let mut p = String::new();
        for s in self.prefix.iter().map(String::as_str).chain([field]) {
            if s.is_empty() {
                continue;
            }
            if !p.is_empty() && !s.starts_with('[') {
                p.push('.');
            }
            p.push_str(s);
        }
        p
    }

    /// Records an error on `field`.
    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        let path = self.path(field);
        self.errors.push((path, message.into()));
    }

    /// Checks `lo <= v <= hi` (and that `v` is finite); `unit` is shown in the message.
    pub fn range(&mut self, field: &str, v: f64, lo: f64, hi: f64, unit: &str) {
        if !(v.is_finite() && v >= lo && v <= hi) {
            let u = if unit.is_empty() {
                String::new()
            } else {
                format!(" {unit}")
            };
            self.fail(
                field,
                format!("{v}{u} is outside the valid range [{lo}, {hi}]{u}"),
            );
        }
    }

    /// Checks that `name` is a name (see [`is_name`]). Names become file and folder names
    /// (`out/<scene name>/`, `<recorder>.csv`) and CSV fields, so a name cannot be a path.
    pub fn name(&mut self, field: &str, name: &str) {
        if !is_name(name) {
            let shown: String = name.chars().take(NAME_MAX_LEN).collect();
            let more = if shown.len() < name.len() { "…" } else { "" };
            self.fail(
                field,
                format!(
                    "`{}{more}` is not a valid name: 1 to {NAME_MAX_LEN} characters, each an \
                     ASCII letter, digit, `_`, `-` or `.`, not starting with `.`",
                    shown.escape_debug()
                ),
            );
        }
    }

    /// Checks a distribution: its parameters must be finite and its support must meet `[lo, hi]`.
    pub fn dist(&mut self, field: &str, d: &Dist, lo: f64, hi: f64, unit: &str) {
        match d {
            Dist::Const(c) => self.range(field, *c, lo, hi, unit),
            Dist::Random(Random::Uniform { min, max }) => {
                self.range(&format!("{field}.min"), *min, lo, hi, unit);
                self.range(&format!("{field}.max"), *max, lo, hi, unit);
                if min > max {
                    self.fail(field, format!("min {min} is larger than max {max}"));
                }
            }
            Dist::Random(Random::Normal { mean, sd }) => {
                self.range(&format!("{field}.mean"), *mean, lo, hi, unit);
                self.range(&format!("{field}.sd"), *sd, 0.0, f64::MAX, unit);
            }
            Dist::Random(Random::LogNormal { mu, sigma }) => {
                self.range(&format!("{field}.mu"), *mu, -50.0, 50.0, "");
                self.range(&format!("{field}.sigma"), *sigma, 0.0, 10.0, "");
            }
        }
    }
}

/// The longest name, in characters.
pub const NAME_MAX_LEN: usize = 64;

/// Whether `s` is a name: 1 to [`NAME_MAX_LEN`] characters, each an ASCII letter, digit, `_`,
/// `-` or `.`, not starting with `.`. A name is then always one safe path component: never
/// empty, `.` or `..`, without `/`, `\`, quotes, newlines or NUL.
pub fn is_name(s: &str) -> bool {
    (1..=NAME_MAX_LEN).contains(&s.len())
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A parameter block that can check its own values.
pub trait Validate {
    fn validate(&self, c: &mut Checker);
}

/// A number with a declared valid range: an `f64`, or an `Option<f64>` left out by default
/// (checked when given). `edra::params!` checks its numbers through this.
pub trait Ranged {
    /// Records an error in `c` if the value is outside `[lo, hi]` or not finite.
    fn check_range(&self, c: &mut Checker, field: &str, lo: f64, hi: f64, unit: &str);
    /// The same check for a value being set at `at`.
    fn within(&self, at: At<'_>, lo: f64, hi: f64, unit: &str) -> Result<(), SetError>;
}

impl Ranged for f64 {
    fn check_range(&self, c: &mut Checker, field: &str, lo: f64, hi: f64, unit: &str) {
        c.range(field, *self, lo, hi, unit);
    }

    fn within(&self, at: At<'_>, lo: f64, hi: f64, unit: &str) -> Result<(), SetError> {
        match self.is_finite() && (lo..=hi).contains(self) {
            true => Ok(()),
            false => Err(at.outside(*self, lo, hi, unit)),
        }
    }
}

impl Ranged for Option<f64> {
    fn check_range(&self, c: &mut Checker, field: &str, lo: f64, hi: f64, unit: &str) {
        if let Some(v) = self {
            v.check_range(c, field, lo, hi, unit);
        }
    }

    fn within(&self, at: At<'_>, lo: f64, hi: f64, unit: &str) -> Result<(), SetError> {
        self.map_or(Ok(()), |v| v.within(at, lo, hi, unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_and_distributions_parse_from_ron() {
        let c: Dist = ron::from_str("0.5").unwrap();
        assert_eq!(c, Dist::Const(0.5));
        let u: Dist = ron::from_str("Uniform(min: 1.0, max: 2.0)").unwrap();
        assert_eq!(u, Dist::Random(Random::Uniform { min: 1.0, max: 2.0 }));
        let n: Dist = ron::from_str("Normal(mean: 1.0, sd: 0.5)").unwrap();
        assert!(matches!(n, Dist::Random(Random::Normal { .. })));
    }

    #[test]
    fn normal_is_clipped_to_the_valid_range() {
        let d = Dist::Random(Random::Normal {
            mean: 0.0,
            sd: 10.0,
        });
        for i in 0..1000 {
            let v = d.sample(3, i, 0, -1.0, 1.0);
            assert!((-1.0..=1.0).contains(&v));
        }
    }

    #[test]
    fn names_are_single_safe_path_components() {
        for ok in [
            "a",
            "exc_exc",
            "w2-izhikevich",
            "v1.2",
            "A9",
            &"x".repeat(64),
        ] {
            assert!(is_name(ok), "{ok:?} refused");
        }
        let long = "x".repeat(65);
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "../../x",
            "/tmp/anywhere",
            "a/b",
            "a\\b",
            "a b",
            "a\nb",
            "a\"b",
            "a\0b",
            "a,b",
            "é",
            &long,
        ] {
            assert!(!is_name(bad), "{bad:?} accepted");
        }
        let mut c = Checker::default();
        c.name("name", "a\nb");
        assert_eq!(c.errors[0].0, "name");
        assert!(c.errors[0].1.starts_with("`a\\nb` is not a valid name"));
    }

    #[test]
    fn checker_names_the_path() {
        let mut c = Checker::default();
        c.within("synapses", |c| {
            c.within("[2]", |c| c.range("tau_ms", -1.0, 0.0, 10.0, "ms"))
        });
        assert_eq!(c.errors[0].0, "synapses[2].tau_ms");
        assert!(c.errors[0].1.contains("[0, 10] ms"));
    }
}
