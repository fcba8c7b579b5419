/*
 * byteorder: the model answer of the "byteorder" lab (host and network order in memory).
 *
 * ./byteorder prints the bytes of the 16-bit value 0xD04C as they lie in memory, before and
 * after htons(), and of the 32-bit value 0x8002C25F (the address 128.2.194.95) before and
 * after htonl(), in lowercase hex. On a little-endian host (x86, most ARM):
 *
 *     host16: 4c d0
 *     net16: d0 4c
 *     host32: 5f c2 02 80
 *     net32: 80 02 c2 5f
 *
 * A big-endian host prints the host lines in network order too. Nothing else goes to stdout;
 * a short explanation goes to stderr. Exit status 0.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/*
 * Print LABEL and the N bytes at P, in the order memory holds them. Why an unsigned char
 * pointer: printing the value (%x) shows the number, the same on every host, never how it is
 * stored; only reading the object byte by byte shows the order. And the pointer is to
 * *unsigned* char: a plain char is signed on x86, so 0xd0 would be -48, promoted to int and
 * printed by %x as ffffffd0.
 */
static void show(const char *label, const void *p, size_t n)
{
	const unsigned char *b = p;

	printf("%s:", label);
	for (size_t i = 0; i < n; i++)
		printf(" %02x", b[i]);
	printf("\n");
}

int main(void)
{
	uint16_t host16 = 0xD04C;
	uint16_t net16 = htons(host16);       /* 16 bits: htons(), never htonl() */
	uint32_t host32 = 0x8002C25F;         /* 128.2.194.95 */
	uint32_t net32 = htonl(host32);

	show("host16", &host16, sizeof(host16));
	show("net16", &net16, sizeof(net16));
	show("host32", &host32, sizeof(host32));
	show("net32", &net32, sizeof(net32));

	fprintf(stderr, "byteorder: this host is %s-endian; network order is big-endian "
		"(most significant byte first)\n", net16 == host16 ? "big" : "little");
	return fflush(stdout) == 0 ? 0 : 1;
}
