/* producer: sends each line of stdin as a message into an SPSC ring, then
 * closes the stream.
 *
 *   printf 'hello\nworld\n' | build/producer quotes
 */
#include "shmring.h"

#include <stdio.h>
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
	char line[4096];
	while (rc == 0 && fgets(line, sizeof line, stdin)) {
		size_t n = strcspn(line, "\n");
		/* Zero copy: write straight into the slot, then publish. */
		void *slot;
		size_t cap;
		if ((rc = shmring_producer_claim(p, &slot, &cap, -1)) != 0)
			break;
		if (n > cap)
			n = cap;
		memcpy(slot, line, n);
		rc = shmring_producer_commit(p, n);
	}
	if (rc)
		fprintf(stderr, "producer: %s\n", shmring_errdetail());
	shmring_producer_close(p); /* the consumer drains the ring, then sees the end */
	shmring_close(r);
	return rc ? 1 : 0;
}
