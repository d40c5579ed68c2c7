"""Send each line of stdin as a message into an SPSC ring, then close the
stream.

    printf 'hello\nworld\n' | PYTHONPATH=python python3 python/examples/producer.py quotes
"""

import sys

import shmring


def main(name):
    with shmring.open_ring(name) as ring, ring.producer() as producer:
        for line in sys.stdin.buffer:
            producer.send(line.rstrip(b"\n")[: ring.slot_size])
    # leaving the with-block closes the producer: the consumer drains the
    # ring, then sees the end of the stream


if __name__ == "__main__":
    main(sys.argv[1])
