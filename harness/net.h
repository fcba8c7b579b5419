/*
 * net: what the harness sees of the network of an episode's host: which sockets listen (read
 * from the namespace's socket tables, /proc/net/tcp and tcp6, as seen from the calling
 * process's network namespace), and free ports when there are no namespaces.
 */
#ifndef SOCKGRADE_NET_H
#define SOCKGRADE_NET_H

struct net_listener {
	int port;             /* host order */
	int any;              /* bound to every address (0.0.0.0 or ::) */
	int v6;               /* from tcp6 */
	char addr[48];        /* the bound address, printable */
	unsigned long inode;  /* the socket's inode: who holds it can be found in /proc/PID/fd */
};

/*
 * The TCP sockets in LISTEN state, at most max of them, into out. Returns how many, or -1
 * when the tables cannot be read.
 */
int net_tcp_listeners(struct net_listener *out, int max);

/* A TCP port that nothing uses now on this host, or -1. */
int net_free_port(void);

/* port with its two bytes swapped: what a server that forgot htons() listens on. */
int net_swap16(int port);

#endif
