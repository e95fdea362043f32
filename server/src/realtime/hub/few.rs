//! A set that almost always holds one member: a user's connections on this node, a session's,
//! a user's clients online in a workspace. One member is held inline; a `HashSet` is made only
//! for the second. (Each one-member `HashSet` was an allocation of ~100 bytes, and a connection
//! of its own user had three.)

use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::Hash;

#[derive(Clone, Debug, Default)]
pub enum Few<T> {
    #[default]
    Empty,
    One(T),
    Many(HashSet<T>),
}

impl<T: Hash + Eq> Few<T> {
    /// Adds `value`; false if it was there.
    pub fn insert(&mut self, value: T) -> bool {
        match self {
            Few::Empty => *self = Few::One(value),
            Few::One(one) if *one == value => return false,
            Few::One(_) => {
                let Few::One(one) = std::mem::take(self) else { unreachable!() };
                *self = Few::Many(HashSet::from([one, value]));
            }
            Few::Many(set) => return set.insert(value),
        }
        true
    }

    /// Removes `value`; false if it was not there. A set left with one member holds it inline.
    pub fn remove<Q>(&mut self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self {
            Few::Empty => false,
            Few::One(one) => {
                let found = (*one).borrow() == value;
                if found {
                    *self = Few::Empty;
                }
                found
            }
            Few::Many(set) => {
                let found = set.remove(value);
                if set.len() == 1 {
                    let one = set.drain().next().expect("one member");
                    *self = Few::One(one);
                }
                found
            }
        }
    }

    pub fn contains<Q>(&self, value: &Q) -> bool
    where
        T: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self {
            Few::Empty => false,
            Few::One(one) => one.borrow() == value,
            Few::Many(set) => set.contains(value),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Few::Empty => 0,
            Few::One(_) => 1,
            Few::Many(set) => set.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        let (one, many) = match self {
            Few::Empty => (None, None),
            Few::One(one) => (Some(one), None),
            Few::Many(set) => (None, Some(set.iter())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::Few;

    #[test]
    fn behaves_as_a_set_through_one_and_many_members() {
        let mut few = Few::default();
        assert!(few.is_empty());
        assert!(few.insert("a".to_string()));
        assert!(!few.insert("a".to_string()));
        assert!(matches!(few, Few::One(_)));
        assert!(few.insert("b".to_string()));
        assert!(few.insert("c".to_string()));
        assert_eq!(few.len(), 3);
        assert!(few.contains("b") && !few.contains("z"));
        let mut all: Vec<&str> = few.iter().map(String::as_str).collect();
        all.sort();
        assert_eq!(all, ["a", "b", "c"]);
        assert!(few.remove("b"));
        assert!(!few.remove("b"));
        assert!(few.remove("a"));
        assert!(matches!(&few, Few::One(c) if c == "c"), "one member left is held inline");
        assert_eq!(few.iter().count(), 1);
        assert!(few.remove("c"));
        assert!(few.is_empty() && few.iter().next().is_none());
    }
}
