"""Print each message of an SPSC ring as a line until the producer closes it.

    PYTHONPATH=python python3 python/examples/consumer.py quotes
"""

import sys

import shmring


def main(name):
    with shmring.open_ring(name) as ring, ring.consumer() as consumer:
        # Zero copy: each view is the slot itself, released when the loop
        # asks for the next one. `for msg in consumer` gives bytes copies.
        for view in consumer.views():
            print(bytes(view).decode(errors="replace"), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
