//! A slab whose keys carry a generation, so a stale key (a late wake of a finished task)
//! never reaches whatever took the slot next.

pub(crate) struct Slab<T> {
    entries: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
    len: usize,
}

impl<T> Slab<T> {
    pub(crate) fn new() -> Self {
        Self {
            entries: Vec::new(),
            free: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Inserts the value `make` builds from its own key.
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(u64) -> T) -> u64 {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                self.entries.push((0, None));
                (self.entries.len() - 1) as u32
            }
        };
        let e = &mut self.entries[index as usize];
        let key = (u64::from(e.0) << 32) | u64::from(index);
        e.1 = Some(make(key));
        self.len += 1;
        key
    }

    pub(crate) fn insert(&mut self, value: T) -> u64 {
        self.insert_with(|_| value)
    }

    fn slot(key: u64) -> (usize, u32) {
        ((key & 0xFFFF_FFFF) as usize, (key >> 32) as u32)
    }

    pub(crate) fn get(&self, key: u64) -> Option<&T> {
        let (i, g) = Self::slot(key);
        match self.entries.get(i) {
            Some((gen, Some(v))) if *gen == g => Some(v),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: u64) -> Option<&mut T> {
        let (i, g) = Self::slot(key);
        match self.entries.get_mut(i) {
            Some((gen, Some(v))) if *gen == g => Some(v),
            _ => None,
        }
    }

    pub(crate) fn remove(&mut self, key: u64) -> Option<T> {
        let (i, g) = Self::slot(key);
        match self.entries.get_mut(i) {
            Some((gen, v @ Some(_))) if *gen == g => {
                *gen = gen.wrapping_add(1);
                self.free.push(i as u32);
                self.len -= 1;
                v.take()
            }
            _ => None,
        }
    }

    /// Calls `f` on every value.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&T)) {
        for (_, v) in &self.entries {
            if let Some(v) = v {
                f(v);
            }
        }
    }

    /// Removes every value.
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for (i, (gen, v)) in self.entries.iter_mut().enumerate() {
            if let Some(v) = v.take() {
                *gen = gen.wrapping_add(1);
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
    use super::Slab;

    #[test]
    fn stale_keys_miss() {
        let mut s = Slab::new();
        let a = s.insert(1);
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2);
        assert_ne!(a, b);
        assert_eq!(s.get(a), None);
        assert_eq!(s.get(b), Some(&2));
        assert_eq!(s.len(), 1);
    }
}
