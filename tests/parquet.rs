//! `edra run --format parquet` (issue 14): the same scene run once as CSV and once as Parquet
//! gives the same tables. Every Parquet value, printed as the CSV prints its type, is the CSV's
//! text (a null is the empty field); every quantity column has its unit in the Arrow field
//! metadata, and every file has the run summary in its key-value metadata. Recorders streamed
//! in chunks of 7 rows give many row groups and the same values; `edra report` reads either
//! folder and finds the same traces.

mod common;
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, UInt16Type, UInt32Type};
use arrow_array::{Array, RecordBatchReader};
use arrow_schema::DataType;
use common::*;
use edra::assembly::parquet::{SUMMARY_KEY, UNIT_KEY};
use edra::output::RunSummary;
use edra::web::data::Trace;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::path::Path;
use std::process::Command;

const TABLES: [&str; 6] = [
    "synapses",
    "spikes",
    "exc_synapses",
    "dopamine",
    "astrocytes",
    "neurons",
];

/// Columns that name or count entities, without a unit.
const ID_COLUMNS: [&str; 8] = [
    "id",
    "group",
    "pre",
    "post",
    "synapse",
    "neuron",
    "region",
    "astrocyte",
];

/// Runs `scenes/population.ron` for 300 ms into `out` in `format`, with recorder chunks of
/// `chunk_rows` rows if given.
fn run(out: &Path, format: &str, chunk_rows: Option<&str>) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_edra"));
    c.args(["run", "scenes/population.ron", "--duration-ms", "300"])
        .args(["--threads", "1", "--format", format, "--out"])
        .arg(out)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(n) = chunk_rows {
        c.env("EDRA_RECORDER_CHUNK_ROWS", n);
    }
    let o = c.output().expect("edra runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Value `i` of column `c` as the CSV prints it: `{}` of its type, empty for a null.
fn text(c: &dyn Array, i: usize) -> String {
    if c.is_null(i) {
        return String::new();
    }
    match c.data_type() {
        DataType::Float64 => c.as_primitive::<Float64Type>().value(i).to_string(),
        DataType::Float32 => c.as_primitive::<Float32Type>().value(i).to_string(),
        DataType::UInt32 => c.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt16 => c.as_primitive::<UInt16Type>().value(i).to_string(),
        DataType::Utf8 => c.as_string::<i32>().value(i).to_string(),
        t => panic!("unexpected column type {t}"),
    }
}

/// A Parquet file as the CSV would print it: the column names and each row's fields.
fn as_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let header = reader
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        for i in 0..batch.num_rows() {
            rows.push(batch.columns().iter().map(|c| text(c, i)).collect());
        }
    }
    (header, rows)
}

/// Checks that `parquet_dir`'s tables print as the CSVs of `csv_dir`.
fn same_tables(csv_dir: &Path, parquet_dir: &Path) {
    for t in TABLES {
        let (h, rows) = read_csv(&csv_dir.join(format!("{t}.csv")));
        let (ph, prows) = as_csv(&parquet_dir.join(format!("{t}.parquet")));
        assert_eq!(ph, h, "{t}: columns");
        assert!(!rows.is_empty(), "{t}: no rows");
        assert_eq!(prows.len(), rows.len(), "{t}: rows");
        for (k, (p, c)) in prows.iter().zip(&rows).enumerate() {
            assert_eq!(p, c, "{t}: row {k}");
        }
    }
}

/// The units of a file's columns (`None`: no unit) and its summary.
fn metadata(path: &Path) -> (Vec<(String, Option<String>)>, RunSummary, usize) {
    let file = std::fs::File::open(path).unwrap();
    let b = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let units = b
        .schema()
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.metadata().get(UNIT_KEY).cloned()))
        .collect();
    let kv = b.metadata().file_metadata().key_value_metadata().unwrap();
    let json = kv.iter().find(|kv| kv.key == SUMMARY_KEY).unwrap();
    let summary = serde_json::from_str(json.value.as_deref().unwrap()).unwrap();
    (units, summary, b.metadata().num_row_groups())
}

/// A CSV run and a Parquet run of the population scene have the same tables, value for value;
/// the Parquet files carry units and the summary of `summary.ron`.
#[test]
fn parquet_tables_are_the_csv_tables_with_units_and_summary() {
    let dir = scratch("parquet-tables");
    let (csv, pq) = (dir.join("csv"), dir.join("pq"));
    run(&csv, "csv", None);
    run(&pq, "parquet", None);
    same_tables(&csv, &pq);
    let text = String::from_utf8(read(&pq.join("summary.ron"))).unwrap();
    let summary: RunSummary = ron::from_str(&text).unwrap();
    for t in TABLES {
        let path = pq.join(format!("{t}.parquet"));
        let (units, mut s, _) = metadata(&path);
        // summary.ron's text (RON) may round the rate's last digit differently from JSON.
        let rel = (s.synapse_steps_per_s / summary.synapse_steps_per_s - 1.0).abs();
        assert!(rel < 1e-12, "{t}: {s:?}");
        s.synapse_steps_per_s = summary.synapse_steps_per_s;
        assert_eq!(s, summary, "{t}: summary");
        for (name, unit) in units {
            let id = ID_COLUMNS.contains(&name.as_str());
            assert_eq!(unit.is_none(), id, "{t}.{name}: unit {unit:?}");
        }
        assert!(!csv.join(format!("{t}.parquet")).exists());
        assert!(!pq.join(format!("{t}.csv")).exists());
    }
    let (units, _, _) = metadata(&pq.join("synapses.parquet"));
    let unit = |n: &str| units.iter().find(|u| u.0 == n).unwrap().1.clone().unwrap();
    assert_eq!(
        [
            unit("ca_um"),
            unit("w_mv"),
            unit("z"),
            unit("axonal_delay_steps")
        ],
        ["µM", "mV", "1", "steps"]
    );
    let (units, _, _) = metadata(&pq.join("astrocytes.parquet"));
    assert_eq!(units[0].1.as_deref(), Some("ms"));
    assert_eq!(units[3].1.as_deref(), Some("Hz·s"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Recorders streamed in chunks of 7 rows: one row group per chunk, never more rows than a
/// chunk (or one sample) holds, and the same values as the CSV run; `edra report` reads the
/// Parquet folder and its traces are the CSV folder's.
#[test]
fn streamed_parquet_recorders_are_row_groups_of_a_chunk() {
    let dir = scratch("parquet-stream");
    let (csv, pq) = (dir.join("csv"), dir.join("pq"));
    run(&csv, "csv", Some("7"));
    run(&pq, "parquet", Some("7"));
    same_tables(&csv, &pq);
    // (recorder, entities per sample) of the population scene.
    for (name, entities) in [
        ("exc_synapses", 3),
        ("dopamine", 1),
        ("astrocytes", 8),
        ("neurons", 2),
    ] {
        let path = pq.join(format!("{name}.parquet"));
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata();
        let most = (7 / entities).max(1) * entities;
        let rows: Vec<i64> = meta.row_groups().iter().map(|g| g.num_rows()).collect();
        assert!(rows.iter().all(|&n| n as usize <= most), "{name}: {rows:?}");
        let total: i64 = rows.iter().sum();
        assert!(rows.len() as i64 >= total / most as i64, "{name}: {rows:?}");
        let a = Trace::from_run_folder(name, &pq).unwrap().unwrap();
        let b = Trace::from_run_folder(name, &csv).unwrap().unwrap();
        // As text, so that NaN (a variable not had) equals NaN.
        assert!(
            format!("{a:?}") == format!("{b:?}"),
            "{name}: traces differ"
        );
        assert!(a.rows.len() > 10, "{name}: {} rows", a.rows.len());
    }
    let (_, _, groups) = metadata(&pq.join("neurons.parquet"));
    assert!(groups >= 80, "neurons: {groups} row groups");
    edra_ok(&["report", pq.to_str().unwrap()]);
    edra_ok(&["report", csv.to_str().unwrap()]);
    let page = |d: &Path| String::from_utf8(read(&d.join("report.html"))).unwrap();
    let (a, b) = (page(&pq), page(&csv));
    // The pages differ only in the summary's wall time and rate.
    let plots = |p: &str| p[p.find("id=\"population\"").unwrap()..].to_string();
    assert_eq!(plots(&a), plots(&b));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An unknown format is refused by the argument parser: exit 2, the choices named.
#[test]
fn an_unknown_format_is_refused() {
    let o = edra(&["run", "scenes/single_synapse.ron", "--format", "xml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("csv") && err.contains("parquet"), "{err}");
}

/// A Parquet run's folder holds the binary checkpoint (`checkpoint.ckpt`, no `checkpoint.ron`);
/// continued from it, the run ends with the same bytes as one that never stopped.
#[test]
fn a_parquet_run_resumes_from_its_binary_checkpoint_to_the_same_bits() {
    let dir = scratch("parquet-resume");
    let (full, half, rest) = (dir.join("full"), dir.join("half"), dir.join("rest"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let scene = "scenes/population.ron";
    edra_ok(&["run", scene, "--out", &s(&full), "--duration-ms", "300"]);
    let half_args = ["--duration-ms", "150", "--format", "parquet"];
    edra_ok(&[&["run", scene, "--out", &s(&half)][..], &half_args].concat());
    assert!(half.join("checkpoint.ckpt").is_file() && !half.join("checkpoint.ron").exists());
    let ckpt = s(&half.join("checkpoint.ckpt"));
    edra_ok(&["run", &ckpt, "--out", &s(&rest), "--duration-ms", "300"]);
    for f in ["synapses.csv", "checkpoint.ron"] {
        assert!(
            read(&full.join(f)) == read(&rest.join(f)),
            "{f}: continued from the binary checkpoint, the run differs"
        );
    }
}
