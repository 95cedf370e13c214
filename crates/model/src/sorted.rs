//! One stable sort for every list the model returns.
//!
//! Each `sort_by` on its own element type brings its own copy of the standard library's sort
//! (about 5 KB of wasm each, 14 KB gzipped for the eleven copies in the browser package). Sorting
//! a permutation through a `dyn` comparator instantiates the sort once, whatever the element type.

use std::cmp::Ordering;

/// `items` in the order `order` gives, equal items keeping their relative order.
pub(crate) fn sorted<T>(items: Vec<T>, order: &dyn Fn(&T, &T) -> Ordering) -> Vec<T> {
    let mut permutation: Vec<usize> = (0..items.len()).collect();
    sort_indices(&mut permutation, &|a, b| order(&items[a], &items[b]));
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    permutation
        .into_iter()
        .filter_map(|i| slots[i].take())
        .collect()
}

/// The one instantiation of the sort.
fn sort_indices(indices: &mut [usize], order: &dyn Fn(usize, usize) -> Ordering) {
    indices.sort_by(|&a, &b| order(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_stably() {
        let items = vec![(2, "a"), (1, "b"), (2, "c"), (0, "d"), (1, "e")];
        let out = sorted(items, &|a, b| a.0.cmp(&b.0));
        assert_eq!(out, vec![(0, "d"), (1, "b"), (1, "e"), (2, "a"), (2, "c")]);
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(sorted(Vec::<u8>::new(), &|a, b| a.cmp(b)), Vec::<u8>::new());
        assert_eq!(sorted(vec![7], &|a, b| a.cmp(b)), vec![7]);
    }
}
