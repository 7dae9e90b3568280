//! A column of a checkpoint's state: values owned in memory, or mapped in place from a binary
//! checkpoint file ([`crate::scene::binary`]), so that resuming a run whose world fills most of
//! the machine does not also need its whole state in memory: mapped pages belong to the file,
//! and the kernel can drop and re-read them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

/// The values of one column of the state (see the module doc). Reads as a slice; writing to a
/// mapped column first copies it into memory.
pub struct Col<T: bytemuck::Pod>(Repr<T>);

enum Repr<T> {
    Owned(Vec<T>),
    /// `len` values at byte `at` of the mapped file (aligned for `T`, checked when made).
    Mapped {
        map: Arc<memmap2::Mmap>,
        at: usize,
        len: usize,
    },
}

impl<T: bytemuck::Pod> Col<T> {
    /// `len` values at byte `at` of `map`, if they lie within it and are aligned for `T`.
    pub fn mapped(map: &Arc<memmap2::Mmap>, at: usize, len: usize) -> Option<Col<T>> {
        let end = len.checked_mul(size_of::<T>())?.checked_add(at)?;
        bytemuck::try_cast_slice::<u8, T>(map.get(at..end)?).ok()?;
        Some(Col(Repr::Mapped {
            map: Arc::clone(map),
            at,
            len,
        }))
    }

    /// The values as a vector in memory (a mapped column is copied in first).
    pub fn vec_mut(&mut self) -> &mut Vec<T> {
        if let Repr::Mapped { .. } = self.0 {
            self.0 = Repr::Owned(self.to_vec());
        }
        match &mut self.0 {
            Repr::Owned(v) => v,
            Repr::Mapped { .. } => unreachable!("copied in above"),
        }
    }
}

impl<T: bytemuck::Pod> Deref for Col<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.0 {
            Repr::Owned(v) => v,
            Repr::Mapped { map, at, len } => {
                bytemuck::cast_slice(&map[*at..*at + *len * size_of::<T>()])
            }
        }
    }
}

impl<T: bytemuck::Pod> DerefMut for Col<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.vec_mut()
    }
}

impl<T: bytemuck::Pod> From<Vec<T>> for Col<T> {
    fn from(v: Vec<T>) -> Self {
        Col(Repr::Owned(v))
    }
}

impl<T: bytemuck::Pod> Default for Col<T> {
    fn default() -> Self {
        Col(Repr::Owned(Vec::new()))
    }
}

impl<T: bytemuck::Pod> Clone for Col<T> {
    fn clone(&self) -> Self {
        match &self.0 {
            Repr::Owned(v) => Col(Repr::Owned(v.clone())),
            Repr::Mapped { map, at, len } => Col(Repr::Mapped {
                map: Arc::clone(map),
                at: *at,
                len: *len,
            }),
        }
    }
}

impl<T: bytemuck::Pod + std::fmt::Debug> std::fmt::Debug for Col<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

impl<T: bytemuck::Pod + PartialEq> PartialEq for Col<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl<T: bytemuck::Pod + Serialize> Serialize for Col<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(s)
    }
}

impl<'de, T: bytemuck::Pod + Deserialize<'de>> Deserialize<'de> for Col<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(d).map(Col::from)
    }
}
