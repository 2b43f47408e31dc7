//! Ascending id lists, the shape of every index here (a user's tweets, a hashtag's tweets, a
//! tweet's replies). Ids only ever rise, so appending keeps them sorted, and a page "before
//! a cursor, newest first" is a binary search and a reverse walk.

/// Inserts `id`, keeping the list ascending (appends in the common case).
pub fn insert(ids: &mut Vec<u64>, id: u64) {
    match ids.last() {
        Some(&last) if last >= id => {
            if let Err(at) = ids.binary_search(&id) {
                ids.insert(at, id);
            }
        }
        _ => ids.push(id),
    }
}

/// Removes `id` if present.
pub fn remove(ids: &mut Vec<u64>, id: u64) {
    if let Ok(at) = ids.binary_search(&id) {
        ids.remove(at);
    }
}

/// Up to `limit` ids below `before` (all when `None`), newest first.
pub fn page(ids: &[u64], before: Option<u64>, limit: usize) -> Vec<u64> {
    let end = match before {
        Some(before) => ids.partition_point(|&id| id < before),
        None => ids.len(),
    };
    ids[..end].iter().rev().take(limit).copied().collect()
}

/// Keeps the `limit` largest ids offered, for merging many lists into one page.
pub struct TopIds {
    limit: usize,
    /// A min-heap of the best ids so far.
    heap: std::collections::BinaryHeap<std::cmp::Reverse<u64>>,
}

impl TopIds {
    pub fn new(limit: usize) -> TopIds {
        TopIds {
            limit,
            heap: std::collections::BinaryHeap::with_capacity(limit + 1),
        }
    }

    /// Whether an id this small could still make the page.
    pub fn wants(&self, id: u64) -> bool {
        self.heap.len() < self.limit || self.heap.peek().is_some_and(|m| id > m.0)
    }

    /// Offers the ids of one ascending list below `before`; stops at the first that cannot
    /// make the page, so a source costs one binary search plus what it contributes.
    pub fn offer(&mut self, ids: &[u64], before: Option<u64>) {
        let end = match before {
            Some(before) => ids.partition_point(|&id| id < before),
            None => ids.len(),
        };
        for &id in ids[..end].iter().rev() {
            if !self.wants(id) {
                break;
            }
            self.heap.push(std::cmp::Reverse(id));
            if self.heap.len() > self.limit {
                self.heap.pop();
            }
        }
    }

    /// The ids kept, newest first.
    pub fn into_desc(self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.heap.into_iter().map(|r| r.0).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_newest_first_exactly_once() {
        let ids: Vec<u64> = (1..=45).collect();
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = page(&ids, before, 10);
            if page.is_empty() {
                break;
            }
            before = page.last().copied();
            seen.extend(page);
        }
        assert_eq!(seen, (1..=45).rev().collect::<Vec<_>>());
    }

    #[test]
    fn insert_and_remove_keep_order() {
        let mut ids = vec![1, 5, 9];
        insert(&mut ids, 12);
        insert(&mut ids, 7);
        insert(&mut ids, 7);
        remove(&mut ids, 5);
        assert_eq!(ids, vec![1, 7, 9, 12]);
    }

    #[test]
    fn top_ids_merges_lists() {
        let mut top = TopIds::new(4);
        top.offer(&[1, 4, 8, 20], Some(20));
        top.offer(&[2, 3, 9, 30], Some(20));
        top.offer(&[5, 6, 7], Some(20));
        assert_eq!(top.into_desc(), vec![9, 8, 7, 6]);
    }
}
