//! [`Local`]: Python's `threading.local`, one value per thread.
//!
//! The values live in the threads, not in the `Local`: each OS thread keeps
//! a map from `Local` id to its own value in a `thread_local!`, so a value
//! is only ever touched by its thread and is dropped when that thread ends.

use crate::threading::error::{Error, ErrorKind, Result};
use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

static NEXT_LOCAL: AtomicU64 = AtomicU64::new(1);

/// One thread's value for one `Local`.
struct Slot {
    /// Dead once its `Local` is dropped: the slot may then go.
    owner: Weak<()>,
    /// An `Rc<RefCell<T>>`, so a `with` can run without the map borrowed.
    value: Rc<dyn Any>,
}

thread_local! {
    static SLOTS: RefCell<HashMap<u64, Slot>> = RefCell::new(HashMap::new());
}

/// A value per thread: Python's `threading.local`.
///
/// Each thread that touches it gets its own value, made by the `init`
/// function on first use, invisible to other threads and dropped when its
/// thread ends.
///
/// # Examples
///
/// ```
/// use threadscope::threading::{Local, Thread};
/// use std::sync::Arc;
///
/// let visits = Arc::new(Local::new(|| 0u32));
/// visits.with_mut(|n| *n += 1);
/// let other = visits.clone();
/// Thread::spawn(move || assert_eq!(other.get(), 0)).unwrap().join().unwrap();
/// assert_eq!(visits.get(), 1);
/// ```
///
/// Python's attribute bag is [`Local::namespace`]:
///
/// ```
/// use threadscope::threading::Local;
/// let mydata = Local::namespace();
/// mydata.set_attr("x", 42).unwrap();
/// assert_eq!(mydata.get_attr::<i32>("x"), Ok(42));
/// assert_eq!(mydata.get_attr::<i32>("y").unwrap_err().to_string(),
///            "AttributeError: '_thread._local' object has no attribute 'y'");
/// ```
///
/// `threading.local(1)` is a `TypeError` ("Initialization arguments are not
/// supported"); here it does not compile:
///
/// ```compile_fail,E0061
/// let mydata = threadscope::threading::Local::namespace(1);
/// ```
///
/// # Differences from Python
///
/// - A `Local<T>` holds one typed value per thread; a subclass with an
///   `__init__(self, *args)` is an `init` closure that captures the
///   arguments and runs again in each thread. [`Namespace`] is the untyped
///   attribute bag of a plain `threading.local()`.
/// - When a `Local` is dropped, the calling thread's value goes at once;
///   other threads drop theirs when they next create a value for any
///   `Local`, or when they end (Python frees them all at once).
/// - Used from another thread-local's destructor, after this thread's
///   values were dropped, a `Local` gives a fresh value that lasts for the call.
/// - Locals are not blocking primitives and do not appear in the registry.
pub struct Local<T: 'static> {
    id: u64,
    alive: Arc<()>,
    init: Box<dyn Fn() -> T + Send + Sync>,
}

impl<T: 'static> Local<T> {
    /// A `Local` whose value in each thread starts as `init()`.
    pub fn new(init: impl Fn() -> T + Send + Sync + 'static) -> Self {
        Self { id: NEXT_LOCAL.fetch_add(1, Ordering::Relaxed), alive: Arc::new(()), init: Box::new(init) }
    }

    /// This thread's value, made now if it has none.
    fn cell(&self) -> Rc<RefCell<T>> {
        match self.existing() {
            Ok(Some(cell)) => cell,
            Ok(None) => self.insert((self.init)()),
            Err(()) => Rc::new(RefCell::new((self.init)())),
        }
    }

    /// This thread's value if it has one; `Err` once its thread-locals are gone.
    fn existing(&self) -> Result<Option<Rc<RefCell<T>>>, ()> {
        let found = SLOTS
            .try_with(|slots| slots.borrow().get(&self.id).map(|slot| slot.value.clone()))
            .map_err(|_| ())?;
        // A Local's id only ever maps to a `RefCell<T>` of its own `T`.
        Ok(found.and_then(|value| value.downcast::<RefCell<T>>().ok()))
    }

    /// Stores `value` as this thread's, dropping slots of dead `Local`s
    /// (after the map is released: their drops may use other `Local`s).
    fn insert(&self, value: T) -> Rc<RefCell<T>> {
        let cell = Rc::new(RefCell::new(value));
        let slot = Slot { owner: Arc::downgrade(&self.alive), value: cell.clone() };
        let dead: Vec<(u64, Slot)> = SLOTS
            .try_with(|slots| {
                let mut slots = slots.borrow_mut();
                let dead = slots.extract_if(|_, slot| slot.owner.strong_count() == 0).collect();
                slots.insert(self.id, slot);
                dead
            })
            .unwrap_or_default();
        drop(dead);
        cell
    }

    /// Calls `f` with this thread's value.
    ///
    /// # Panics
    ///
    /// If called inside [`with_mut`](Self::with_mut) on the same `Local`.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let cell = self.cell();
        let value = cell.borrow();
        f(&value)
    }

    /// Calls `f` with this thread's value, mutably.
    ///
    /// # Panics
    ///
    /// If called inside [`with`](Self::with) or `with_mut` on the same `Local`.
    pub fn with_mut<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let cell = self.cell();
        let mut value = cell.borrow_mut();
        f(&mut value)
    }

    /// A copy of this thread's value.
    pub fn get(&self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }

    /// Replaces this thread's value (without running `init` if it had none).
    ///
    /// # Panics
    ///
    /// If called inside [`with`](Self::with) or [`with_mut`](Self::with_mut)
    /// on the same `Local`.
    pub fn set(&self, value: T) {
        match self.existing() {
            Ok(Some(cell)) => drop(cell.replace(value)),
            Ok(None) => drop(self.insert(value)),
            Err(()) => {}
        }
    }
}

impl<T: Default + 'static> Default for Local<T> {
    fn default() -> Self {
        Self::new(T::default)
    }
}

impl<T: 'static> Drop for Local<T> {
    fn drop(&mut self) {
        let mine = SLOTS.try_with(|slots| slots.try_borrow_mut().ok().and_then(|mut s| s.remove(&self.id)));
        drop(mine);
    }
}

impl<T: 'static> fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<_thread._local object at {:p}>", self)
    }
}

/// The attributes one thread sees on a [`Local::namespace`]: Python's
/// per-thread `local.__dict__`.
///
/// # Examples
///
/// ```
/// use threadscope::threading::Local;
/// let mydata = Local::namespace();
/// mydata.set_attr("color", "red").unwrap();
/// assert!(mydata.with(|ns| ns.contains("color") && ns.names().count() == 1));
/// ```
#[derive(Default)]
pub struct Namespace {
    attrs: HashMap<String, Box<dyn Any>>,
}

impl Namespace {
    /// The names set in this thread, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.attrs.keys().map(String::as_str)
    }

    /// True if `name` is set in this thread.
    pub fn contains(&self, name: &str) -> bool {
        self.attrs.contains_key(name)
    }
}

impl fmt::Debug for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

fn no_attribute(name: &str) -> Error {
    Error::new(ErrorKind::AttributeError, format!("'_thread._local' object has no attribute '{name}'"))
}

fn read_only(name: &str) -> Result<()> {
    if name == "__dict__" {
        return Err(Error::new(
            ErrorKind::AttributeError,
            "'_thread._local' object attribute '__dict__' is read-only",
        ));
    }
    Ok(())
}

impl Local<Namespace> {
    /// An attribute bag per thread: Python's `threading.local()`.
    pub fn namespace() -> Self {
        Self::new(Namespace::default)
    }

    /// This thread's value of attribute `name`: `mydata.x`.
    ///
    /// # Errors
    ///
    /// - `AttributeError: '_thread._local' object has no attribute 'x'` if
    ///   this thread never set it (another thread's value does not count).
    /// - `TypeError` if it holds a value of another type than `V`.
    pub fn get_attr<V: Clone + 'static>(&self, name: &str) -> Result<V> {
        self.with(|ns| {
            let value = ns.attrs.get(name).ok_or_else(|| no_attribute(name))?;
            value.downcast_ref::<V>().cloned().ok_or_else(|| {
                let wanted = std::any::type_name::<V>();
                Error::new(ErrorKind::TypeError, format!("attribute '{name}' is not a {wanted}"))
            })
        })
    }

    /// Sets attribute `name` for this thread only: `mydata.x = value`.
    ///
    /// # Errors
    ///
    /// `AttributeError: '_thread._local' object attribute '__dict__' is
    /// read-only` for `__dict__`.
    pub fn set_attr<V: 'static>(&self, name: &str, value: V) -> Result<()> {
        read_only(name)?;
        let old = self.with_mut(|ns| ns.attrs.insert(name.to_owned(), Box::new(value)));
        drop(old);
        Ok(())
    }

    /// Removes attribute `name` for this thread: `del mydata.x`.
    ///
    /// # Errors
    ///
    /// `AttributeError` if it is not set (or is `__dict__`), as in Python.
    pub fn del_attr(&self, name: &str) -> Result<()> {
        read_only(name)?;
        let old = self.with_mut(|ns| ns.attrs.remove(name));
        old.map(drop).ok_or_else(|| no_attribute(name))
    }

    /// True if this thread set attribute `name`: `hasattr(mydata, "x")`.
    pub fn has_attr(&self, name: &str) -> bool {
        self.with(|ns| ns.contains(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_local_leaves_this_thread_at_once_and_others_lazily() {
        let first = Local::new(|| 1);
        first.get();
        let id = first.id;
        drop(first);
        assert!(SLOTS.with(|s| !s.borrow().contains_key(&id)));
    }

    #[test]
    fn dead_slots_go_when_a_new_value_is_made() {
        let dead = Local::new(|| 1);
        dead.get();
        let id = dead.id;
        // Dropped elsewhere: this thread's slot outlives it for now.
        std::thread::spawn(move || drop(dead)).join().unwrap();
        assert!(SLOTS.with(|s| s.borrow().contains_key(&id)));
        Local::new(|| 2).get();
        assert!(SLOTS.with(|s| !s.borrow().contains_key(&id)));
    }

    #[test]
    fn set_without_get_skips_init() {
        let local = Local::new(|| -> u32 { panic!("init must not run") });
        local.set(5);
        assert_eq!(local.get(), 5);
        local.set(6);
        assert_eq!(local.get(), 6);
    }

    #[test]
    fn a_value_of_another_type_is_a_type_error() {
        let ns = Local::namespace();
        ns.set_attr("x", 1u8).unwrap();
        assert_eq!(ns.get_attr::<String>("x").unwrap_err().kind(), ErrorKind::TypeError);
        ns.del_attr("x").unwrap();
        assert!(!ns.has_attr("x"));
    }
}
