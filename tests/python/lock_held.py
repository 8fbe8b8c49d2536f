# A Lock held by one named thread while two others wait for it, one more
# asleep in time.sleep, and the main thread joining the sleeper; the agent
# tests read holders, waiters, the thread a join waits for and the line
# each waits at. Runs until killed.
import threading
import time

accounts = threading.Lock()
held = threading.Event()
never = threading.Event()


def hold():
    with accounts:
        held.set()
        never.wait()  # holder waits here


def process():
    held.wait()
    with accounts:  # processor waits here
        pass


def schedule():
    time.sleep(3600)  # scheduler sleeps here


threading.Thread(target=hold, name="PaymentService-LedgerThread-1", daemon=True).start()
for n in (1, 2):
    threading.Thread(target=process, name="PaymentService-ProcessorThread-%d" % n, daemon=True).start()
scheduler = threading.Thread(target=schedule, name="PaymentService-Scheduler-1", daemon=True)
scheduler.start()
print("ready", flush=True)
scheduler.join()  # main joins here
