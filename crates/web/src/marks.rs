//! [`UnsyncedMarks`]: the threads with changes the relay has not acknowledged, which storage marks
//! (`meta` keys `unsynced/<id>`) so a reload still sends them — and what each flush writes of the
//! marks. Pure rules, compiled and tested natively.

/// A store instance's unsynced marks. A list (tens of ids at most): a set type would add its own
/// collection code to the package.
#[derive(Debug, Default)]
pub(crate) struct UnsyncedMarks {
    marked: Vec<String>,
    /// Ids acknowledged since the last flush, whose marks it deletes.
    removed: Vec<String>,
}

impl UnsyncedMarks {
    /// The marks storage held at open.
    pub fn new(marked: Vec<String>) -> Self {
        Self {
            marked,
            removed: Vec::new(),
        }
    }

    /// A flush wrote changes of `doc`: the relay does not have them yet.
    pub fn mark(&mut self, doc: &str) {
        if !self.is_marked(doc) {
            self.marked.push(doc.to_owned());
        }
    }

    pub fn is_marked(&self, doc: &str) -> bool {
        self.marked.iter().any(|m| m == doc)
    }

    /// Every marked id.
    pub fn marked(&self) -> &[String] {
        &self.marked
    }

    /// The relay acknowledged the current heads of `doc`: its mark goes at the next flush.
    pub fn acknowledged(&mut self, doc: &str) {
        if let Some(i) = self.marked.iter().position(|m| m == doc) {
            self.removed.push(self.marked.swap_remove(i));
        }
    }

    /// What the next flush writes of the marks: all of this instance's marks, every time (another
    /// tab may have taken one off — its relay acknowledged what that tab had — while this one
    /// still has changes there to send), and the deletions of the acknowledged ones. A thread
    /// acknowledged and then written again is only marked: its new mark must survive. `None` when
    /// there is nothing to write.
    pub fn take_write(&mut self) -> Option<(Vec<String>, Vec<String>)> {
        let mut removed = std::mem::take(&mut self.removed);
        removed.retain(|id| !self.is_marked(id));
        if self.marked.is_empty() && removed.is_empty() {
            return None;
        }
        Some((self.marked.clone(), removed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_stays_until_acknowledged_and_every_flush_restates_the_marks() {
        let mut marks = UnsyncedMarks::new(vec!["a".into()]);
        marks.mark("b");
        marks.mark("b");
        assert_eq!(marks.marked(), ["a", "b"]);
        let write = || (vec!["a".to_owned(), "b".to_owned()], Vec::<String>::new());
        assert_eq!(marks.take_write(), Some(write()));
        assert_eq!(marks.take_write(), Some(write()), "restated at every flush");
        marks.acknowledged("a");
        assert!(!marks.is_marked("a"));
        assert_eq!(
            marks.take_write(),
            Some((vec!["b".to_owned()], vec!["a".to_owned()]))
        );
        marks.acknowledged("b");
        assert_eq!(marks.take_write(), Some((vec![], vec!["b".to_owned()])));
        assert_eq!(marks.take_write(), None, "nothing left to write");
    }

    #[test]
    fn a_thread_written_again_after_its_acknowledgement_stays_marked() {
        let mut marks = UnsyncedMarks::default();
        marks.mark("t");
        marks.acknowledged("t");
        marks.mark("t");
        assert_eq!(marks.take_write(), Some((vec!["t".to_owned()], vec![])));
    }

    #[test]
    fn acknowledging_an_unmarked_thread_deletes_nothing() {
        let mut marks = UnsyncedMarks::default();
        marks.acknowledged("never");
        assert_eq!(marks.take_write(), None);
    }
}
