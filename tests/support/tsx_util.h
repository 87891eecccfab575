/*
 * tsx_util.h — helpers shared by the transaction layer's tests.
 */
#ifndef SIPD_TSX_UTIL_H
#define SIPD_TSX_UTIL_H

#include <arpa/inet.h>
#include <string.h>

#include "libsip/tsx.h"

/* The peer 192.0.2.1:5060 over proto; a TCP peer has connection 7. */
static inline struct tsx_peer test_tsx_peer(enum tp_proto proto)
{
	struct tsx_peer p;
	struct sockaddr_in *sin = (struct sockaddr_in *)&p.addr.ss;

	memset(&p, 0, sizeof(p));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(5060);
	sin->sin_addr.s_addr = htonl(0xc0000201); /* 192.0.2.1 */
	p.addr.len = sizeof(*sin);
	p.proto = proto;
	p.conn_id = proto == TP_TCP ? 7 : 0;
	return p;
}

#endif /* SIPD_TSX_UTIL_H */
