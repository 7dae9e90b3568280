//! Reading a run folder's outputs back: the spikes and the recorders' samples.
//!
//! Each reader is one function of the folder and reads whichever form `edra run` wrote: the
//! Parquet file if there is one (`--format parquet`), else the CSV.

use crate::core::error::{EdraError, Result};
use crate::front::web::data::Trace;
use std::path::{Path, PathBuf};

/// The samples of one recorder, as `edra run` wrote them: one row per sample and entity.
#[derive(Clone, Debug, PartialEq)]
pub struct RecorderTable {
    /// The header: `t_ms`, the id column (`synapse`, `neuron`, `region`, `astrocyte`), then
    /// one column per variable.
    pub header: Vec<String>,
    /// The rows, each `header.len()` values; NaN where a cell is empty (a variable the entity
    /// does not have).
    pub rows: Vec<Vec<f64>>,
}

impl RecorderTable {
    /// The recorded variables: the header past `t_ms` and the id column.
    pub fn variables(&self) -> &[String] {
        self.header.get(2..).unwrap_or(&[])
    }
}

/// The path of `file` in `dir`, refused (exit 2, naming the file) if it is not there.
pub fn needed(dir: &Path, file: &str) -> Result<PathBuf> {
    let path = dir.join(file);
    match path.is_file() {
        true => Ok(path),
        false => Err(missing(dir, file)),
    }
}

/// The refusal of a run folder `dir` without `file` (exit 2).
fn missing(dir: &Path, file: &str) -> EdraError {
    EdraError::Argument(format!(
        "{}: no {file} here, so this is not a complete run folder (`edra run SCENE --out DIR` \
         writes it)",
        dir.display()
    ))
}

/// The file of the table `stem` in `dir`: `<stem>.parquet` if there is one, else
/// `<stem>.csv`, refused (exit 2, naming the CSV) if neither is there.
pub fn table_file(dir: &Path, stem: &str) -> Result<PathBuf> {
    crate::assembly::output::table_path(dir, stem)
        .ok_or_else(|| missing(dir, &format!("{stem}.csv")))
}

/// The spikes of a run, from `dir/spikes.parquet` or `dir/spikes.csv`: (t in ms, neuron id),
/// in the file's order.
pub fn read_spikes(dir: &Path) -> Result<Vec<(f64, u32)>> {
    let path = table_file(dir, "spikes")?;
    if path.extension().is_some_and(|e| e == "parquet") {
        let (header, rows) = crate::front::web::data::parquet_rows(&path)?;
        if header != ["t_ms", "neuron"] {
            let m = format!(
                "the columns must be `t_ms,neuron`, not `{}`",
                header.join(",")
            );
            return Err(bad(&path, 0, m));
        }
        return Ok(rows.iter().map(|r| (r[0], r[1] as u32)).collect());
    }
    let (header, rows) = csv_table(&path)?;
    if header != ["t_ms", "neuron"] {
        let m = format!(
            "the header must be `t_ms,neuron`, not `{}`",
            header.join(",")
        );
        return Err(bad(&path, 1, m));
    }
    let mut spikes = Vec::with_capacity(rows.len());
    for (line, fields) in rows {
        let t = number(&path, line, &fields[0])?;
        let id = fields[1]
            .parse::<u32>()
            .map_err(|_| bad(&path, line, format!("`{}` is not a neuron id", fields[1])))?;
        spikes.push((t, id));
    }
    Ok(spikes)
}

/// The samples of the recorder `name`, from `dir/<name>.parquet` or `dir/<name>.csv` (read as
/// `edra report` reads them, [`Trace::from_run_folder`]).
pub fn read_recorder(dir: &Path, name: &str) -> Result<RecorderTable> {
    let Some(t) = Trace::from_run_folder(name, dir)? else {
        return Err(missing(dir, &format!("{name}.csv")));
    };
    let header = ["t_ms".to_string(), t.id_column]
        .into_iter()
        .chain(t.columns)
        .collect();
    Ok(RecorderTable {
        header,
        rows: t.rows,
    })
}

/// A CSV's header and its data rows (each as many fields as the header), with their 1-based
/// line numbers.
type Lines = Vec<(usize, Vec<String>)>;

fn csv_table(path: &Path) -> Result<(Vec<String>, Lines)> {
    let text = read_text(path)?;
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap_or("")
        .split(',')
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for (i, l) in lines.enumerate().filter(|(_, l)| !l.is_empty()) {
        let fields: Vec<String> = l.split(',').map(str::to_string).collect();
        if fields.len() != header.len() {
            let m = format!("{} fields, the header has {}", fields.len(), header.len());
            return Err(bad(path, i + 2, m));
        }
        rows.push((i + 2, fields));
    }
    Ok((header, rows))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| EdraError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn number(path: &Path, line: usize, field: &str) -> Result<f64> {
    field
        .parse::<f64>()
        .map_err(|_| bad(path, line, format!("`{field}` is not a number")))
}

/// A malformed line of an output file (exit 2: the input is wrong, not edra).
fn bad(path: &Path, line: usize, message: String) -> EdraError {
    EdraError::Argument(format!("{}:{line}: {message}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "edra-nwb-read-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn spikes_are_read_in_order() {
        let dir = folder(&[("spikes.csv", "t_ms,neuron\n11,34\n11.5,2\n")]);
        assert_eq!(read_spikes(&dir).unwrap(), vec![(11.0, 34), (11.5, 2)]);
    }

    #[test]
    fn a_recorder_keeps_its_header_and_empty_cells_become_nan() {
        let csv = "t_ms,synapse,rho,w_mv\n1,0,,6\n1,4,0.5,5.9917\n";
        let dir = folder(&[("exc.csv", csv)]);
        let t = read_recorder(&dir, "exc").unwrap();
        assert_eq!(t.header, ["t_ms", "synapse", "rho", "w_mv"]);
        assert_eq!(t.variables(), ["rho", "w_mv"]);
        assert!(t.rows[0][2].is_nan());
        assert_eq!(t.rows[1], [1.0, 4.0, 0.5, 5.9917]);
    }

    #[test]
    fn a_missing_file_is_named() {
        let dir = folder(&[]);
        let e = read_spikes(&dir).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("no spikes.csv"), "{e}");
        let e = read_recorder(&dir, "neurons").unwrap_err();
        assert!(e.to_string().contains("no neurons.csv"), "{e}");
    }

    #[test]
    fn malformed_lines_are_located() {
        let dir = folder(&[("spikes.csv", "t_ms,neuron\n1,x\n")]);
        let e = read_spikes(&dir).unwrap_err().to_string();
        assert!(e.contains("spikes.csv:2") && e.contains("`x`"), "{e}");
        let dir = folder(&[("r.csv", "t_ms,neuron,v_mv\n1,0\n")]);
        let e = read_recorder(&dir, "r").unwrap_err().to_string();
        assert!(e.contains("r.csv:2") && e.contains("2 fields"), "{e}");
    }
}
