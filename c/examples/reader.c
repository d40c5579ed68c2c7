/* reader: follows a broadcast ring as a lossy reader (the producer never
 * waits for it) and prints each message as a line, and each lap as a note
 * on stderr, until the producer closes the stream.
 *
 *   build/reader ticks [lossless]
 */
#include "shmring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: reader RING [lossless]\n");
		return 2;
	}
	uint32_t policy = argc > 2 && strcmp(argv[2], "lossless") == 0 ? SHMRING_POLICY_LOSSLESS : SHMRING_POLICY_LOSSY;
	shmring *r;
	shmring_reader *rd;
	int rc = shmring_open(argv[1], NULL, &r);
	if (rc == 0 && (rc = shmring_reader_open(r, policy, SHMRING_START_OLDEST, &rd)) != 0)
		shmring_close(r);
	if (rc) {
		fprintf(stderr, "reader: %s\n", shmring_errdetail());
		return 1;
	}
	/* A buffer of the ring's slot size holds any message it carries. */
	size_t max = shmring_get_info(r)->slot_size, n;
	char *buf = malloc(max);
	if (buf == NULL) {
		fprintf(stderr, "reader: no memory for a %zu-byte buffer\n", max);
		shmring_reader_close(rd);
		shmring_close(r);
		return 1;
	}
	for (;;) {
		/* recv copies and validates: a lossy reader never prints a torn message. */
		rc = shmring_reader_recv(rd, buf, max, &n, -1);
		if (rc == SHMRING_ELAPPED) {
			fprintf(stderr, "reader: lapped, %llu messages missed\n", (unsigned long long)shmring_reader_missed(rd));
			continue;
		}
		if (rc)
			break;
		printf("%.*s\n", (int)n, buf);
	}
	if (rc != SHMRING_ECLOSED)
		fprintf(stderr, "reader: %s\n", shmring_errdetail());
	fflush(stdout);
	free(buf);
	shmring_reader_close(rd);
	shmring_close(r);
	return rc == SHMRING_ECLOSED ? 0 : 1;
}
