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
    /// The scene file (or another input) could not be read.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An output could not be written (a full disk, a folder without write permission, a run
    /// folder another run holds).
    Output {
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
    /// The run was stopped by SIGINT or SIGTERM at `t_ms` after writing its outputs so far;
    /// `checkpoint` continues it.
    Interrupted { t_ms: f64, checkpoint: PathBuf },
    /// A command-line value that is refused before any work (exit code 2, as a scene is).
    Argument(String),
    /// An error of one rank of a run shared among several (MPI), which every rank returns
    /// alike: the lowest failing rank, its error's message and exit code.
    OnRank {
        rank: usize,
        code: u8,
        message: String,
    },
    /// Anything else (a synapse id not in the run).
    Other(String),
}

impl EdraError {
    pub fn other(msg: impl Into<String>) -> Self {
        EdraError::Other(msg.into())
    }

    /// The exit code of the `edra` command for this error: 2 refused input (the scene, its file,
    /// a checkpoint), 3 an output could not be written, 4 the run went non-finite and was
    /// stopped, 5 interrupted by a signal (outputs so far written), 1 anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            EdraError::Scene { .. } | EdraError::Io { .. } | EdraError::Argument(_) => 2,
            EdraError::Output { .. } => 3,
            EdraError::NonFinite { .. } => 4,
            EdraError::Interrupted { .. } => 5,
            EdraError::OnRank { code, .. } => *code,
            EdraError::Other(_) => 1,
        }
    }
}

impl fmt::Display for EdraError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdraError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            EdraError::Output { path, source } => {
                write!(f, "{}: could not write: {source}", path.display())
            }
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
            EdraError::Interrupted { t_ms, checkpoint } => write!(
                f,
                "interrupted at t = {t_ms} ms; the outputs up to then are written, and \
                 `edra run {}` continues the run",
                checkpoint.display()
            ),
            EdraError::OnRank { rank, message, .. } => write!(f, "{message} (rank {rank})"),
            EdraError::Argument(m) | EdraError::Other(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for EdraError {}

pub type Result<T, E = EdraError> = std::result::Result<T, E>;
