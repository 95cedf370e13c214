//! Which messages are on the active path.
//!
//! Messages form a tree by `parentId`. Editing or regenerating message `m` adds a *variant* of it: a new
//! message with the same parent, whose `variantOf` names the group's first message. Of each variant group
//! exactly one member is on the path — the one `selected` names, or else the newest. Plain appends that
//! share a parent (two devices appending at once) are not variants of each other, so both stay on the
//! path, in `order`'s order, which Automerge makes the same on every replica.

use std::collections::HashMap;

use automerge::ObjId;

use crate::MessageId;

/// What the path computation needs of a message.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub id: MessageId,
    /// Its map in `messages`, so that reading the message needs no lookup.
    pub obj: ObjId,
    pub parent: Option<MessageId>,
    pub variant_of: Option<MessageId>,
}

impl Node {
    /// The variant group this message belongs to: named after its first member.
    pub fn group(&self) -> &MessageId {
        self.variant_of.as_ref().unwrap_or(&self.id)
    }
}

/// The message tree in `order`, with the variant selection.
pub(crate) struct Tree<'a> {
    /// Every message once, in `order`.
    nodes: Vec<&'a Node>,
    index: HashMap<&'a MessageId, usize>,
    /// Group id → members, in order.
    groups: HashMap<&'a MessageId, Vec<usize>>,
    /// Group id → the selected member. A list: selections are few (one per edited message), and
    /// a map type of its own would add its collection code to the browser package.
    selected: Vec<(MessageId, MessageId)>,
}

impl<'a> Tree<'a> {
    /// `nodes` in document order; duplicates (the same id listed twice) keep their first place.
    pub fn new(all: &'a [Node], selected: Vec<(MessageId, MessageId)>) -> Self {
        let mut index = HashMap::with_capacity(all.len());
        let mut nodes = Vec::with_capacity(all.len());
        for node in all {
            if !index.contains_key(&node.id) {
                index.insert(&node.id, nodes.len());
                nodes.push(node);
            }
        }
        let mut groups: HashMap<&MessageId, Vec<usize>> = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            groups.entry(node.group()).or_default().push(i);
        }
        Self {
            nodes,
            index,
            groups,
            selected,
        }
    }

    /// Every message once, in `order` (a parent before its children when each was written after it).
    pub fn nodes(&self) -> &[&'a Node] {
        &self.nodes
    }

    pub fn get(&self, id: &MessageId) -> Option<&'a Node> {
        self.index.get(id).map(|&i| self.nodes[i])
    }

    /// The members of `id`'s variant group, in order (just `id` when it has no variants).
    pub fn variants(&self, id: &MessageId) -> Vec<MessageId> {
        let Some(node) = self.get(id) else {
            return Vec::new();
        };
        self.groups
            .get(node.group())
            .map(|members| members.iter().map(|&i| self.nodes[i].id.clone()).collect())
            .unwrap_or_default()
    }

    /// The member of `group` on the path: the selected one if it is a member, else the newest.
    fn chosen(&self, group: &MessageId) -> Option<&MessageId> {
        let members = self.groups.get(group)?;
        let selected = self
            .selected
            .iter()
            .find(|(g, _)| g == group)
            .map(|(_, member)| member)
            .filter(|s| {
                self.index
                    .get(*s)
                    .is_some_and(|&i| self.nodes[i].group() == group)
            });
        selected.or_else(|| members.last().map(|&i| &self.nodes[i].id))
    }

    /// The active path, in order.
    pub fn active_path(&self) -> Vec<&'a Node> {
        let mut on_path = vec![false; self.nodes.len()];
        let mut path = Vec::new();
        for (i, &node) in self.nodes.iter().enumerate() {
            // A parent this document does not know (a foreign writer) counts as the root, so the message
            // is not silently hidden.
            let parent_ok = match &node.parent {
                None => true,
                Some(p) => self.index.get(p).is_none_or(|&parent| on_path[parent]),
            };
            if parent_ok && self.chosen(node.group()) == Some(&node.id) {
                on_path[i] = true;
                path.push(node);
            }
        }
        path
    }

    /// Selections that make `id` visible: `id` in its group, and each ancestor in its own.
    pub fn selections_to_show(&self, id: &MessageId) -> Vec<(MessageId, MessageId)> {
        let mut out = Vec::new();
        let mut next = self.get(id);
        let mut guard = 0;
        while let Some(node) = next {
            if self.groups.get(node.group()).is_some_and(|m| m.len() > 1)
                && self.chosen(node.group()) != Some(&node.id)
            {
                out.push((node.group().clone(), node.id.clone()));
            }
            next = node.parent.as_ref().and_then(|p| self.get(p));
            guard += 1;
            if guard > self.nodes.len() {
                break; // a parent cycle written by a foreign peer
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn id(s: &str) -> MessageId {
        MessageId::new(s).unwrap()
    }

    fn node(i: &str, parent: Option<&str>, variant_of: Option<&str>) -> Node {
        Node {
            id: id(i),
            obj: ObjId::Root,
            parent: parent.map(id),
            variant_of: variant_of.map(id),
        }
    }

    fn path<'a>(tree: &Tree<'a>) -> Vec<&'a str> {
        tree.active_path()
            .into_iter()
            .map(|n| n.id.as_str())
            .collect()
    }

    #[test]
    fn concurrent_appends_with_one_parent_both_stay_on_the_path() {
        let nodes = [
            node("u1", None, None),
            node("a", Some("u1"), None),
            node("b", Some("u1"), None),
        ];
        let tree = Tree::new(&nodes, Vec::new());
        assert_eq!(path(&tree), ["u1", "a", "b"]);
    }

    #[test]
    fn newest_variant_wins_unless_one_is_selected() {
        let nodes = vec![
            node("u1", None, None),
            node("a1", Some("u1"), None),
            node("a2", Some("u1"), Some("a1")),
            node("u2", Some("a1"), None),
        ];
        let tree = Tree::new(&nodes, Vec::new());
        assert_eq!(path(&tree), ["u1", "a2"]);
        let tree = Tree::new(&nodes, vec![(id("a1"), id("a1"))]);
        assert_eq!(path(&tree), ["u1", "a1", "u2"]);
    }

    #[test]
    fn selecting_a_deep_message_selects_its_ancestors() {
        let nodes = vec![
            node("u1", None, None),
            node("a1", Some("u1"), None),
            node("u2", Some("a1"), None),
            node("a2", Some("u1"), Some("a1")),
        ];
        let tree = Tree::new(&nodes, Vec::new());
        assert_eq!(tree.selections_to_show(&id("u2")), [(id("a1"), id("a1"))]);
    }

    #[test]
    fn parent_cycles_and_duplicates_do_not_hang_or_panic() {
        let nodes = vec![
            node("x", Some("y"), None),
            node("y", Some("x"), None),
            node("x", None, None),
        ];
        let tree = Tree::new(&nodes, Vec::new());
        assert!(path(&tree).is_empty());
        assert!(tree.selections_to_show(&id("x")).is_empty());
    }
}
