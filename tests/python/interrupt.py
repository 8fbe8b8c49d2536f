# Waits for SIGINT (Python's KeyboardInterrupt in the main thread) and
# says it got one in the file named by its first argument.
import sys
import threading

done = threading.Event()
try:
    print("ready", flush=True)
    done.wait()
except KeyboardInterrupt:
    with open(sys.argv[1], "w") as out:
        out.write("KeyboardInterrupt\n")
