# Python's threading and queue semantics, checked call by call. Run with
# and without threadscope's agent: both runs must pass every check (so the
# checks are Python's, and the wrappers keep them). Prints
# "semantics: N checks passed (agent loaded|no agent)" or fails loudly.
import _thread
import queue
import sys
import threading
import time

AGENT = sys.modules.get("threadscope_agent")
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def raises(kind, call, what):
    try:
        call()
    except kind:
        check(True, what)
        return
    except BaseException as err:
        raise AssertionError("%s: raised %r, not %s" % (what, err, kind.__name__))
    raise AssertionError("%s: did not raise %s" % (what, kind.__name__))


def in_thread(call):
    """call() in another thread; its result (or re-raises its exception)."""
    out = {}

    def run():
        try:
            out["value"] = call()
        except BaseException as err:
            out["error"] = err

    t = threading.Thread(target=run)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def snapshot():
    import json
    reply = AGENT.answer(b'{"protocol":1,"request":"snapshot"}')
    return json.loads(json.dumps(reply))["snapshot"]


def record(primitive):
    rec = primitive._ts
    return next(p for p in snapshot()["primitives"] if p["id"] == rec.id)


me = threading.get_native_id()

# Lock
lock = threading.Lock()
check(lock.acquire() is True, "Lock.acquire() returns True")
check(lock.locked(), "locked() while held")
check(lock.acquire(False) is False, "acquire(False) on a held lock is False")
check(lock.acquire(True, 0.01) is False, "a timed acquire on a held lock times out with False")
check(lock.acquire(timeout=0) is False, "acquire(timeout=0) on a held lock is False")
raises(ValueError, lambda: lock.acquire(False, 1), "a timeout with blocking=False")
raises(ValueError, lambda: lock.acquire(True, -5), "a negative timeout")
raises(OverflowError, lambda: lock.acquire(True, threading.TIMEOUT_MAX * 2), "a timeout past TIMEOUT_MAX")
if AGENT:
    check(record(lock)["holders"] == [me], "the holder is noted")
in_thread(lock.release)
check(not lock.locked(), "any thread may release a Lock")
if AGENT:
    check(record(lock)["holders"] == [], "no holder after release")
raises(RuntimeError, lock.release, "releasing an unlocked Lock")
with lock as entered:
    check(entered is True, "with lock: gives True")
    check(lock.locked(), "held inside with")
check(not lock.locked(), "released after with")
check(lock.acquire(False) is True, "acquire(False) on a free lock")
lock.release()
raw = _thread.allocate_lock()
check(type(raw) is _thread.LockType, "_thread.allocate_lock is the original")
check("unlocked" in repr(threading.Lock()), "repr says unlocked")

# RLock
rlock = threading.RLock()
check(rlock.acquire() and rlock.acquire(), "RLock is reentrant")
check(in_thread(lambda: rlock.acquire(False)) is False, "another thread cannot take a held RLock")
raises(RuntimeError, lambda: in_thread(rlock.release), "only the owner releases an RLock")
rlock.release()
if AGENT:
    check(record(rlock)["holders"] == [me], "still held after one of two releases")
rlock.release()
if AGENT:
    check(record(rlock)["holders"] == [], "free after the last release")
raises(RuntimeError, rlock.release, "releasing an unowned RLock")
with rlock:
    with rlock:
        check(rlock._is_owned(), "owned inside nested with")
check(not rlock._is_owned(), "not owned after")
check(in_thread(lambda: rlock.acquire(False) and (rlock.release() or True)), "free for another thread")

# Condition, with its own RLock, with a Lock, with a _thread lock
for make in (lambda: threading.Condition(), lambda: threading.Condition(threading.Lock()),
             lambda: threading.Condition(_thread.allocate_lock()), lambda: threading.Condition(threading.RLock())):
    cond = make()
    items = []
    raises(RuntimeError, cond.wait, "wait without the lock")
    raises(RuntimeError, cond.notify, "notify without the lock")

    def consume(cond=cond, items=items):
        with cond:
            check(cond.wait_for(lambda: items, timeout=30), "wait_for sees the item")
            return items.pop()

    got = {}
    consumer = threading.Thread(target=lambda: got.setdefault("item", consume()))
    consumer.start()
    with cond:
        items.append("job")
        cond.notify()
    consumer.join()
    check(got.get("item") == "job", "a Condition hands over an item")
    with cond:
        check(cond.wait(0.01) is False, "a timed wait with no notify is False")
        check(cond.wait_for(lambda: False, 0.01) is False, "wait_for times out with the predicate's value")
c = threading.Condition()
with c:
    with c:
        check(True, "a default Condition's lock is reentrant")
if AGENT:
    cond = threading.Condition()
    with cond:
        check(record(cond)["holders"] == [me], "a Condition's holder is its lock's")
    check(record(cond)["holders"] == [], "no holder after")
    guarded = threading.Lock()
    cond = threading.Condition(guarded)
    with cond:
        check(record(cond)["holders"] == [me] and record(guarded)["holders"] == [me],
              "a Condition over a Lock: both show the holder")
    with cond:
        cond.wait(0.001)
        check(record(guarded)["holders"] == [me], "held again after wait")

# Semaphore and BoundedSemaphore
sem = threading.Semaphore(2)
check(sem.acquire() and sem.acquire(), "two permits")
check(sem.acquire(False) is False, "no third permit")
check(sem.acquire(timeout=0.01) is False, "a timed acquire gives up")
raises(ValueError, lambda: sem.acquire(False, 1), "a timeout with blocking=False")
if AGENT:
    check(record(sem)["holders"] == [me, me], "permits are holders")
in_thread(sem.release)
if AGENT:
    check(record(sem)["holders"] == [me], "any thread gives one back")
sem.release()
raises(ValueError, lambda: threading.Semaphore(-1), "a negative value")
with sem:
    check(sem._value == 1, "with takes a permit")
check(sem._value == 2, "and gives it back")
sem.release()  # an unbounded semaphore may grow
check(sem._value == 3, "Semaphore may be released past its start")
bounded = threading.BoundedSemaphore(1)
check(isinstance(bounded, threading.Semaphore), "a BoundedSemaphore is a Semaphore")
raises(ValueError, bounded.release, "a BoundedSemaphore released too many times")
check(bounded.acquire(), "its permit")
bounded.release()
if AGENT:
    check(record(bounded)["kind"] == "bounded semaphore", "its kind")
    check(record(bounded)["holders"] == [], "no holder after a refused and a real release")
if sys.version_info >= (3, 9):
    sem = threading.Semaphore(0)
    sem.release(3)
    check(sem._value == 3, "release(n)")
    raises(ValueError, lambda: sem.release(0), "release(0)")

# Event
event = threading.Event()
check(not event.is_set() and event.wait(0.01) is False, "an unset Event times out with False")
threading.Thread(target=event.set).start()
check(event.wait(30) is True, "set from another thread")
event.clear()
check(not event.is_set(), "cleared")

# Barrier
actions = []
barrier = threading.Barrier(3, action=lambda: actions.append(1))
indices = []
workers = [threading.Thread(target=lambda: indices.append(barrier.wait())) for _ in range(2)]
for w in workers:
    w.start()
indices.append(barrier.wait())
for w in workers:
    w.join()
check(sorted(indices) == [0, 1, 2] and actions == [1], "a Barrier gives each party an index and runs its action once")
check(barrier.parties == 3 and barrier.n_waiting == 0 and not barrier.broken, "its figures")
raises(threading.BrokenBarrierError, lambda: threading.Barrier(2).wait(0.01), "a Barrier that times out breaks")
broken = threading.Barrier(2)
broken.abort()
raises(threading.BrokenBarrierError, broken.wait, "an aborted Barrier")

# Queues
q = queue.Queue(maxsize=2)
q.put(1)
q.put(2)
raises(queue.Full, lambda: q.put(3, timeout=0.01), "a full Queue")
raises(queue.Full, lambda: q.put_nowait(3), "put_nowait on a full Queue")
check(q.get() == 1 and q.get_nowait() == 2, "a Queue is FIFO")
q.task_done()
q.task_done()
raises(ValueError, q.task_done, "task_done once too often")
raises(queue.Empty, q.get_nowait, "get_nowait on an empty Queue")
raises(queue.Empty, lambda: q.get(timeout=0.01), "a timed get on an empty Queue")
consumer = threading.Thread(target=lambda: (q.get(), q.task_done()))
consumer.start()
q.put("x")
q.join()
consumer.join()
check(q.unfinished_tasks == 0, "join returns once every task is done")
lifo = queue.LifoQueue()
for i in range(3):
    lifo.put(i)
check([lifo.get() for _ in range(3)] == [2, 1, 0], "a LifoQueue is LIFO")
prio = queue.PriorityQueue()
for i in (3, 1, 2):
    prio.put(i)
check([prio.get() for _ in range(3)] == [1, 2, 3], "a PriorityQueue gives the least first")
if AGENT:
    check(record(q)["kind"] == "queue", "a Queue is one primitive")
    names = {p["kind"] for p in snapshot()["primitives"] if p["created_at"].startswith("queue.py")}
    check(not names, "a Queue's own mutex and conditions are not shown apart")

# Threads, with threading's internals untouched
t = threading.Thread(target=lambda: None, name="Checks-Worker-1")
t.start()
t.join()
check(not t.is_alive(), "join waits for the end")
timer_ran = threading.Event()
timer = threading.Timer(0.01, timer_ran.set)
timer.start()
check(timer_ran.wait(30), "a Timer fires")
timer.join()
check(threading.active_count() == 1, "only the main thread is left (the agent's thread is not threading's)")

# time.sleep, wrapped: the same results and the same errors
check(time.sleep(0) is None, "sleep returns None")
raises(ValueError, lambda: time.sleep(-1), "a negative sleep is refused")
raises(TypeError, lambda: time.sleep("1"), "a sleep of a string is refused")
raises(TypeError, lambda: time.sleep(), "a sleep needs its length")
started = time.monotonic()
time.sleep(0.02)
check(time.monotonic() - started >= 0.02, "sleep sleeps at least as long as asked")
check(time.sleep.__name__ == "sleep" and time.sleep.__module__ == "time", "time.sleep keeps its name")
if AGENT:
    napping = threading.Event()

    def nap():
        napping.set()
        time.sleep(3600)

    threading.Thread(target=nap, name="Checks-Napper-1", daemon=True).start()
    napping.wait()
    # Between set() and the sleep the thread is briefly running: ask again
    # until the agent sees it asleep (the registry is what is waited on).
    deadline = time.monotonic() + 30
    while True:
        napper = next(t for t in snapshot()["threads"] if t["name"] == "Checks-Napper-1")
        if napper["state"] == "waiting" or time.monotonic() > deadline:
            break
    check(napper["state"] == "waiting", "a thread in time.sleep is waiting")
    check(napper["waiting_on"]["kind"] == "sleep", "on a sleep")
    check(napper["waiting_on"]["name"] == "time.sleep(3600)", "named by its call")
    check(napper["waiting_on"]["primitive"] is None, "a sleep is no primitive")
    check(napper["stack"][0]["function"] == "nap", "the innermost frame is the program's")

print("semantics: %d checks passed (%s)" % (checks, "agent loaded" if AGENT else "no agent"), flush=True)
