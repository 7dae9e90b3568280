//! Errors a user sees: where, what, and what was expected.

use std::fmt;
use std::path::PathBuf;

/// A position in a scene file (1-based line and column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub col: usize,
}

/// Everything that can go wrong loading or running a scene.
#[derive(Debug)]
pub enum EdraError {
    /// The scene file could not be read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The scene is not valid RON for edra's schema, or a value is out of range, or a name is
    /// unknown. `field` is the path of the offending field (`synapses[0].rule.tau_plus_ms`).
    Scene {
        file: String,
        pos: Option<Position>,
        field: String,
        message: String,
    },
    /// A state variable became NaN or infinite during a run.
    NonFinite {
        entity: String,
        variable: &'static str,
        value: f32,
        t_ms: f64,
    },
    /// A command-line value that is refused before any work (exit code 2, as a scene is).
    Argument(String),
    /// Anything else (an output directory that cannot be written, a synapse id not in the run).
    Other(String),
}

impl EdraError {
    pub fn other(msg: impl Into<String>) -> Self {
        EdraError::Other(msg.into())
    }
}

impl fmt::Display for EdraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdraError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            EdraError::Scene {
                file,
                pos,
                field,
                message,
            } => {
                match pos {
                    Some(p) => write!(f, "{file}:{}:{}: ", p.line, p.col)?,
                    None => write!(f, "{file}: ")?,
                }
                if field.is_empty() {
                    write!(f, "{message}")
                } else {
                    write!(f, "field `{field}`: {message}")
                }
            }
            EdraError::NonFinite {
                entity,
                variable,
                value,
                t_ms,
            } => write!(
                f,
                "{entity}: `{variable}` became {value} at t = {t_ms} ms; the run was stopped \
                 (check the parameters of its group, or lower dt_ms)"
            ),
            EdraError::Argument(m) | EdraError::Other(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for EdraError {}

pub type Result<T, E = EdraError> = std::result::Result<T, E>;
