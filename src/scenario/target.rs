//! What a step acts on, typed: a [`Target`] of a [`Class`] can only be made
//! by validation, for a primitive of that class, so the interpreter never
//! meets a step aimed at the wrong kind of primitive.

use super::model::{PrimitiveSpec, PrimitiveSpecKind};
use crate::threading::PrimitiveKind;
use serde::{Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

/// The families of primitive a step can act on. A condition is in two: one
/// acquires and releases it (its lock), and waits on and notifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Acquired and released: lock, rlock, condition, semaphores.
    Lockable,
    /// Waited on, set and cleared.
    Event,
    /// Waited on and notified.
    Condition,
    /// Waited on by its parties.
    Barrier,
    /// Put into, taken from, joined.
    Queue,
    /// Given tasks.
    Pool,
}

impl Class {
    /// Every class, in the order they are tried when a step accepts several.
    pub const ALL: [Class; 6] =
        [Self::Lockable, Self::Event, Self::Condition, Self::Barrier, Self::Queue, Self::Pool];

    /// The kinds of primitive in this class, for messages and pickers.
    pub fn kinds(self) -> &'static [PrimitiveKind] {
        use PrimitiveKind::*;
        match self {
            Self::Lockable => &[Lock, RLock, Semaphore, BoundedSemaphore, Condition],
            Self::Event => &[Event],
            Self::Condition => &[Condition],
            Self::Barrier => &[Barrier],
            Self::Queue => &[Queue],
            Self::Pool => &[ThreadPool],
        }
    }

    fn contains(self, kind: PrimitiveKind) -> bool {
        self.kinds().contains(&kind)
    }
}

/// Marker types naming a [`Class`] in a [`Target`]'s type.
pub mod class {
    macro_rules! markers {
        ($($name:ident => $class:ident),+ $(,)?) => {$(
            #[doc = concat!("Targets of class [`Class::", stringify!($class), "`](super::Class::", stringify!($class), ").")]
            #[derive(Debug, Clone, Copy, PartialEq, Eq)]
            pub enum $name {}
            impl super::ClassMarker for $name {
                const CLASS: super::Class = super::Class::$class;
            }
        )+};
    }
    markers!(Lockables => Lockable, Events => Event, Conditions => Condition, Barriers => Barrier, Queues => Queue, Pools => Pool);
}

/// A marker type for one [`Class`].
pub trait ClassMarker {
    /// The class it names.
    const CLASS: Class;
}

/// A step's target: a primitive of class `C`.
///
/// `primitive` indexes [`Scenario::primitives`](super::Scenario::primitives)
/// (for its name); `slot` is its place among the scenario's primitives of
/// the class, which is where the running scenario keeps its live object.
pub struct Target<C> {
    /// Index in [`Scenario::primitives`](super::Scenario::primitives).
    pub primitive: usize,
    slot: usize,
    class: PhantomData<C>,
}

impl<C: ClassMarker> Target<C> {
    /// The target for `primitives[index]`, if that primitive is of class `C`.
    pub fn of(primitives: &[PrimitiveSpec], index: usize) -> Option<Self> {
        slot(primitives, index, C::CLASS).map(|slot| Self { primitive: index, slot, class: PhantomData })
    }

    /// Its place among the live primitives of its class.
    pub(crate) fn slot(&self) -> usize {
        self.slot
    }
}

/// The classes of a primitive of `kind`.
pub fn classes_of(kind: &PrimitiveSpecKind) -> impl Iterator<Item = Class> {
    let kind = kind.kind();
    Class::ALL.into_iter().filter(move |class| class.contains(kind))
}

/// The slot of `primitives[index]` within `class`: how many primitives
/// before it are of that class. `None` if it is not of that class.
fn slot(primitives: &[PrimitiveSpec], index: usize, class: Class) -> Option<usize> {
    let of_class = |p: &PrimitiveSpec| classes_of(&p.kind).any(|c| c == class);
    of_class(primitives.get(index)?).then(|| primitives[..index].iter().filter(|p| of_class(p)).count())
}

// Derives would demand `C: Clone` and so on of the marker; a target is a
// pair of indices whatever its class.
impl<C> Clone for Target<C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<C> Copy for Target<C> {}
impl<C> PartialEq for Target<C> {
    fn eq(&self, other: &Self) -> bool {
        self.primitive == other.primitive
    }
}
impl<C> fmt::Debug for Target<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.primitive)
    }
}
/// A target serialises as its primitive's index, as before it was typed.
impl<C> Serialize for Target<C> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.primitive as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::class::{Conditions, Events, Lockables};
    use super::*;

    fn spec(name: &str, kind: PrimitiveSpecKind) -> PrimitiveSpec {
        PrimitiveSpec { name: name.into(), kind }
    }

    #[test]
    fn slots_count_within_the_class_and_a_condition_is_in_two() {
        let primitives = [
            spec("a", PrimitiveSpecKind::Lock),
            spec("e", PrimitiveSpecKind::Event),
            spec("c", PrimitiveSpecKind::Condition { lock: Some(0) }),
            spec("s", PrimitiveSpecKind::Semaphore { value: 1, bounded: true }),
        ];
        assert_eq!(Target::<Lockables>::of(&primitives, 0).map(|t| t.slot()), Some(0));
        assert_eq!(Target::<Lockables>::of(&primitives, 2).map(|t| t.slot()), Some(1));
        assert_eq!(Target::<Lockables>::of(&primitives, 3).map(|t| t.slot()), Some(2));
        assert_eq!(Target::<Conditions>::of(&primitives, 2).map(|t| t.slot()), Some(0));
        assert_eq!(Target::<Events>::of(&primitives, 1).map(|t| t.slot()), Some(0));
        assert!(Target::<Events>::of(&primitives, 0).is_none());
        assert!(Target::<Events>::of(&primitives, 9).is_none());
    }
}
