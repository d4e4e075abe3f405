//! A slab whose keys carry a generation: the driver's ops in flight, and the op slots and
//! tasks of a runtime built on it (boros-rt uses this one).
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

impl From<u64> for OpKey {
    fn from(v: u64) -> Self {
        OpKey(v)
    }
}

struct Entry<T> {
    generation: u32,
    value: Option<T>,
}

/// Values under [`OpKey`]s; a removed value's key never finds the value that takes its slot
/// next.
pub struct Slab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab.
    pub fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    /// Values held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no value.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `value`; returns its key.
    pub fn insert(&mut self, value: T) -> OpKey {
        self.insert_with(|_| value)
    }

    /// Stores the value `make` builds from its own key; returns the key.
    pub fn insert_with(&mut self, make: impl FnOnce(OpKey) -> T) -> OpKey {
        let index = match self.free.pop() {
            Some(index) => index as usize,
            None => {
                let index = self.entries.len();
                assert!(
                    index < u32::MAX as usize,
                    "more than 2^32-1 values in a slab"
                );
                self.entries.push(Entry {
                    generation: 0,
                    value: None,
                });
                index
            }
        };
        let e = &mut self.entries[index];
        debug_assert!(e.value.is_none());
        let key = OpKey(((e.generation as u64) << 32) | index as u64);
        e.value = Some(make(key));
        self.len += 1;
        key
    }

    /// The value under `key`, unless it was removed.
    pub fn get(&self, key: impl Into<OpKey>) -> Option<&T> {
        let key = key.into();
        let e = self.entries.get(key.index())?;
        if e.generation != key.generation() {
            return None;
        }
        e.value.as_ref()
    }

    /// The value under `key`, unless it was removed.
    pub fn get_mut(&mut self, key: impl Into<OpKey>) -> Option<&mut T> {
        let key = key.into();
        let e = self.entries.get_mut(key.index())?;
        if e.generation != key.generation() {
            return None;
        }
        e.value.as_mut()
    }

    /// Takes the value under `key` out; its slot's next value gets another key.
    pub fn remove(&mut self, key: impl Into<OpKey>) -> Option<T> {
        let key = key.into();
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

    /// Calls `f` on every value.
    pub fn for_each(&self, mut f: impl FnMut(&T)) {
        for v in self.entries.iter().filter_map(|e| e.value.as_ref()) {
            f(v);
        }
    }

    /// Calls `f` on every value, mutably.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(&mut T)) {
        for v in self.entries.iter_mut().filter_map(|e| e.value.as_mut()) {
            f(v);
        }
    }

    /// Takes every value out.
    pub fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for (i, e) in self.entries.iter_mut().enumerate() {
            if let Some(v) = e.value.take() {
                e.generation = (e.generation + 1) & GEN_MASK;
                self.free.push(i as u32);
                out.push(v);
            }
        }
        self.len = 0;
        out
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
    fn insert_with_sees_its_key_and_drain_empties() {
        let mut s = Slab::new();
        let a = s.insert_with(|k| k);
        assert_eq!(s.get(a), Some(&a));
        let b = s.insert_with(|k| k);
        let mut seen = Vec::new();
        s.for_each(|k| seen.push(*k));
        assert_eq!(seen, vec![a, b]);
        assert_eq!(s.drain(), vec![a, b]);
        assert!(s.is_empty());
        assert_eq!(s.get(a), None, "drained keys are stale");
        assert_eq!(s.get(a.as_u64()), None);
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
