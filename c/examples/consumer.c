/* consumer: prints each message of an SPSC ring as a line until the
 * producer closes the stream.
 *
 *   build/consumer quotes
 */
#include "shmring.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: consumer RING\n");
		return 2;
	}
	shmring *r;
	shmring_consumer *c;
	int rc = shmring_open(argv[1], NULL, &r);
	if (rc == 0 && (rc = shmring_consumer_open(r, &c)) != 0)
		shmring_close(r);
	if (rc) {
		fprintf(stderr, "consumer: %s\n", shmring_errdetail());
		return 1;
	}
	const void *msg;
	size_t n;
	/* -1: wait as long as it takes; the stream's end is SHMRING_ECLOSED. */
	while ((rc = shmring_consumer_receive(c, &msg, &n, -1)) == 0) {
		printf("%.*s\n", (int)n, (const char *)msg); /* in place, in shared memory */
		shmring_consumer_release(c);
	}
	if (rc != SHMRING_ECLOSED)
		fprintf(stderr, "consumer: %s\n", shmring_errdetail());
	fflush(stdout);
	shmring_consumer_close(c);
	shmring_close(r);
	return rc == SHMRING_ECLOSED ? 0 : 1;
}
