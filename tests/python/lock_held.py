# A Lock held by one named thread while two others wait for it; the agent
# test reads holders, waiters and the line each waits at. Runs until its
# stdin closes.
import sys
import threading

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


threading.Thread(target=hold, name="PaymentService-LedgerThread-1", daemon=True).start()
for n in (1, 2):
    threading.Thread(target=process, name="PaymentService-ProcessorThread-%d" % n, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
