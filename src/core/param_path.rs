//! Setting one field of a parameter block by its path (`rule.a_plus`), for sweeps and timed
//! parameter changes: the block is written to RON, the value replaced at the field's position
//! ([`super::locate`]) and the text read back into the typed block, so the new value goes
//! through the same parsing and checks as the scene itself.

use super::locate::{locate, parse_path};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

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

/// Sets `field` (a path inside `spec`) to `value`.
pub fn set_field<T: Serialize + DeserializeOwned>(
    spec: &mut T,
    field: &str,
    value: &ParamValue,
) -> Result<(), SetError> {
    use SetError::{Path, Value};
    if field == "name" {
        return Err(Path("a group's name cannot be changed".into()));
    }
    let text = ron::to_string(spec).map_err(|e| Path(e.to_string()))?;
    let range =
        locate(&text, &parse_path(field)).ok_or_else(|| Path(format!("no parameter `{field}`")))?;
    let old = &text[range.clone()];
    let numeric = |s: &str| s.parse::<f64>().is_ok();
    let new = match value {
        ParamValue::Bool(b) if old == "true" || old == "false" => b.to_string(),
        ParamValue::Number(v) if numeric(old) => {
            let integral = !old.contains(['.', 'e', 'E']);
            if integral {
                if v.fract() != 0.0 {
                    return Err(Value(format!("`{field}` takes a whole number, not {v}")));
                }
                format!("{}", *v as i64)
            } else {
                format!("{v:?}")
            }
        }
        _ if numeric(old) || old == "true" || old == "false" => {
            return Err(Value(format!(
                "`{field}` is `{old}`, which cannot be set to {value}"
            )));
        }
        _ => {
            return Err(Path(format!(
                "`{field}` is `{old}`, not a number or a boolean that can be set"
            )));
        }
    };
    let spliced = format!("{}{}{}", &text[..range.start], new, &text[range.end..]);
    *spec = ron::from_str(&spliced).map_err(|e| Value(format!("`{field}` = {value}: {e}")))?;
    Ok(())
}
