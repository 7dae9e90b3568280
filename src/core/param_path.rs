//! Setting one parameter by its path (`rule.a_plus`), for sweeps and timed parameter changes.
//!
//! Every block that holds parameters implements [`SetPath`]: a block declared with
//! `edra::params!` sets its own fields by name and checks each against its declared range and
//! unit; a group or a model lists its settable fields with [`settable!`](crate::settable!) or
//! matches its variants by hand. The value never goes through scene text: a path walks the typed
//! blocks down to one `f64`, whole number or `bool`.
//!
//! A path is field names joined by `.`, with `[i]` for an element of a list
//! (`model.times_ms[2]`). An enum's variant may be named or left out: `rule.a_plus` and
//! `rule.PairStdp.a_plus` are the same field.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A value a parameter path can be set to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Number(f64),
}

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Number(v)
    }
}

impl std::fmt::Display for ParamValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamValue::Bool(b) => write!(f, "{b}"),
            ParamValue::Number(v) => write!(f, "{v}"),
        }
    }
}

/// Why a parameter could not be set.
#[derive(Clone, Debug, PartialEq)]
pub enum SetError {
    /// The path names no parameter that can be set.
    Path(String),
    /// The parameter exists but cannot take the value.
    Value(String),
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::Path(m) | SetError::Value(m) => write!(f, "{m}"),
        }
    }
}

impl From<SetError> for String {
    fn from(e: SetError) -> String {
        e.to_string()
    }
}

/// Splits `synapses.exc.rule.a_plus` into (`synapses`, `exc`, `rule.a_plus`).
pub fn split(path: &str) -> Result<(&str, &str, &str), String> {
    let mut it = path.splitn(3, '.');
    match (it.next(), it.next(), it.next()) {
        (Some(k), Some(g), Some(f)) if !f.is_empty() => Ok((k, g, f)),
        _ => Err(format!(
            "`{path}` is not a parameter path (expected e.g. synapses.<group>.rule.a_plus)"
        )),
    }
}

/// Sets `field` (a path inside `spec`) to `value`, checked against its declared range.
pub fn set_field<T: SetPath + ?Sized>(
    spec: &mut T,
    field: &str,
    value: &ParamValue,
) -> Result<(), SetError> {
    set_path(spec, At::new(field), value)
}

/// Sets the parameter at `at` (a path inside `spec`) to `value`.
pub fn set_path<T: SetPath + ?Sized>(
    spec: &mut T,
    at: At<'_>,
    value: &ParamValue,
) -> Result<(), SetError> {
    if at.path() == "name" {
        return Err(SetError::Path("a group's name cannot be changed".into()));
    }
    spec.set_at(at, value)
}

/// A place in a parameter path: the whole path, for messages, and the part still to walk.
#[derive(Clone, Copy, Debug)]
pub struct At<'a> {
    full: &'a str,
    rest: &'a str,
    checked: bool,
}

impl<'a> At<'a> {
    pub fn new(path: &'a str) -> Self {
        At {
            full: path,
            rest: path,
            checked: true,
        }
    }

    /// A path whose value skips the declared range checks (the kind of value is still
    /// checked): to ask what else a change would do before reporting its range.
    pub fn unchecked(path: &'a str) -> Self {
        At {
            checked: false,
            ..At::new(path)
        }
    }

    /// Whether declared ranges are checked.
    pub fn checked(self) -> bool {
        self.checked
    }

    /// The next segment (a field name, or `[i]` for a list element) and the place after it;
    /// `None` at the end of the path.
    pub fn next(self) -> Option<(&'a str, At<'a>)> {
        if self.rest.is_empty() {
            return None;
        }
        let end = match self.rest.strip_prefix('[') {
            Some(r) => r.find(']').map_or(self.rest.len(), |i| i + 2),
            None => self.rest.find(['.', '[']).unwrap_or(self.rest.len()),
        };
        let (seg, rest) = self.rest.split_at(end);
        let rest = rest.strip_prefix('.').unwrap_or(rest);
        Some((seg, At { rest, ..self }))
    }

    /// The place after the variant `name`, when the path names it (`rule.PairStdp.a_plus`).
    pub fn variant(self, name: &str) -> Self {
        match self.next() {
            Some((seg, after)) if seg == name => after,
            _ => self,
        }
    }

    /// The whole path, for messages.
    pub fn path(self) -> &'a str {
        self.full
    }

    /// Whether the whole path has been walked.
    pub fn is_end(self) -> bool {
        self.rest.is_empty()
    }

    /// The part of the path walked so far.
    fn walked(self) -> &'a str {
        let n = self.full.len() - self.rest.len();
        self.full[..n].trim_end_matches('.')
    }

    /// The path names nothing here; `fields` are what it could name.
    pub fn no_such(self, fields: &[&str]) -> SetError {
        let mut m = format!("no parameter `{}`", self.full);
        if !fields.is_empty() {
            let inside = match self.walked() {
                "" => String::new(),
                w => format!(" in `{w}`"),
            };
            m += &format!(" (the parameters{inside} are: {})", fields.join(", "));
        }
        SetError::Path(m)
    }

    /// The path ends at a block, not at one value.
    pub fn not_a_value(self) -> SetError {
        SetError::Path(format!(
            "`{}` is not a number or a boolean that can be set; name one of its fields",
            self.full
        ))
    }

    /// A value of the wrong kind for the parameter here (the caller names the parameter).
    pub fn wrong(self, what: &str, value: &ParamValue) -> SetError {
        SetError::Value(format!("takes {what}, not {value}"))
    }

    /// The value is outside the parameter's declared range (the caller names the parameter).
    pub fn outside(self, v: f64, min: f64, max: f64, unit: &str) -> SetError {
        let u = match unit {
            "" => String::new(),
            u => format!(" {u}"),
        };
        SetError::Value(format!(
            "{v}{u} is outside the valid range [{min}, {max}]{u}"
        ))
    }
}

/// A block whose parameters can be set by path.
pub trait SetPath {
    /// Sets the parameter at `at` (relative to `self`) to `value`.
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError>;
}

/// Sets the field the next segment of `at` names, out of `fields` (name, field): the body of a
/// struct's [`SetPath`] (see [`settable!`](crate::settable!)) and of an enum's struct variants.
pub fn set_in(
    at: At<'_>,
    value: &ParamValue,
    fields: &mut [(&str, &mut dyn SetPath)],
) -> Result<(), SetError> {
    let Some((seg, after)) = at.next() else {
        return Err(at.not_a_value());
    };
    match fields.iter_mut().find(|(name, _)| *name == seg) {
        Some((_, field)) => field.set_at(after, value),
        None => Err(at.no_such(&fields.iter().map(|f| f.0).collect::<Vec<_>>())),
    }
}

/// Implements [`SetPath`] for a struct by listing the fields a path may name; fields left out
/// (names, references to other groups) are not parameters.
///
/// ```
/// #[derive(Default)]
/// struct Kick { rate_hz: f64, amplitude: f64, label: String }
/// edra::settable!(Kick { rate_hz, amplitude });
/// let mut k = Kick::default();
/// edra::core::param_path::set_field(&mut k, "rate_hz", &5.0.into()).unwrap();
/// assert_eq!(k.rate_hz, 5.0);
/// ```
#[macro_export]
macro_rules! settable {
    ($ty:ty { $($field:ident),* $(,)? }) => {
        impl $crate::core::param_path::SetPath for $ty {
            fn set_at(
                &mut self,
                at: $crate::core::param_path::At<'_>,
                value: &$crate::core::param_path::ParamValue,
            ) -> Result<(), $crate::core::param_path::SetError> {
                $crate::core::param_path::set_in(
                    at,
                    value,
                    &mut [$((stringify!($field), &mut self.$field),)*],
                )
            }
        }
    };
}

impl SetPath for f64 {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match (at.is_end(), value) {
            (false, _) => Err(at.no_such(&[])),
            (true, ParamValue::Number(v)) if v.is_finite() => {
                *self = *v;
                Ok(())
            }
            (true, v) => Err(at.wrong("a finite number", v)),
        }
    }
}

impl SetPath for bool {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match (at.is_end(), value) {
            (false, _) => Err(at.no_such(&[])),
            (true, ParamValue::Bool(b)) => {
                *self = *b;
                Ok(())
            }
            (true, v) => Err(at.wrong("true or false", v)),
        }
    }
}

impl SetPath for u32 {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match (at.is_end(), value) {
            (false, _) => Err(at.no_such(&[])),
            (true, ParamValue::Number(v))
                if v.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(v) =>
            {
                *self = *v as u32;
                Ok(())
            }
            (true, v) => Err(at.wrong(&format!("a whole number from 0 to {}", u32::MAX), v)),
        }
    }
}

/// Text (a name, a reference to another group) is not a parameter.
impl SetPath for String {
    fn set_at(&mut self, at: At<'_>, _: &ParamValue) -> Result<(), SetError> {
        Err(SetError::Path(format!(
            "`{}` is text, not a number or a boolean that can be set",
            at.full
        )))
    }
}

/// A block a group may leave out: set only where the scene wrote it.
impl<T: SetPath> SetPath for Option<T> {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        match self {
            Some(t) => t.set_at(at, value),
            None => Err(SetError::Path(format!(
                "`{}` is not set in this group (`{}` is left out of the scene); write it in the \
                 scene to change it",
                at.full,
                at.walked()
            ))),
        }
    }
}

/// A list: `[i]` names its element i.
impl<T: SetPath> SetPath for Vec<T> {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        let Some((seg, after)) = at.next() else {
            return Err(at.not_a_value());
        };
        let n = self.len();
        let i = seg
            .strip_prefix('[')
            .and_then(|s| s.strip_suffix(']'))
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|i| *i < n)
            .ok_or_else(|| {
                SetError::Path(format!(
                    "no parameter `{}`: `{}` is a list of {n}, indexed [0] to [{}]",
                    at.full,
                    at.walked(),
                    n.saturating_sub(1)
                ))
            })?;
        self[i].set_at(after, value)
    }
}

/// The parameters of a registered stage as the scene wrote them (`()` for the defaults): the
/// stage's own declaration checks them with the group.
impl SetPath for ron::Value {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        let Some((seg, after)) = at.next() else {
            return match (&*self, value) {
                (ron::Value::Number(_), ParamValue::Number(v)) if v.is_finite() => {
                    *self = ron::Value::from(*v);
                    Ok(())
                }
                (ron::Value::Bool(_), ParamValue::Bool(b)) => {
                    *self = ron::Value::Bool(*b);
                    Ok(())
                }
                (ron::Value::Number(_) | ron::Value::Bool(_), v) => {
                    Err(at.wrong("a value of its own kind", v))
                }
                _ => Err(at.not_a_value()),
            };
        };
        if matches!(self, ron::Value::Unit) {
            *self = ron::Value::Map(ron::Map::new());
        }
        let ron::Value::Map(map) = self else {
            return Err(at.no_such(&[]));
        };
        let key = ron::Value::from(seg);
        if !after.is_end() && map.get(&key).is_none() {
            return Err(at.no_such(&[]));
        }
        // A field the scene left at its default: the stage's check refuses a name it lacks.
        let entry = match map.get_mut(&key) {
            Some(v) => v,
            None => {
                let fresh = match value {
                    ParamValue::Bool(b) => ron::Value::Bool(*b),
                    ParamValue::Number(_) => ron::Value::from(0.0),
                };
                map.insert(key.clone(), fresh);
                map.get_mut(&key).expect("just inserted")
            }
        };
        entry.set_at(after, value)
    }
}

/// A group's registered stages by name.
impl SetPath for BTreeMap<String, ron::Value> {
    fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
        let Some((seg, after)) = at.next() else {
            return Err(at.not_a_value());
        };
        match self.get_mut(seg) {
            Some(v) => v.set_at(after, value),
            None => Err(at.no_such(&self.keys().map(|k| k.as_str()).collect::<Vec<_>>())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, PartialEq)]
    struct Kick {
        rate_hz: f64,
        count: u32,
        on: bool,
        times_ms: Vec<f64>,
        inner: Option<Box<Kick>>,
        label: String,
    }
    crate::settable!(Kick {
        rate_hz,
        count,
        on,
        times_ms,
        inner,
        label
    });

    impl<T: SetPath> SetPath for Box<T> {
        fn set_at(&mut self, at: At<'_>, value: &ParamValue) -> Result<(), SetError> {
            (**self).set_at(at, value)
        }
    }

    #[test]
    fn a_path_walks_fields_lists_and_options_to_one_value() {
        let mut k = Kick {
            times_ms: vec![1.0, 2.0],
            inner: Some(Box::default()),
            ..Kick::default()
        };
        set_field(&mut k, "times_ms[1]", &5.0.into()).unwrap();
        set_field(&mut k, "inner.rate_hz", &3.0.into()).unwrap();
        set_field(&mut k, "count", &7.0.into()).unwrap();
        set_field(&mut k, "on", &ParamValue::Bool(true)).unwrap();
        assert_eq!(k.times_ms, [1.0, 5.0]);
        assert_eq!(k.inner.as_ref().unwrap().rate_hz, 3.0);
        assert_eq!((k.count, k.on), (7, true));
        let err = |k: &mut Kick, p: &str, v: ParamValue| set_field(k, p, &v).unwrap_err();
        let path = |e: SetError| matches!(e, SetError::Path(_));
        assert!(path(err(&mut k, "times_ms[2]", 1.0.into())));
        assert!(path(err(&mut k, "label", 1.0.into())));
        assert!(path(err(&mut k, "inner", 1.0.into())));
        assert!(path(err(&mut k, "rate_hz.x", 1.0.into())));
        assert!(path(err(&mut k, "inner.inner.rate_hz", 1.0.into())));
        assert!(
            err(&mut k, "nope", 1.0.into())
                .to_string()
                .contains("rate_hz, count")
        );
        for (p, v) in [
            ("count", 7.5.into()),
            ("count", (-1.0).into()),
            ("on", 1.0.into()),
            ("rate_hz", ParamValue::Bool(true)),
            ("rate_hz", f64::NAN.into()),
        ] {
            assert!(matches!(err(&mut k, p, v), SetError::Value(_)), "{p}");
        }
    }
}
