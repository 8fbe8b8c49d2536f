# Two named threads take two locks in opposite orders: a deadlock the agent
# must still describe. Runs until killed (its threads never finish).
import threading
import time

ledger = threading.Lock()
audit = threading.Lock()
both_hold = threading.Barrier(2)
spares = [threading.Lock() for _ in range(2)]  # two made at one line


def transfer():
    with ledger:
        both_hold.wait()
        with audit:  # transfer waits here
            pass


def reconcile():
    with audit:
        both_hold.wait()
        with ledger:  # reconcile waits here
            pass


threading.Thread(target=transfer, name="Bank-TransferThread-1").start()
threading.Thread(target=reconcile, name="Bank-ReconcileThread-1").start()
print("ready", flush=True)
