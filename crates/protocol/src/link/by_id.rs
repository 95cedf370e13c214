//! [`ById`]: a small map keyed by document id, kept as a `Vec` sorted by id.
//!
//! A link holds tens of documents, so a sorted `Vec` is as fast as a tree, iterates in the same
//! order on every run (the simulation replays seeds by it), and costs the browser's wasm far less
//! code: a `BTreeMap` of the link's entries added 11.7 KB of tree code (about 4 KB brotli) that
//! nothing else in the package shares.

use crate::DocumentId;

/// Values by document id, iterated in id order.
#[derive(Debug)]
pub(crate) struct ById<V>(Vec<(DocumentId, V)>);

impl<V> Default for ById<V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<V> ById<V> {
    fn position(&self, id: &DocumentId) -> Result<usize, usize> {
        self.0.binary_search_by(|(key, _)| key.cmp(id))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn contains_key(&self, id: &DocumentId) -> bool {
        self.position(id).is_ok()
    }

    pub(crate) fn get(&self, id: &DocumentId) -> Option<&V> {
        self.position(id).ok().map(|i| &self.0[i].1)
    }

    pub(crate) fn get_mut(&mut self, id: &DocumentId) -> Option<&mut V> {
        self.position(id).ok().map(|i| &mut self.0[i].1)
    }

    /// Inserts or replaces the value of `id`.
    pub(crate) fn insert(&mut self, id: DocumentId, value: V) {
        match self.position(&id) {
            Ok(i) => self.0[i].1 = value,
            Err(i) => self.0.insert(i, (id, value)),
        }
    }

    pub(crate) fn remove(&mut self, id: &DocumentId) -> Option<V> {
        self.position(id).ok().map(|i| self.0.remove(i).1)
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &DocumentId> {
        self.0.iter().map(|(id, _)| id)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.0.iter().map(|(_, value)| value)
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.0.iter_mut().map(|(_, value)| value)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&DocumentId, &V)> {
        self.0.iter().map(|(id, value)| (id, value))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&DocumentId, &mut V)> {
        self.0.iter_mut().map(|(id, value)| (&*id, value))
    }
}

#[cfg(test)]
mod tests {
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn entries_stay_in_id_order_through_inserts_replacements_and_removals() {
        let id = |n| DocumentId::from_bytes([n; 16]);
        let mut map = ById::default();
        for n in [5, 1, 9, 3] {
            map.insert(id(n), n);
        }
        map.insert(id(3), 30);
        assert_eq!(map.remove(&id(9)), Some(9));
        assert_eq!(map.remove(&id(9)), None);
        assert_eq!(
            map.keys().copied().collect::<Vec<_>>(),
            [id(1), id(3), id(5)]
        );
        assert_eq!(map.values().copied().collect::<Vec<_>>(), [1, 30, 5]);
        assert_eq!(map.get(&id(3)), Some(&30));
        assert!(map.contains_key(&id(5)) && !map.contains_key(&id(2)));
        *map.get_mut(&id(1)).unwrap() += 10;
        assert_eq!(map.iter().map(|(_, v)| *v).sum::<u8>(), 46);
        assert_eq!(map.len(), 3);
    }
}
