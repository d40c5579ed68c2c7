"""Send each line of stdin as a message into an SPSC ring, then close the
stream. A line longer than the ring's slot is refused (exit status 1), the
stream closed after the lines before it: a message is never cut.

    printf 'hello\nworld\n' | PYTHONPATH=python python3 python/examples/producer.py quotes
"""

import sys

import shmring


def main(name):
    with shmring.open_ring(name) as ring, ring.producer() as producer:
        for line in sys.stdin.buffer:
            try:
                producer.send(line.rstrip(b"\n"))
            except shmring.TooLargeError as e:
                sys.exit(f"producer: {e}")
    # leaving the with-block closes the producer: the consumer drains the
    # ring, then sees the end of the stream


if __name__ == "__main__":
    main(sys.argv[1])
