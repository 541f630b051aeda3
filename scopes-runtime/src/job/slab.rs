//! A vector with stable keys and O(1) removal whose vacant slots are reused, so a job that
//! launches and completes a million children keeps a list the size of its *live* children.
//! Keys and counts are `u32` inside, so an empty slab is four words: every job keeps two.

/// The most entries an empty slab keeps room for.
const KEPT_CAPACITY: usize = 8;

pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    next_free: u32,
    len: u32,
}

enum Entry<T> {
    Occupied(T),
    Vacant(u32),
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            next_free: 0,
            len: 0,
        }
    }
}

impl<T> Slab<T> {
    pub(crate) fn insert(&mut self, value: T) -> usize {
        let key = self.next_free;
        if key as usize == self.entries.len() {
            self.entries.push(Entry::Occupied(value));
            // Each entry is at least a pointer, so memory runs out long before this does.
            self.next_free = key.checked_add(1).expect("a slab of 2^32 entries");
        } else {
            match std::mem::replace(&mut self.entries[key as usize], Entry::Occupied(value)) {
                Entry::Vacant(next) => self.next_free = next,
                Entry::Occupied(_) => unreachable!("the free list points at an occupied slot"),
            }
        }
        self.len += 1;
        key as usize
    }

    pub(crate) fn remove(&mut self, key: usize) -> Option<T> {
        let entry = self.entries.get_mut(key)?;
        if matches!(entry, Entry::Vacant(_)) {
            return None;
        }
        let Entry::Occupied(value) = std::mem::replace(entry, Entry::Vacant(self.next_free)) else {
            unreachable!("checked above")
        };
        // `key` indexes `entries`, so it fits: `insert` handed out no larger key.
        self.next_free = key as u32;
        self.len -= 1;
        if self.len == 0 {
            // Every entry is gone: give a large list back, keep a small one for the next
            // insert (a scope that launches and joins one child at a time would otherwise
            // allocate the list anew for every child).
            if self.entries.capacity() > KEPT_CAPACITY {
                self.entries = Vec::new();
            } else {
                self.entries.clear();
            }
            self.next_free = 0;
        }
        Some(value)
    }

    pub(crate) fn get_mut(&mut self, key: usize) -> Option<&mut T> {
        match self.entries.get_mut(key) {
            Some(Entry::Occupied(value)) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().filter_map(|e| match e {
            Entry::Occupied(v) => Some(v),
            Entry::Vacant(_) => None,
        })
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().filter_map(|e| match e {
            Entry::Occupied(v) => Some(v),
            Entry::Vacant(_) => None,
        })
    }

    /// Takes every value out, leaving the slab empty.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = T> {
        self.len = 0;
        self.next_free = 0;
        std::mem::take(&mut self.entries)
            .into_iter()
            .filter_map(|e| match e {
                Entry::Occupied(v) => Some(v),
                Entry::Vacant(_) => None,
            })
    }

    /// The number of slots, live or vacant: what the slab holds (an empty one keeps room for a
    /// few).
    #[cfg(test)]
    pub(crate) fn slots(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::Slab;

    #[test]
    fn reuses_vacant_slots() {
        let mut slab = Slab::default();
        for i in 0..1000 {
            let a = slab.insert(i);
            let b = slab.insert(i + 1);
            assert_eq!(slab.remove(a), Some(i));
            assert_eq!(slab.remove(b), Some(i + 1));
        }
        assert!(slab.is_empty());
        assert_eq!(slab.slots(), 0);
        let keep = slab.insert(1);
        for i in 0..1000 {
            let k = slab.insert(i);
            slab.remove(k);
        }
        assert_eq!(slab.slots(), 2);
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.remove(keep), Some(1));
        assert_eq!(slab.remove(keep), None);
    }
}
