"""threadscope's Python agent: serves this program's threads, their stacks,
and the locks, conditions, events, semaphores, barriers and queues they hold
and wait on, to `threadscope attach PID` / `exec` / `snapshot --pid PID`
over a Unix socket (docs/agent-protocol.md in threadscope, version 1).

Importing the module starts it: it wraps threading's primitives (so import
it before the program creates its own: `threadscope exec` loads it as a
sitecustomize; by hand, `PYTHONPATH=DIR python3 -c 'import threadscope_agent'`
or `import threadscope_agent` first thing in the program) and serves from
a thread of its own. Standard library only, CPython 3.8 and newer.

Two promises hold the design together:

- The wrappers keep Python's semantics: every call goes to the original
  primitive; the wrapper only notes, in plain attributes and dicts, who
  holds what and who waits where. Primitives that threading and queue
  create for their own use (a Thread's Event, a Queue's mutex) are the
  originals, untouched.
- The agent takes no lock the program's threads use: it reads that
  bookkeeping (and threading._active, sys._current_frames()) under the GIL
  alone, so a deadlocked program still answers. Threads blocked in a lock
  have released the GIL.

Primitives are named by where they were created (`app.py:42`) unless the
program names one: `threadscope_agent.name(lock, "accounts")`.
"""

import _thread
import atexit
import itertools
import json
import os
import queue
import selectors
import socket
import stat
import struct
import sys
import threading
import time
import weakref

AGENT_VERSION = "0.1.0"
PROTOCOL = 1
MAX_REQUEST_BYTES = 4096
IDLE_SECONDS = 30.0
SEND_SECONDS = 5.0
MAX_CONNECTIONS = 16
MAX_FRAMES = 128

__all__ = ["name", "start", "AGENT_VERSION"]

_MY_GLOBALS = globals()
_THREADING_GLOBALS = vars(threading)
_QUEUE_GLOBALS = vars(queue)

_get_ident = _thread.get_ident
_monotonic = time.monotonic
_real_lock = _thread.allocate_lock
_real_rlock = getattr(_thread, "RLock", None) or threading._PyRLock

_orig_Condition = threading.Condition
_orig_Semaphore = threading.Semaphore
_orig_BoundedSemaphore = threading.BoundedSemaphore
_orig_Event = threading.Event
_orig_Barrier = threading.Barrier
_orig_queues = (queue.Queue, queue.LifoQueue, queue.PriorityQueue)
_real_sleep = time.sleep

# The bookkeeping the agent reads. Each is changed by single operations
# (a dict item set or popped, a list append or pop, an attribute stored),
# which the GIL makes whole; the agent copies with list(), also whole.
_prims = {}  # id -> _Rec, for every tracked primitive alive
_waits = {}  # thread ident -> [(rec, role, since)], innermost last
_ids = iter(range(1, 1 << 62))
_made_at = {}  # creation site -> a count of the primitives made there


class _Rec:
    """What the agent knows of one primitive; it never touches the primitive."""

    __slots__ = ("id", "kind", "name", "site", "holder", "holders", "lock", "ref", "__weakref__")

    def __init__(self, kind, site):
        self.id = next(_ids)
        self.kind = kind
        self.name = site
        self.site = site
        self.holder = None  # the owning thread's ident (Lock, RLock, a Condition's own RLock)
        self.holders = None  # idents holding a permit (Semaphore), one per permit
        self.lock = None  # a Condition's lock's record, when the program gave it one

    def forget(self, _ref):
        _prims.pop(self.id, None)


def _site(frame):
    return "%s:%d" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno)


def _register(obj, kind, frame):
    site = _site(frame)
    # Named by where it was made; the second made at the same line (two
    # on one line, or one line in a loop) is `site #2`, so no two show alike.
    # (setdefault and next() are each one step, whole under the GIL.)
    made = next(_made_at.setdefault(site, itertools.count(1)))
    rec = _Rec(kind, site)
    if made > 1:
        rec.name = "%s #%d" % (site, made)
    rec.ref = weakref.ref(obj, rec.forget)
    _prims[rec.id] = rec
    return rec


def _internal(frame):
    """Created by threading or queue for their own use: left original."""
    g = frame.f_globals
    return g is _THREADING_GLOBALS or g is _QUEUE_GLOBALS


def _push(me, rec, role):
    stack = _waits.get(me)
    if stack is None:
        stack = _waits[me] = []
    stack.append((rec, role, _monotonic()))
    return stack


def _waiting(rec, role, call, *args):
    """Runs `call(*args)` noted as this thread waiting on `rec` in `role`
    (the locks' acquire paths do the same inline: they are the hot ones)."""
    stack = _push(_get_ident(), rec, role)
    try:
        return call(*args)
    finally:
        stack.pop()


def name(primitive, text):
    """Names a primitive for threadscope's screens; returns it, so that
    `lock = name(threading.Lock(), "accounts")` reads as one line."""
    rec = getattr(primitive, "_ts", None)
    if isinstance(rec, _Rec):
        rec.name = str(text)
    return primitive


class Lock:
    """threading.Lock, with its holder noted."""

    __slots__ = ("_lock", "_ts", "__weakref__")

    def __new__(cls):
        caller = sys._getframe(1)
        if cls is Lock and _internal(caller):
            return _real_lock()
        self = object.__new__(cls)
        self._lock = _real_lock()
        self._ts = _register(self, "lock", caller)
        return self

    def acquire(self, blocking=True, timeout=-1):
        lock = self._lock
        # The uncontended path: one try, one attribute stored.
        if timeout == -1 and lock.acquire(False):
            self._ts.holder = _get_ident()
            return True
        if not blocking:
            # The original refuses a timeout here, with its own error.
            if lock.acquire(blocking, timeout):
                self._ts.holder = _get_ident()
                return True
            return False
        me = _get_ident()
        stack = _push(me, self._ts, "acquire")
        try:
            got = lock.acquire(blocking, timeout)
        finally:
            stack.pop()
        if got:
            self._ts.holder = me
        return got

    __enter__ = acquire

    def release(self):
        # Cleared first: once released, another thread may be the holder.
        self._ts.holder = None
        self._lock.release()

    def __exit__(self, *exc):
        self.release()

    def locked(self):
        return self._lock.locked()

    def _at_fork_reinit(self):
        self._lock._at_fork_reinit()
        self._ts.holder = None

    def __getattr__(self, attr):
        if attr in Lock.__slots__:
            raise AttributeError(attr)
        return getattr(self._lock, attr)

    def __repr__(self):
        return repr(self._lock)


class RLock:
    """threading.RLock, with its owner noted."""

    __slots__ = ("_lock", "_ts", "_count", "__weakref__")

    def __new__(cls, *args, **kwargs):
        caller = sys._getframe(1)
        if cls is RLock and _internal(caller):
            return _real_rlock(*args, **kwargs)
        self = object.__new__(cls)
        self._lock = _real_rlock(*args, **kwargs)
        self._count = 0
        self._ts = _register(self, "rlock", caller)
        return self

    def acquire(self, blocking=True, timeout=-1):
        lock = self._lock
        if timeout == -1 and lock.acquire(False):
            self._count += 1
            self._ts.holder = _get_ident()
            return True
        if not blocking:
            if lock.acquire(blocking, timeout):
                self._count += 1
                self._ts.holder = _get_ident()
                return True
            return False
        me = _get_ident()
        stack = _push(me, self._ts, "acquire")
        try:
            got = lock.acquire(blocking, timeout)
        finally:
            stack.pop()
        if got:
            self._count += 1
            self._ts.holder = me
        return got

    __enter__ = acquire

    def release(self):
        lock = self._lock
        if not lock._is_owned():
            lock.release()  # raises the original's RuntimeError
            return
        self._count -= 1
        if not self._count:
            self._ts.holder = None
        lock.release()

    def __exit__(self, *exc):
        self.release()

    # Condition's hooks: release all levels while waiting, then restore them.
    def _is_owned(self):
        return self._lock._is_owned()

    def _release_save(self):
        lock = self._lock
        if not lock._is_owned():
            return lock._release_save()  # raises
        count = self._count
        self._count = 0
        self._ts.holder = None
        return (lock._release_save(), count)

    def _acquire_restore(self, state):
        inner, count = state
        me = _get_ident()
        stack = _push(me, self._ts, "acquire")
        try:
            self._lock._acquire_restore(inner)
        finally:
            stack.pop()
        self._count = count
        self._ts.holder = me

    def _at_fork_reinit(self):
        self._lock._at_fork_reinit()
        self._count = 0
        self._ts.holder = None

    def __getattr__(self, attr):
        if attr in RLock.__slots__:
            raise AttributeError(attr)
        return getattr(self._lock, attr)

    def __repr__(self):
        return repr(self._lock)


def _rlock_for(rec):
    """A Condition's own RLock: its holder and waiters are the Condition's."""
    lock = object.__new__(RLock)
    lock._lock = _real_rlock()
    lock._count = 0
    lock._ts = rec
    return lock


class Condition(_orig_Condition):
    """threading.Condition; waits in wait() and wait_for() are noted."""

    def __new__(cls, lock=None):
        if cls is Condition and _internal(sys._getframe(1)):
            return _orig_Condition(lock)
        return object.__new__(cls)

    def __init__(self, lock=None):
        rec = _register(self, "condition", sys._getframe(1))
        if lock is None:
            lock = _rlock_for(rec)
        else:
            given = getattr(lock, "_ts", None)
            rec.lock = given if isinstance(given, _Rec) else None
        self._ts = rec
        _orig_Condition.__init__(self, lock)

    def wait(self, timeout=None):
        return _waiting(self._ts, "wait", _orig_Condition.wait, self, timeout)


def _take_holders(holders, me, n):
    """Removes n permits from the holders, the releasing thread's first
    (any thread may release a semaphore); returns what it removed."""
    removed = []
    while holders and len(removed) < n:
        who = me if me in holders else holders[0]
        holders.remove(who)
        removed.append(who)
    return removed


class Semaphore(_orig_Semaphore):
    """threading.Semaphore; permits are holders, waits in acquire() noted."""

    _ts_kind = "semaphore"

    def __init__(self, value=1):
        _orig_Semaphore.__init__(self, value)
        # BoundedSemaphore's original __init__ calls this one by name: it
        # registers itself.
        if isinstance(self, Semaphore) and not isinstance(self, BoundedSemaphore):
            self._ts = _register(self, self._ts_kind, sys._getframe(1))
            self._ts.holders = []

    def acquire(self, blocking=True, timeout=None):
        rec = self._ts
        if blocking:
            me = _get_ident()
            stack = _push(me, rec, "acquire")
            try:
                got = _orig_Semaphore.acquire(self, blocking, timeout)
            finally:
                stack.pop()
        else:
            got = _orig_Semaphore.acquire(self, blocking, timeout)
            me = _get_ident()
        if got:
            rec.holders.append(me)
        return got

    __enter__ = acquire

    def release(self, *args, **kwargs):
        n = args[0] if args else kwargs.get("n", 1)
        holders = self._ts.holders
        removed = _take_holders(holders, _get_ident(), n if isinstance(n, int) else 1)
        try:
            super(Semaphore, self).release(*args, **kwargs)
        except BaseException:
            holders.extend(removed)
            raise


class BoundedSemaphore(Semaphore, _orig_BoundedSemaphore):
    """threading.BoundedSemaphore (still an instance of threading.Semaphore)."""

    _ts_kind = "bounded semaphore"

    def __init__(self, value=1):
        _orig_BoundedSemaphore.__init__(self, value)
        self._ts = _register(self, self._ts_kind, sys._getframe(1))
        self._ts.holders = []


class Event(_orig_Event):
    """threading.Event; waits noted."""

    def __new__(cls):
        if cls is Event and _internal(sys._getframe(1)):
            return _orig_Event()
        return object.__new__(cls)

    def __init__(self):
        _orig_Event.__init__(self)
        self._ts = _register(self, "event", sys._getframe(1))

    def wait(self, timeout=None):
        return _waiting(self._ts, "wait", _orig_Event.wait, self, timeout)


class Barrier(_orig_Barrier):
    """threading.Barrier; waits noted."""

    def __init__(self, parties, action=None, timeout=None):
        _orig_Barrier.__init__(self, parties, action, timeout)
        self._ts = _register(self, "barrier", sys._getframe(1))

    def wait(self, timeout=None):
        return _waiting(self._ts, "wait", _orig_Barrier.wait, self, timeout)


def _tracked_queue(base):
    """A queue class whose get/put/join waits show as the queue (its own
    mutex and conditions are the originals: queue.py creates them)."""

    class TrackedQueue(base):
        def __init__(self, maxsize=0):
            base.__init__(self, maxsize)
            self._ts = _register(self, "queue", sys._getframe(1))

        def get(self, block=True, timeout=None):
            if not block:
                return base.get(self, block, timeout)
            return _waiting(self._ts, "get", base.get, self, block, timeout)

        def put(self, item, block=True, timeout=None):
            if not block:
                return base.put(self, item, block, timeout)
            return _waiting(self._ts, "put", base.put, self, item, block, timeout)

        def join(self):
            return _waiting(self._ts, "join", base.join, self)

    TrackedQueue.__name__ = base.__name__
    TrackedQueue.__qualname__ = base.__qualname__
    TrackedQueue.__module__ = base.__module__
    TrackedQueue.__doc__ = base.__doc__
    return TrackedQueue


class _Sleep:
    """A `time.sleep()` under way: a wait with no primitive, named by the call."""

    __slots__ = ("name",)
    id = None
    kind = "sleep"

    def __init__(self, args):
        # Only a plain number is shown: another object's repr is the
        # program's code, which a wrapper must not run.
        plain = len(args) == 1 and type(args[0]) in (int, float)
        self.name = "time.sleep(%r)" % args[0] if plain else "time.sleep(...)"


def sleep(*args, **kwargs):
    """`time.sleep`, noted as this thread sleeping (the original does the
    sleeping, and raises what it raises)."""
    stack = _push(_get_ident(), _Sleep(args), "sleep")
    try:
        return _real_sleep(*args, **kwargs)
    finally:
        stack.pop()


sleep.__doc__ = _real_sleep.__doc__
sleep.__module__ = "time"


for _cls in (Lock, RLock, Condition, Semaphore, BoundedSemaphore, Event, Barrier):
    _cls.__module__ = "threading"


# ---------------------------------------------------------------- snapshots


def _text(value):
    """Text the client can parse: lone surrogates (from os.fsdecode) escaped."""
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _stack(frame):
    frames = []
    while frame is not None and len(frames) < MAX_FRAMES:
        # The wrappers' own frames say nothing about the program.
        if frame.f_globals is not _MY_GLOBALS:
            code = frame.f_code
            frames.append({
                "function": _text(code.co_name),
                "location": _text("%s:%d" % (os.path.basename(code.co_filename), frame.f_lineno)),
            })
        frame = frame.f_back
    return frames


def _join_wait(frame, now):
    """A thread blocked in Thread.join(): threading's innermost frame says so,
    and its `self` is the thread joined, named by its native id (`joins`) so
    the client links the very thread, not any of the same name."""
    if frame is None or frame.f_globals is not _THREADING_GLOBALS:
        return None
    if frame.f_code.co_name == "_shutdown":
        # It waits for every non-daemon thread: no single one to name.
        what = "the program's non-daemon threads (at exit)"
        return _join(what, None)
    if frame.f_code.co_name not in ("_wait_for_tstate_lock", "join"):
        return None
    try:
        target = frame.f_locals.get("self")
        what = "thread %s" % target.name
        joins = target.native_id
    except Exception:
        what, joins = "a thread", None
    return _join(_text(what), joins if type(joins) is int else None)


def _join(what, joins):
    return {"kind": "join", "primitive": None, "name": what, "role": "join", "waited_ms": None,
            "joins": joins}


def _wait_of(ident, now):
    stack = _waits.get(ident)
    if not stack:
        return None
    try:
        rec, role, since = stack[-1]
    except IndexError:  # popped since the test above
        return None
    return {
        "kind": rec.kind,
        "primitive": rec.id,
        "name": _text(rec.name),
        "role": role,
        "waited_ms": round((now - since) * 1000.0, 3),
    }


def _snapshot():
    now = _monotonic()
    frames = sys._current_frames()
    active = list(threading._active.items())
    starting = list(threading._limbo)
    threads = []
    native = {}
    waiting = {}  # rec id -> [ident]
    for ident, thread in active:
        tid = thread.native_id
        native[ident] = tid
        alive = ident in frames
        wait = _wait_of(ident, now) if alive else None
        if wait is None and alive:
            wait = _join_wait(frames.get(ident), now)
        if wait is not None and wait["primitive"] is not None:
            waiting.setdefault(wait["primitive"], []).append(ident)
        if not alive:
            state = "terminated"
        elif wait is not None:
            state = "waiting"
        else:
            state = "running"
        threads.append({
            "native_id": tid,
            "ident": ident,
            "name": _text(thread.name),
            "daemon": bool(thread.daemon),
            "alive": alive,
            "state": state,
            "own": False,
            "waiting_on": wait,
            "stack": _stack(frames.get(ident)) if alive else [],
        })
    for thread in starting:
        threads.append({
            "native_id": None,
            "ident": thread.ident or 0,
            "name": _text(thread.name),
            "daemon": bool(thread.daemon),
            "alive": False,
            "state": "created",
            "own": False,
            "waiting_on": None,
            "stack": [],
        })
    if _server.ident is not None:
        native[_server.ident] = _server.native_id
        threads.append({
            "native_id": _server.native_id,
            "ident": _server.ident,
            "name": "threadscope-agent",
            "daemon": True,
            "alive": True,
            "state": "running",
            "own": True,
            "waiting_on": None,
            "stack": [],
        })

    def tids(idents):
        return [native[i] for i in idents if native.get(i) is not None]

    primitives = []
    for rec in list(_prims.values()):
        if rec.holders is not None:
            holders = list(rec.holders)
        else:
            owner = rec.lock.holder if rec.lock is not None else rec.holder
            holders = [] if owner is None else [owner]
        primitives.append({
            "id": rec.id,
            "kind": rec.kind,
            "name": _text(rec.name),
            "created_at": _text(rec.site),
            "holders": tids(holders),
            "waiters": tids(waiting.get(rec.id, ())),
        })
    for ident in [i for i, s in list(_waits.items()) if not s and i not in frames]:
        _waits.pop(ident, None)  # threads gone: their empty stacks
    return {"taken_at_unix_ms": int(time.time() * 1000), "threads": threads, "primitives": primitives}


def _hello():
    argv = getattr(sys, "argv", None) or [""]
    program = os.path.basename(argv[0]) if argv[0] else None
    return {
        "runtime": "python",
        "runtime_version": "%d.%d.%d" % sys.version_info[:3],
        "agent_version": AGENT_VERSION,
        "pid": os.getpid(),
        "program": _text(program) if program else None,
    }


def _error(message):
    return {"protocol": PROTOCOL, "ok": False, "error": _text(message)}


def answer(line):
    """The reply (a dict) to one request line (bytes, without its newline)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return _error("request is not UTF-8: %s" % err)
    try:
        request = json.loads(text)
    except ValueError as err:
        return _error("request is not JSON: %s" % err)
    if not isinstance(request, dict):
        return _error("request is not a JSON object")
    version = request.get("protocol")
    if isinstance(version, bool) or not isinstance(version, int):
        return _error("request has no protocol version (this agent speaks %d)" % PROTOCOL)
    if version != PROTOCOL:
        return _error("protocol %d not supported (this agent speaks %d)" % (version, PROTOCOL))
    what = request.get("request")
    if what == "hello":
        return {"protocol": PROTOCOL, "ok": True, "agent": _hello()}
    if what == "snapshot":
        return {"protocol": PROTOCOL, "ok": True, "snapshot": _snapshot()}
    if isinstance(what, str):
        return _error("unknown request %s" % json.dumps(what))
    return _error("request has no request name (hello or snapshot)")


# ------------------------------------------------------------------ serving


class _Server:
    """The agent's thread and socket (started with _thread, so the
    program's threading.enumerate() and active_count() do not change)."""

    def __init__(self):
        self.ident = None
        self.native_id = None
        self.path = None
        self.pid = None
        self.listener = None


_server = _Server()


def _say(message):
    try:
        sys.stderr.write("threadscope agent: %s\n" % message)
        sys.stderr.flush()
    except Exception:
        pass


def _socket_dir():
    """The per-user directory of docs/agent-protocol.md; (path, None) or
    (None, why it may not be used)."""
    uid = os.geteuid()
    base = "/tmp/threadscope-%d" % uid
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        try:
            info = os.stat(runtime)
            if stat.S_ISDIR(info.st_mode) and info.st_uid == uid:
                base = os.path.join(runtime, "threadscope")
        except OSError:
            pass
    try:
        os.mkdir(base, 0o700)
    except FileExistsError:
        pass
    except OSError as err:
        return None, "cannot create %s: %s" % (base, err)
    try:
        info = os.lstat(base)
    except OSError as err:
        return None, "cannot read %s: %s" % (base, err)
    if not stat.S_ISDIR(info.st_mode):
        return None, "%s is not a directory" % base
    if info.st_uid != uid:
        return None, "%s belongs to uid %d, not %d" % (base, info.st_uid, uid)
    if info.st_mode & 0o077:
        return None, "%s is open to others (mode %o)" % (base, stat.S_IMODE(info.st_mode))
    return base, None


def _listen():
    base, why = _socket_dir()
    if base is None:
        return None, why
    path = os.path.join(base, "%d.sock" % os.getpid())
    if os.path.lexists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
            probe.close()
            return None, "%s is in use by another listener" % path
        except OSError:
            probe.close()
        try:
            os.unlink(path)  # stale: nobody listens
        except OSError as err:
            return None, "cannot replace %s: %s" % (path, err)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        os.chmod(path, 0o600)
        listener.listen(8)
    except OSError as err:
        listener.close()
        return None, "cannot listen on %s: %s" % (path, err)
    return (listener, path), None


def _peer_allowed(conn):
    """None when the peer may ask; else the reason it may not."""
    try:
        raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", raw)
    except (OSError, struct.error) as err:
        return "cannot read the peer's credentials: %s" % err
    mine = os.geteuid()
    if uid == mine or uid == 0:
        return None
    return "peer uid %d is not the program's uid %d" % (uid, mine)


def _send(conn, reply):
    data = (json.dumps(reply, separators=(",", ":")) + "\n").encode("utf-8")
    conn.settimeout(SEND_SECONDS)
    try:
        conn.sendall(data)
    finally:
        conn.setblocking(False)


class _Connection:
    __slots__ = ("sock", "buffer", "last")

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""
        self.last = _monotonic()


def _serve(listener):
    """The agent thread: every error closes one connection, never the agent."""
    _server.ident = _get_ident()
    _server.native_id = _thread.get_native_id()
    try:
        with open("/proc/self/task/%d/comm" % _server.native_id, "w") as comm:
            comm.write("ts-agent")
    except OSError:
        pass
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    connections = {}

    def close(connection):
        connections.pop(connection.sock, None)
        try:
            selector.unregister(connection.sock)
        except Exception:
            pass
        try:
            connection.sock.close()
        except OSError:
            pass

    while True:
        try:
            events = selector.select(1.0)
        except Exception:
            events = []
        for key, _mask in events:
            if key.data is None:
                _accept(listener, selector, connections)
                continue
            connection = key.data
            try:
                if not _read(connection):
                    close(connection)
            except Exception:
                close(connection)
        now = _monotonic()
        for connection in [c for c in connections.values() if now - c.last > IDLE_SECONDS]:
            close(connection)


def _accept(listener, selector, connections):
    try:
        conn, _addr = listener.accept()
    except OSError:
        return
    try:
        refused = _peer_allowed(conn)
        if refused is not None:
            _send(conn, _error(refused))
            conn.close()
            return
        if len(connections) >= MAX_CONNECTIONS:
            _send(conn, _error("too many connections (at most %d)" % MAX_CONNECTIONS))
            conn.close()
            return
        conn.setblocking(False)
        connection = _Connection(conn)
        connections[conn] = connection
        selector.register(conn, selectors.EVENT_READ, connection)
    except Exception:
        try:
            conn.close()
        except OSError:
            pass


def _read(connection):
    """Reads and answers what arrived; False to close the connection."""
    try:
        data = connection.sock.recv(MAX_REQUEST_BYTES)
    except (BlockingIOError, InterruptedError):
        return True
    if not data:
        return False
    connection.last = _monotonic()
    connection.buffer += data
    while True:
        end = connection.buffer.find(b"\n")
        if end < 0:
            if len(connection.buffer) >= MAX_REQUEST_BYTES:
                _send(connection.sock, _error("request longer than %d bytes" % MAX_REQUEST_BYTES))
                return False
            return True
        if end + 1 > MAX_REQUEST_BYTES:
            _send(connection.sock, _error("request longer than %d bytes" % MAX_REQUEST_BYTES))
            return False
        line, connection.buffer = connection.buffer[:end], connection.buffer[end + 1:]
        try:
            reply = answer(line)
        except Exception as err:  # a bug of ours: said, never raised into the program
            reply = _error("agent error: %s: %s" % (type(err).__name__, err))
        _send(connection.sock, reply)


def _remove_socket():
    if _server.path is not None and _server.pid == os.getpid():
        try:
            os.unlink(_server.path)
        except OSError:
            pass


def _start_server():
    listening, why = _listen()
    if listening is None:
        _say("not serving: %s" % why)
        return False
    _server.listener, _server.path = listening
    _server.pid = os.getpid()
    _thread.start_new_thread(_serve, (_server.listener,))
    return True


def _after_fork_in_child():
    # The parent's thread is not here; its socket is the parent's.
    _waits.clear()
    if _server.listener is not None:
        try:
            _server.listener.close()
        except OSError:
            pass
    _server.ident = _server.native_id = _server.path = _server.listener = None
    _start_server()


_started = False


def start():
    """Wraps the primitives and starts serving; once, idempotent."""
    global _started
    if _started:
        return
    _started = True
    threading.Lock = Lock
    threading.RLock = RLock
    threading.Condition = Condition
    threading.Semaphore = Semaphore
    threading.BoundedSemaphore = BoundedSemaphore
    threading.Event = Event
    threading.Barrier = Barrier
    queue.Queue, queue.LifoQueue, queue.PriorityQueue = (_tracked_queue(q) for q in _orig_queues)
    time.sleep = sleep
    if _start_server():
        atexit.register(_remove_socket)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)


start()
