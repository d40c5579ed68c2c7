"""Follow a broadcast ring as a reader and print each message as a line;
a lossy reader that falls a whole ring behind is told how many it missed.

    PYTHONPATH=python python3 python/examples/reader.py ticks [lossless]
"""

import sys

import shmring


def main(name, policy="lossy"):
    with shmring.open_ring(name) as ring, ring.reader(policy, "oldest") as reader:
        while True:
            try:
                msg = reader.recv(timeout=None)  # copied and validated: never torn
            except shmring.LappedError as lap:
                print(f"lapped: {lap.missed} messages missed", file=sys.stderr)
                continue
            except shmring.ClosedError:
                return
            print(msg.decode(errors="replace"), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
