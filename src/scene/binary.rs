//! The binary checkpoint: the same content as a RON checkpoint (the scene and its complete
//! [`State`]), with the state's columns stored as raw little-endian arrays, so that writing and
//! reading 10^6 synapses takes a fraction of a second instead of seconds of text.
//!
//! Layout (version 1), every integer little-endian:
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `EDRACKPT` |
//! | 4 | format version (`u32`, [`VERSION`]) |
//! | 8 + n | header length (`u64`) and header: the checkpoint as RON text, with every column empty |
//! | … | columns, each: name length (`u16`, > 0), name (UTF-8), type code (`u8`, [`ColumnType`]), value count (`u64`), zero padding to a multiple of 8 from the start of the file, the values, zero padding to a multiple of 8 |
//! | 2 | end of columns: a name length of 0 |
//! | 4 + 8 | CRC-32 (IEEE) of every byte before it, and `EDRAEND\0` |
//!
//! Columns are named as the fields of [`State`] (`synapses.w_mv`, `neurons.protein`,
//! `synapses.registered.camkii`, `spike_history`); a column the header's version of edra does
//! not know is refused, and one that is absent stays empty, as an absent field of a RON
//! checkpoint does. The values are aligned to 8 bytes so that a reader may map them in place.

use crate::scene::column::Col;
use crate::scene::state::State;
use std::io::{self, Read, Write};
use std::sync::Arc;

/// The first 8 bytes of a binary checkpoint.
pub const MAGIC: &[u8; 8] = b"EDRACKPT";
/// The last 8 bytes.
pub const END: &[u8; 8] = b"EDRAEND\0";
/// The layout version this edra writes and reads.
pub const VERSION: u32 = 1;
/// The longest column name, bytes.
const MAX_NAME: usize = 256;

// The columns are written as the machine holds them; edra's targets are little-endian.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "the binary checkpoint is written little-endian"
);

/// Whether `bytes` (the start of a file) are those of a binary checkpoint.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

/// The type code of a column's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ColumnType {
    U8 = 1,
    U16 = 2,
    U32 = 3,
    U64 = 4,
    I64 = 5,
    F32 = 6,
    F64 = 7,
    /// Stored as one byte, 0 or 1.
    Bool = 8,
}

impl ColumnType {
    fn from_code(c: u8) -> Option<ColumnType> {
        use ColumnType::*;
        [U8, U16, U32, U64, I64, F32, F64, Bool]
            .into_iter()
            .find(|t| *t as u8 == c)
    }

    /// Bytes per value.
    pub fn size(self) -> u64 {
        use ColumnType::*;
        match self {
            U8 | Bool => 1,
            U16 => 2,
            U32 | F32 => 4,
            U64 | I64 | F64 => 8,
        }
    }
}

/// Writes a binary checkpoint: the header, then the columns one at a time (so that a caller
/// can produce each column only when it is written, even a piece at a time), then the checksum.
pub struct Writer<W: Write> {
    out: W,
    crc: crc32fast::Hasher,
    pos: u64,
    /// Bytes of values the column begun last still expects.
    owed: u64,
}

impl<W: Write> Writer<W> {
    /// Starts a checkpoint whose header is `header` (RON text, every column empty).
    pub fn new(out: W, header: &str) -> io::Result<Self> {
        let mut w = Writer {
            out,
            crc: crc32fast::Hasher::new(),
            pos: 0,
            owed: 0,
        };
        w.put(MAGIC)?;
        w.put(&VERSION.to_le_bytes())?;
        w.put(&(header.len() as u64).to_le_bytes())?;
        w.put(header.as_bytes())?;
        Ok(w)
    }

    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.crc.update(b);
        self.pos += b.len() as u64;
        self.out.write_all(b)
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (8 - self.pos % 8) % 8;
        self.put(&[0u8; 8][..n as usize])
    }

    /// Writes one column.
    pub fn column(&mut self, name: &str, col: ColumnRef<'_>) -> io::Result<()> {
        self.begin_column(name, col.kind(), col.len() as u64)?;
        self.values(col.bytes())?;
        self.end_column()
    }

    /// Starts a column of `count` values of type `kind`, whose bytes [`Writer::values`] then
    /// writes, in as many pieces as the caller likes, before [`Writer::end_column`].
    pub fn begin_column(&mut self, name: &str, kind: ColumnType, count: u64) -> io::Result<()> {
        assert!(!name.is_empty() && name.len() <= MAX_NAME, "column name");
        assert_eq!(self.owed, 0, "a column begun before the last one ended");
        self.put(&(name.len() as u16).to_le_bytes())?;
        self.put(name.as_bytes())?;
        self.put(&[kind as u8])?;
        self.put(&count.to_le_bytes())?;
        self.owed = count * kind.size();
        self.pad()
    }

    /// Writes the next values of the column begun, as little-endian bytes.
    pub fn values(&mut self, bytes: &[u8]) -> io::Result<()> {
        assert!(
            bytes.len() as u64 <= self.owed,
            "more values than the column holds"
        );
        self.owed -= bytes.len() as u64;
        self.put(bytes)
    }

    /// Ends the column begun, once all its values are written.
    pub fn end_column(&mut self) -> io::Result<()> {
        assert_eq!(self.owed, 0, "a column ended before all its values");
        self.pad()
    }

    /// Writes the end of the columns and the checksum; returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.put(&0u16.to_le_bytes())?;
        let crc = std::mem::take(&mut self.crc).finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.write_all(END)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// A borrowed column of the state, of any element type.
#[derive(Clone, Copy, Debug)]
pub enum ColumnRef<'a> {
    U8(&'a [u8]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    I64(&'a [i64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
    Bool(&'a [bool]),
}

/// A column of the state to fill or take, of any element type.
#[derive(Debug)]
pub enum ColumnMut<'a> {
    U8(&'a mut Col<u8>),
    U16(&'a mut Col<u16>),
    U32(&'a mut Col<u32>),
    U64(&'a mut Col<u64>),
    I64(&'a mut Col<i64>),
    F32(&'a mut Col<f32>),
    F64(&'a mut Col<f64>),
    Bool(&'a mut Vec<bool>),
}

/// Calls `$body` with `$v` bound to the slice or vector inside any variant of `$e` (all
/// variants of the three column enums hold the same element types).
macro_rules! each_type {
    ($enum:ident, $e:expr, $v:ident => $body:expr) => {
        match $e {
            $enum::U8($v) => $body,
            $enum::U16($v) => $body,
            $enum::U32($v) => $body,
            $enum::U64($v) => $body,
            $enum::I64($v) => $body,
            $enum::F32($v) => $body,
            $enum::F64($v) => $body,
            $enum::Bool($v) => $body,
        }
    };
}

impl ColumnRef<'_> {
    /// How many values it holds.
    pub fn len(&self) -> usize {
        each_type!(ColumnRef, self, v => v.len())
    }

    /// Whether it holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as stored: little-endian, a boolean as one byte 0 or 1.
    fn bytes(&self) -> &[u8] {
        each_type!(ColumnRef, self, v => bytemuck::cast_slice(&v[..]))
    }

    fn kind(&self) -> ColumnType {
        each_type!(ColumnRef, self, v => element_type(v))
    }
}

impl ColumnMut<'_> {
    /// The type of its values.
    pub fn kind(&self) -> ColumnType {
        each_type!(ColumnMut, self, v => element_type(&v[..]))
    }

    /// Takes the values out, leaving the column empty.
    fn take(self) -> Column {
        match self {
            ColumnMut::U8(v) => Column::U8(std::mem::take(v)),
            ColumnMut::U16(v) => Column::U16(std::mem::take(v)),
            ColumnMut::U32(v) => Column::U32(std::mem::take(v)),
            ColumnMut::U64(v) => Column::U64(std::mem::take(v)),
            ColumnMut::I64(v) => Column::I64(std::mem::take(v)),
            ColumnMut::F32(v) => Column::F32(std::mem::take(v)),
            ColumnMut::F64(v) => Column::F64(std::mem::take(v)),
            ColumnMut::Bool(v) => Column::Bool(std::mem::take(v)),
        }
    }
}

/// The type code of a slice's elements.
fn element_type<T: Element>(_: &[T]) -> ColumnType {
    T::TYPE
}

/// An element type a column can hold.
pub(crate) trait Element {
    const TYPE: ColumnType;
}

macro_rules! element {
    ($($t:ty => $c:ident),*) => { $(impl Element for $t { const TYPE: ColumnType = ColumnType::$c; })* };
}
element!(u8 => U8, u16 => U16, u32 => U32, u64 => U64, i64 => I64, f32 => F32, f64 => F64, bool => Bool);

/// Why a binary checkpoint was refused: the byte offset where reading stopped (if known) and
/// what was wrong.
#[derive(Debug)]
pub struct Refusal {
    pub offset: Option<u64>,
    pub field: String,
    pub message: String,
}

/// A binary checkpoint read back: its header text and its state with every column filled.
pub struct Decoded {
    pub header: String,
    pub columns: Vec<(String, Column)>,
}

/// One column's values as read (in a RON checkpoint, a column the state's fields do not name:
/// `F32([...])`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Column {
    U8(Col<u8>),
    U16(Col<u16>),
    U32(Col<u32>),
    U64(Col<u64>),
    I64(Col<i64>),
    F32(Col<f32>),
    F64(Col<f64>),
    Bool(Vec<bool>),
}

/// Reads from `input`, `len` bytes long in all, checking the checksum as it goes.
struct Reader<R: Read> {
    input: Input<R>,
    crc: crc32fast::Hasher,
    pos: u64,
    len: u64,
}

/// Where a checkpoint is read from: a stream, whose values are copied into memory, or a
/// mapped file, whose columns stay in place ([`Col::mapped`]).
enum Input<R> {
    Stream(R),
    Map(Arc<memmap2::Mmap>),
}

impl<R: Read> Input<R> {
    /// Fills `buf` with the bytes at `pos` (a stream is read in order, so `pos` is where it is).
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> io::Result<()> {
        match self {
            Input::Stream(r) => r.read_exact(buf),
            Input::Map(m) => {
                let at = pos as usize;
                let src = m
                    .get(at..at + buf.len())
                    .ok_or(io::ErrorKind::UnexpectedEof)?;
                buf.copy_from_slice(src);
                Ok(())
            }
        }
    }
}

impl<R: Read> Reader<R> {
    fn refuse(&self, field: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            offset: Some(self.pos),
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn take(&mut self, buf: &mut [u8], what: &str) -> Result<(), Refusal> {
        if self.pos.saturating_add(buf.len() as u64) > self.len {
            return Err(self.refuse(what, "the file ends early: it is truncated"));
        }
        self.input
            .read_at(self.pos, buf)
            .map_err(|e| self.refuse(what, format!("cannot be read: {e}")))?;
        self.crc.update(buf);
        self.pos += buf.len() as u64;
        Ok(())
    }

    fn u16(&mut self, what: &str) -> Result<u16, Refusal> {
        let mut b = [0; 2];
        self.take(&mut b, what)?;
        Ok(u16::from_le_bytes(b))
    }

    fn u64(&mut self, what: &str) -> Result<u64, Refusal> {
        let mut b = [0; 8];
        self.take(&mut b, what)?;
        Ok(u64::from_le_bytes(b))
    }

    fn skip_pad(&mut self, what: &str) -> Result<(), Refusal> {
        let mut b = [0u8; 8];
        let n = ((8 - self.pos % 8) % 8) as usize;
        self.take(&mut b[..n], what)
    }

    /// `count` values of `T`, after checking that the file holds that many bytes.
    fn values<T: bytemuck::Pod>(&mut self, count: u64, what: &str) -> Result<Vec<T>, Refusal> {
        let mut v = vec![T::zeroed(); count as usize];
        self.take(bytemuck::cast_slice_mut(&mut v), what)?;
        Ok(v)
    }

    /// A column of `count` values of `T`: mapped in place from a mapped file (and summed), read
    /// into memory from a stream.
    fn col<T: bytemuck::Pod>(&mut self, count: u64, what: &str) -> Result<Col<T>, Refusal> {
        let Input::Map(map) = &self.input else {
            return self.values(count, what).map(Col::from);
        };
        let bytes = count * size_of::<T>() as u64;
        if self.pos.saturating_add(bytes) > self.len {
            return Err(self.refuse(what, "the file ends early: it is truncated"));
        }
        let col = Col::mapped(map, self.pos as usize, count as usize)
            .ok_or_else(|| self.refuse(what, "is not aligned to its values"))?;
        let at = self.pos as usize;
        self.crc.update(&map[at..at + bytes as usize]);
        self.pos += bytes;
        Ok(col)
    }

    fn column(&mut self, name: &str, kind: ColumnType, count: u64) -> Result<Column, Refusal> {
        if self.pos.saturating_add(count.saturating_mul(kind.size())) > self.len {
            return Err(self.refuse(
                name,
                format!("claims {count} values, more than the file holds: it is truncated"),
            ));
        }
        Ok(match kind {
            ColumnType::U8 => Column::U8(self.col(count, name)?),
            ColumnType::U16 => Column::U16(self.col(count, name)?),
            ColumnType::U32 => Column::U32(self.col(count, name)?),
            ColumnType::U64 => Column::U64(self.col(count, name)?),
            ColumnType::I64 => Column::I64(self.col(count, name)?),
            ColumnType::F32 => Column::F32(self.col(count, name)?),
            ColumnType::F64 => Column::F64(self.col(count, name)?),
            ColumnType::Bool => {
                let at = self.pos;
                let raw: Vec<u8> = self.values(count, name)?;
                if let Some(i) = raw.iter().position(|&b| b > 1) {
                    return Err(Refusal {
                        offset: Some(at + i as u64),
                        field: format!("{name}[{i}]"),
                        message: format!("is {}, not 0 or 1", raw[i]),
                    });
                }
                Column::Bool(raw.into_iter().map(|b| b == 1).collect())
            }
        })
    }

    fn next_column(&mut self) -> Result<Option<(String, Column)>, Refusal> {
        let n = self.u16("column name")? as usize;
        if n == 0 {
            return Ok(None);
        }
        if n > MAX_NAME {
            return Err(self.refuse("column name", format!("is {n} bytes long")));
        }
        let mut name = vec![0; n];
        self.take(&mut name, "column name")?;
        let name =
            String::from_utf8(name).map_err(|_| self.refuse("column name", "is not UTF-8"))?;
        let mut code = [0u8];
        self.take(&mut code, &name)?;
        let kind = ColumnType::from_code(code[0])
            .ok_or_else(|| self.refuse(&name, format!("has unknown type code {}", code[0])))?;
        let count = self.u64(&name)?;
        self.skip_pad(&name)?;
        let col = self.column(&name, kind, count)?;
        self.skip_pad(&name)?;
        Ok(Some((name, col)))
    }
}

/// Reads a binary checkpoint of `len` bytes from `input`, checking its layout and checksum.
/// Nothing is allocated beyond what the file's length can hold. A file whose layout is refused
/// is also summed to the end, so that a damaged or cut file is reported as such rather than by
/// the first thing that no longer made sense.
pub fn read(input: impl Read, len: u64) -> Result<Decoded, Refusal> {
    decode(Input::Stream(input), len)
}

/// Reads a binary checkpoint from a mapped file: as [`read`], but its columns are not copied
/// (see [`Col`]).
pub fn read_mapped(map: Arc<memmap2::Mmap>) -> Result<Decoded, Refusal> {
    let len = map.len() as u64;
    decode::<std::io::Empty>(Input::Map(map), len)
}

fn decode<R: Read>(input: Input<R>, len: u64) -> Result<Decoded, Refusal> {
    let mut r = Reader {
        input,
        crc: crc32fast::Hasher::new(),
        pos: 0,
        len: len.saturating_sub(12),
    };
    // A file of another kind or layout version is refused as such, not summed.
    header_of(&mut r)?;
    let body = read_all(&mut r);
    match (whole_file_verdict(r), body) {
        (Err(damaged), _) => Err(damaged),
        (Ok(()), body) => body,
    }
}

/// Sums what is left of the file after reading stopped at `r.pos` (nothing, if it was read
/// to the end), then checks the trailer: the refusal of a file that is damaged or cut, `Ok` if
/// it is whole and its checksum holds.
fn whole_file_verdict<R: Read>(mut r: Reader<R>) -> Result<(), Refusal> {
    let mut buf = vec![0u8; 1 << 16];
    while r.pos < r.len {
        let n = (r.len - r.pos).min(buf.len() as u64) as usize;
        r.take(&mut buf[..n], "checksum")?;
    }
    finish(&mut r)
}

/// Checks the magic and the layout version.
fn header_of<R: Read>(r: &mut Reader<R>) -> Result<(), Refusal> {
    let mut magic = [0u8; 8];
    r.take(&mut magic, "magic")?;
    if &magic != MAGIC {
        return Err(r.refuse("magic", "is not that of an edra binary checkpoint"));
    }
    let mut v = [0u8; 4];
    r.take(&mut v, "version")?;
    let version = u32::from_le_bytes(v);
    if version != VERSION {
        return Err(r.refuse(
            "version",
            format!("is {version}; this edra reads binary checkpoints of version {VERSION}"),
        ));
    }
    Ok(())
}

fn read_all<R: Read>(r: &mut Reader<R>) -> Result<Decoded, Refusal> {
    let n = r.u64("header")?;
    if r.pos.saturating_add(n) > r.len {
        return Err(r.refuse("header", "claims more bytes than the file holds"));
    }
    let header: Vec<u8> = r.values(n, "header")?;
    let header = String::from_utf8(header).map_err(|_| r.refuse("header", "is not UTF-8 text"))?;
    let mut columns = Vec::new();
    while let Some(c) = r.next_column()? {
        if columns.iter().any(|(n, _)| *n == c.0) {
            return Err(r.refuse(&c.0, "appears twice"));
        }
        columns.push(c);
    }
    if r.pos != r.len {
        return Err(r.refuse("end", "bytes follow the last column"));
    }
    Ok(Decoded { header, columns })
}

/// Checks the trailer at the end of the file: the checksum and `END`.
fn finish<R: Read>(r: &mut Reader<R>) -> Result<(), Refusal> {
    let mut t = [0u8; 12];
    r.input
        .read_at(r.pos, &mut t)
        .map_err(|_| r.refuse("checksum", "the file ends early: it is truncated"))?;
    let want = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    if &t[4..] != END {
        return Err(r.refuse("end", "the end marker is missing: the file is truncated"));
    }
    let got = std::mem::take(&mut r.crc).finalize();
    if got != want {
        return Err(r.refuse(
            "checksum",
            format!("is {want:08x} but the content sums to {got:08x}: the file is damaged"),
        ));
    }
    Ok(())
}

impl Column {
    /// Moves the values into the state column `dest` if the types agree.
    pub fn fill(self, dest: ColumnMut<'_>) -> Result<(), String> {
        let (want, got) = (dest.kind(), self.kind());
        match (self, dest) {
            (Column::U8(v), ColumnMut::U8(d)) => *d = v,
            (Column::U16(v), ColumnMut::U16(d)) => *d = v,
            (Column::U32(v), ColumnMut::U32(d)) => *d = v,
            (Column::U64(v), ColumnMut::U64(d)) => *d = v,
            (Column::I64(v), ColumnMut::I64(d)) => *d = v,
            (Column::F32(v), ColumnMut::F32(d)) => *d = v,
            (Column::F64(v), ColumnMut::F64(d)) => *d = v,
            (Column::Bool(v), ColumnMut::Bool(d)) => *d = v,
            _ => return Err(format!("holds {got:?} values where {want:?} are expected")),
        }
        Ok(())
    }

    fn kind(&self) -> ColumnType {
        each_type!(Column, self, v => element_type(&v[..]))
    }

    /// Whether the column has no values.
    pub fn is_empty(&self) -> bool {
        each_type!(Column, self, v => v.is_empty())
    }

    /// The values, borrowed to be changed or taken.
    pub fn as_mut(&mut self) -> ColumnMut<'_> {
        match self {
            Column::U8(v) => ColumnMut::U8(v),
            Column::U16(v) => ColumnMut::U16(v),
            Column::U32(v) => ColumnMut::U32(v),
            Column::U64(v) => ColumnMut::U64(v),
            Column::I64(v) => ColumnMut::I64(v),
            Column::F32(v) => ColumnMut::F32(v),
            Column::F64(v) => ColumnMut::F64(v),
            Column::Bool(v) => ColumnMut::Bool(v),
        }
    }

    /// The values, borrowed.
    pub fn as_ref(&self) -> ColumnRef<'_> {
        match self {
            Column::U8(v) => ColumnRef::U8(v),
            Column::U16(v) => ColumnRef::U16(v),
            Column::U32(v) => ColumnRef::U32(v),
            Column::U64(v) => ColumnRef::U64(v),
            Column::I64(v) => ColumnRef::I64(v),
            Column::F32(v) => ColumnRef::F32(v),
            Column::F64(v) => ColumnRef::F64(v),
            Column::Bool(v) => ColumnRef::Bool(v),
        }
    }
}

/// The prefix of the registered stages' columns, which the header does not list.
pub const REGISTERED: &str = "synapses.registered.";

/// Puts every decoded column into `state` by name. A synapse column that no field of the state
/// names goes to [`SynapseColumns::more`](crate::scene::state::SynapseColumns::more), where the
/// build checks it against the components' declarations.
pub fn fill_state(state: &mut State, columns: Vec<(String, Column)>) -> Result<(), Refusal> {
    let refuse = |field: &str, message: String| Refusal {
        offset: None,
        field: field.to_string(),
        message,
    };
    for (name, col) in columns {
        if let Some(stage_var) = name.strip_prefix(REGISTERED) {
            let Column::F32(mut v) = col else {
                return Err(refuse(&name, "holds values that are not F32".into()));
            };
            let v = std::mem::take(v.vec_mut());
            state.synapses.registered.insert(stage_var.to_string(), v);
            continue;
        }
        let (mut col, mut result) = (Some(col), None);
        state.visit_columns(&mut |n, dest| {
            if n == name {
                result = col.take().map(|c| c.fill(dest));
            }
        });
        match result {
            None if name.starts_with("synapses.") => {
                let col = col.take().expect("not visited");
                state.synapses.more.insert(name, col);
            }
            None => return Err(refuse(&name, "is not a column of edra's state".into())),
            Some(Err(m)) => return Err(refuse(&name, m)),
            Some(Ok(())) => {}
        }
    }
    Ok(())
}

/// Takes every non-empty column out of `state`, leaving it with empty columns (what the header
/// of a binary checkpoint holds), named as in the file.
pub fn take_columns(state: &mut State) -> Vec<(String, Column)> {
    let mut taken = Vec::new();
    state.visit_columns(&mut |name, col| {
        let col = col.take();
        if !col.is_empty() {
            taken.push((name.to_string(), col));
        }
    });
    // The columns without a field were taken above; their names go with them.
    state.synapses.more.clear();
    for (name, col) in std::mem::take(&mut state.synapses.registered) {
        taken.push((format!("{REGISTERED}{name}"), Column::F32(col.into())));
    }
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A state with a value in every kind of column, and a registered stage's column.
    fn state() -> State {
        let mut s = State {
            step: 7,
            edra_version: "0.1.0".into(),
            ..Default::default()
        };
        let c = &mut s.synapses;
        (c.pre, c.post) = (vec![0, 1, 2].into(), vec![2, 1, 0].into());
        c.group = vec![0, 0, 1].into();
        c.arrivals = vec![0, 3, 255].into();
        c.w_mv = vec![0.1, -2.5e-30, f32::MAX].into();
        c.rho = vec![0.1, 1.0 / 3.0, 1.0].into();
        c.tagged = vec![true, false, true];
        c.next_step = vec![u64::MAX, 0, 5].into();
        c.registered.insert("camkii".into(), vec![0.5, 0.25, 0.125]);
        let more = Column::U16(vec![1, 2, 3].into());
        c.more.insert("synapses.not_a_field".into(), more);
        s.neuron_input = vec![-1, i64::MIN, i64::MAX].into();
        s.spike_history = vec![1 << 63, 3].into();
        s
    }

    fn encode(s: &State) -> Vec<u8> {
        let mut s = s.clone();
        let mut w = Writer::new(Vec::new(), "HEADER").unwrap();
        for (name, col) in take_columns(&mut s) {
            w.column(&name, col.as_ref()).unwrap();
        }
        w.finish().unwrap()
    }

    fn decode(bytes: &[u8]) -> Result<State, Refusal> {
        let d = read(bytes, bytes.len() as u64)?;
        assert_eq!(d.header, "HEADER");
        let mut s = state();
        take_columns(&mut s);
        fill_state(&mut s, d.columns)?;
        Ok(s)
    }

    /// Recomputes the checksum of an edited file, so that a test reaches the check behind it.
    fn reseal(bytes: &mut [u8]) {
        let n = bytes.len() - 12;
        let crc = crc32fast::hash(&bytes[..n]);
        bytes[n..n + 4].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn every_column_comes_back_bit_for_bit() {
        let s = state();
        let bytes = encode(&s);
        assert_eq!(decode(&bytes).unwrap(), s);
        assert!(is_binary(&bytes));
    }

    /// A column no field of the state names is written in a RON checkpoint with its type, and
    /// read back the same.
    #[test]
    fn a_column_without_a_field_round_trips_through_ron() {
        let s = state();
        let text = ron::to_string(&s).unwrap();
        assert!(text.contains("\"synapses.not_a_field\":U16("), "{text}");
        assert_eq!(ron::from_str::<State>(&text).unwrap(), s);
    }

    /// Mapped from a file, the columns read the same, and writing to one copies it first.
    #[test]
    fn a_mapped_file_reads_the_same_and_copies_on_write() {
        let s = state();
        let path = std::env::temp_dir().join(format!("edra-mapped-{}.ckpt", std::process::id()));
        std::fs::write(&path, encode(&s)).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        // SAFETY (test): the file is ours and unchanged while mapped.
        let map = Arc::new(unsafe { memmap2::Mmap::map(&f) }.unwrap());
        let d = read_mapped(Arc::clone(&map)).unwrap();
        let mut back = state();
        take_columns(&mut back);
        fill_state(&mut back, d.columns).unwrap();
        assert_eq!(back, s);
        back.synapses.w_mv[1] = 7.0;
        assert_eq!(back.synapses.w_mv[..], [0.1, 7.0, f32::MAX]);
        // The mapped bytes (and so the file) still hold the old value.
        let mapped = decode(&map[..]).unwrap();
        assert_eq!(mapped.synapses.w_mv[1], -2.5e-30, "the file was written to");
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_changed_byte_fails_the_checksum() {
        let mut bytes = encode(&state());
        let k = bytes.len() - 40;
        bytes[k] ^= 1;
        let e = decode(&bytes).err().unwrap();
        assert!(e.message.contains("damaged"), "{}", e.message);
    }

    #[test]
    fn every_truncation_is_refused_without_panic() {
        let bytes = encode(&state());
        for n in 0..bytes.len() {
            assert!(decode(&bytes[..n]).is_err(), "cut at {n} was read");
        }
    }

    #[test]
    fn another_version_is_refused_by_number() {
        let mut bytes = encode(&state());
        bytes[8] = 2;
        let e = decode(&bytes).err().unwrap();
        assert_eq!(e.field, "version");
        assert!(e.message.contains("is 2"), "{}", e.message);
    }

    #[test]
    fn a_count_beyond_the_file_is_refused_before_allocating() {
        let mut w = Writer::new(Vec::new(), "HEADER").unwrap();
        w.column("synapses.w_mv", ColumnRef::F32(&[1.0])).unwrap();
        let mut bytes = w.finish().unwrap();
        // The count follows the header, the name (2 + 13 bytes) and the type code.
        let at = 20 + 6 + 2 + 13 + 1;
        bytes[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
        reseal(&mut bytes);
        let e = decode(&bytes).err().unwrap();
        assert!(e.message.contains("truncated"), "{}", e.message);
    }

    #[test]
    fn a_boolean_other_than_0_or_1_is_refused_at_its_index() {
        let mut w = Writer::new(Vec::new(), "HEADER").unwrap();
        w.column("synapses.tagged", ColumnRef::Bool(&[false, true]))
            .unwrap();
        let mut bytes = w.finish().unwrap();
        let at = bytes.iter().rposition(|&b| b == 1).unwrap();
        bytes[at] = 7;
        reseal(&mut bytes);
        let e = decode(&bytes).err().unwrap();
        assert_eq!(e.field, "synapses.tagged[1]");
    }

    /// A column of no part of the state, or of the wrong type, is refused by name. A synapse
    /// column without a field goes to `more`, for the build to check against the components'
    /// declarations.
    #[test]
    fn unknown_and_mistyped_columns_are_refused_by_name() {
        let mut w = Writer::new(Vec::new(), "HEADER").unwrap();
        w.column("synapses.mass_kg", ColumnRef::F32(&[1.0]))
            .unwrap();
        let s = decode(&w.finish().unwrap()).unwrap();
        let kept = s.synapses.more.get("synapses.mass_kg");
        assert_eq!(kept, Some(&Column::F32(vec![1.0].into())));
        for (name, col, why) in [
            ("neurons.mass_kg", ColumnRef::F32(&[1.0]), "not a column"),
            ("synapses.w_mv", ColumnRef::F64(&[1.0]), "F64"),
        ] {
            let mut w = Writer::new(Vec::new(), "HEADER").unwrap();
            w.column(name, col).unwrap();
            let e = decode(&w.finish().unwrap()).err().unwrap();
            assert_eq!(e.field, name);
            assert!(e.message.contains(why), "{}", e.message);
        }
    }
}
