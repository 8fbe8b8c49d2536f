import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The Java side of tests/jvm.rs and benches/jvm_dump.rs.
 *
 * Usage: java ThreadscopeFixture MODE [N]. Every mode builds its threads,
 * waits until each one is in the state the test expects (checked with
 * Thread.getState, so no sleep stands in for synchronisation), prints one
 * "ready" line, then waits for a line on stdin and exits with status 0.
 * Modes: names, monitor, deadlock, idle, threads N, all (everything at once).
 */
public class ThreadscopeFixture {
    static final CountDownLatch release = new CountDownLatch(1);
    static final List<Thread> started = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "all";
        switch (mode) {
            case "names": names(); break;
            case "monitor": monitor(); break;
            case "deadlock": deadlock(); break;
            case "threads": threads(Integer.parseInt(args[1])); break;
            case "idle": break;
            case "all": names(); monitor(); deadlock(); waiter(); sleeper(); break;
            default: throw new IllegalArgumentException("unknown mode " + mode);
        }
        System.out.println("ready");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in)).readLine();
        System.exit(0);
    }

    static Thread start(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        started.add(t);
        return t;
    }

    static void awaitState(Thread t, Thread.State... states) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            Thread.State s = t.getState();
            for (Thread.State want : states) {
                if (s == want) return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(t.getName() + " stayed " + s);
            }
            Thread.sleep(5);
        }
    }

    static void parkUntilReleased() {
        try {
            release.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void names() throws InterruptedException {
        for (int i = 1; i <= 8; i++) {
            awaitState(start("PaymentService-Processor-" + i, ThreadscopeFixture::parkUntilReleased),
                    Thread.State.WAITING);
        }
    }

    static void threads(int n) throws InterruptedException {
        for (int i = 1; i <= n; i++) {
            start("Bench-Worker-" + i, ThreadscopeFixture::parkUntilReleased);
        }
        for (Thread t : started) awaitState(t, Thread.State.WAITING);
    }

    static final Object monitor = new Object();

    static void monitor() throws InterruptedException {
        CountDownLatch held = new CountDownLatch(1);
        Thread holder = start("Lock-Holder", () -> {
            synchronized (monitor) {
                held.countDown();
                parkUntilReleased();
            }
        });
        held.await();
        awaitState(holder, Thread.State.WAITING);
        for (int i = 1; i <= 2; i++) {
            Thread w = start("Lock-Waiter-" + i, () -> {
                synchronized (monitor) {
                    monitor.notifyAll();
                }
            });
            awaitState(w, Thread.State.BLOCKED);
        }
    }

    static void deadlock() throws InterruptedException {
        ReentrantLock a = new ReentrantLock();
        ReentrantLock b = new ReentrantLock();
        CyclicBarrier both = new CyclicBarrier(2);
        Thread ta = start("Deadlock-A", () -> lockPair(a, b, both));
        Thread tb = start("Deadlock-B", () -> lockPair(b, a, both));
        // Each holds its first lock and parks on the other's: WAITING, and
        // the barrier has been passed, so neither is parked on it.
        while (both.getNumberWaiting() != 0 || !a.isLocked() || !b.isLocked()
                || !a.hasQueuedThreads() || !b.hasQueuedThreads()) {
            Thread.sleep(5);
        }
        awaitState(ta, Thread.State.WAITING);
        awaitState(tb, Thread.State.WAITING);
    }

    static void lockPair(ReentrantLock first, ReentrantLock second, CyclicBarrier both) {
        first.lock();
        try {
            both.await();
            second.lock();
            second.unlock();
        } catch (Exception e) {
            throw new RuntimeException(e);
        } finally {
            first.unlock();
        }
    }

    static final Object waitHere = new Object();

    static void waiter() throws InterruptedException {
        Thread w = start("Object-Waiter", () -> {
            synchronized (waitHere) {
                try {
                    waitHere.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        awaitState(w, Thread.State.WAITING);
    }

    static void sleeper() throws InterruptedException {
        Thread s = start("Sleeper \"quoted\" name", () -> {
            try {
                Thread.sleep(1_000_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        awaitState(s, Thread.State.TIMED_WAITING);
    }
}
