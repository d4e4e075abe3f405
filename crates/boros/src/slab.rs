//! A slab of in-flight operations whose keys carry a generation.
//!
//! A key is `generation << 32 | index`. A slot's generation changes every time it is reused,
//! so a stale key (a late CQE, a cancel for an op that already finished) never reaches the
//! op that took the slot next. Generations wrap at 2^20 so a key fits exactly in a JS number.

/// Generations use this many bits, keeping keys below 2^52 (exact in an f64).
const GEN_BITS: u32 = 20;
const GEN_MASK: u32 = (1 << GEN_BITS) - 1;

/// The key of one in-flight operation; also its `user_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpKey(pub(crate) u64);

impl OpKey {
    /// The key as the `u64` stored in `user_data`.
    pub fn as_u64(self) -> u64 {
        self.0
    }
    /// A key from a `u64` (for example one that went through JS as a number).
    pub fn from_u64(v: u64) -> Self {
        OpKey(v)
    }
    fn index(self) -> usize {
        (self.0 & 0xFFFF_FFFF) as usize
    }
    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

struct Entry<T> {
    generation: u32,
    value: Option<T>,
}

pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn insert(&mut self, value: T) -> OpKey {
        self.len += 1;
        if let Some(index) = self.free.pop() {
            let e = &mut self.entries[index as usize];
            debug_assert!(e.value.is_none());
            e.value = Some(value);
            OpKey(((e.generation as u64) << 32) | index as u64)
        } else {
            let index = self.entries.len();
            assert!(
                index < u32::MAX as usize,
                "more than 2^32-1 operations in flight"
            );
            self.entries.push(Entry {
                generation: 0,
                value: Some(value),
            });
            OpKey(index as u64)
        }
    }

    pub fn get_mut(&mut self, key: OpKey) -> Option<&mut T> {
        let e = self.entries.get_mut(key.index())?;
        if e.generation != key.generation() {
            return None;
        }
        e.value.as_mut()
    }

    pub fn remove(&mut self, key: OpKey) -> Option<T> {
        let e = self.entries.get_mut(key.index())?;
        if e.generation != key.generation() {
            return None;
        }
        let value = e.value.take()?;
        e.generation = (e.generation + 1) & GEN_MASK;
        self.free.push(key.index() as u32);
        self.len -= 1;
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_keys_miss_reused_slots() {
        let mut s = Slab::new();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        let b = s.insert("b");
        assert_eq!(a.index(), b.index(), "slot is reused");
        assert_ne!(a, b);
        assert_eq!(s.get_mut(a), None, "stale key must not see the new op");
        assert_eq!(s.remove(a), None);
        assert_eq!(s.remove(b), Some("b"));
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn keys_fit_in_a_js_number() {
        let mut s = Slab::new();
        let mut k = s.insert(());
        for _ in 0..(1 << GEN_BITS) + 5 {
            s.remove(k);
            k = s.insert(());
            assert!(k.0 < (1u64 << 53));
        }
    }
}
