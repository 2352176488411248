//! List order, as Mainflux 0.12's `order` and `dir`: by `id` (default) or `name`, `desc`
//! (default) or `asc`.
//!
//! Ordering by name: a row without a name sorts as the empty string (first ascending, last
//! descending), names compare byte-wise (PostgreSQL's `C` collation, the same on every
//! node), and equal names are ordered by id so that pages never overlap or skip. `desc` is
//! exactly the reverse of `asc`, ties included.

use std::cmp::Ordering;

use domain::values::Metadata;
use uuid::Uuid;

use super::state::{ChannelRow, ThingRow};

/// The sort key of a list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    Id,
    Name,
}

/// The direction of a list; Mainflux 0.12 defaults to descending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Dir {
    Asc,
    #[default]
    Desc,
}

/// What lists filter and sort on.
pub trait Listed {
    fn list_id(&self) -> Uuid;
    fn list_name(&self) -> Option<&str>;
    fn list_metadata(&self) -> Option<&Metadata>;
}

impl Listed for ThingRow {
    fn list_id(&self) -> Uuid {
        self.id.0
    }
    fn list_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn list_metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }
}

impl Listed for ChannelRow {
    fn list_id(&self) -> Uuid {
        self.id.0
    }
    fn list_name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    fn list_metadata(&self) -> Option<&Metadata> {
        self.metadata.as_ref()
    }
}

/// Compares two rows under `order` and `dir`.
pub fn compare<T: Listed>(a: &T, b: &T, order: Order, dir: Dir) -> Ordering {
    let ascending = match order {
        Order::Id => a.list_id().cmp(&b.list_id()),
        Order::Name => a
            .list_name()
            .unwrap_or_default()
            .cmp(b.list_name().unwrap_or_default())
            .then_with(|| a.list_id().cmp(&b.list_id())),
    };
    match dir {
        Dir::Asc => ascending,
        Dir::Desc => ascending.reverse(),
    }
}

#[cfg(test)]
mod tests {
    use domain::ids::{ChannelId, UserId};

    use super::*;

    fn row(id: u128, name: Option<&str>) -> ChannelRow {
        ChannelRow {
            id: ChannelId(Uuid::from_u128(id)),
            owner: UserId(Uuid::from_u128(0)),
            name: name.map(str::to_owned),
            metadata: None,
        }
    }

    fn sorted(order: Order, dir: Dir) -> Vec<u128> {
        let mut rows = [
            row(3, Some("b")),
            row(1, Some("b")),
            row(2, None),
            row(4, Some("B")),
            row(5, Some("a")),
        ];
        rows.sort_by(|a, b| compare(a, b, order, dir));
        rows.iter().map(|r| r.id.0.as_u128()).collect()
    }

    #[test]
    fn orders_as_a_table() {
        let cases = [
            (Order::Id, Dir::Asc, vec![1, 2, 3, 4, 5]),
            (Order::Id, Dir::Desc, vec![5, 4, 3, 2, 1]),
            // Nameless first, then byte order ("B" < "a" < "b"), ties by id.
            (Order::Name, Dir::Asc, vec![2, 4, 5, 1, 3]),
            (Order::Name, Dir::Desc, vec![3, 1, 5, 4, 2]),
        ];
        for (order, dir, expected) in cases {
            assert_eq!(sorted(order, dir), expected, "{order:?} {dir:?}");
        }
    }
}
