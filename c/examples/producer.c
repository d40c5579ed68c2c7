/* producer: sends each line of stdin as a message into an SPSC ring, then
 * closes the stream. A line longer than the ring's slot is refused, with
 * the stream closed after the lines before it: a message is never cut.
 *
 *   printf 'hello\nworld\n' | build/producer quotes
 */
#define _GNU_SOURCE /* getline */
#include "shmring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: producer RING < lines\n");
		return 2;
	}
	shmring *r;
	shmring_producer *p;
	int rc = shmring_open(argv[1], NULL, &r);
	if (rc == 0 && (rc = shmring_producer_open(r, &p)) != 0)
		shmring_close(r);
	if (rc) {
		fprintf(stderr, "producer: %s\n", shmring_errdetail());
		return 1;
	}
	char *line = NULL;
	size_t size = 0;
	ssize_t got;
	while (rc == 0 && (got = getline(&line, &size, stdin)) >= 0) {
		size_t n = strcspn(line, "\n");
		/* Zero copy: write straight into the slot, then publish. */
		void *slot;
		size_t cap;
		if ((rc = shmring_producer_claim(p, &slot, &cap, -1)) != 0)
			break;
		if (n > cap) {
			shmring_producer_abort(p);
			fprintf(stderr, "producer: a line of %zu bytes is longer than the slot (%zu)\n", n, cap);
			free(line);
			shmring_producer_close(p);
			shmring_close(r);
			return 1;
		}
		memcpy(slot, line, n);
		rc = shmring_producer_commit(p, n);
	}
	free(line);
	if (rc)
		fprintf(stderr, "producer: %s\n", shmring_errdetail());
	shmring_producer_close(p); /* the consumer drains the ring, then sees the end */
	shmring_close(r);
	return rc ? 1 : 0;
}
