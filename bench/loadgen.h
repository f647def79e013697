/*
 * loadgen.h - what loadgen.c (requests, counting, HTTP) and loadgen_grpc.c
 * (the gRPC client) share.  loadgen.c owns the request templates and the
 * counters; loadgen_grpc.c claims sequence numbers, builds bodies and
 * reports each answer through these functions.
 */
#ifndef OB_BENCH_LOADGEN_H
#define OB_BENCH_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOADGEN_MAX_ATTEMPTS 20     /* tries of one request, both modes */

struct sender;
struct grpc_conn;

bool loadgen_claim_seq(uint64_t *seq);
size_t loadgen_build_body(uint64_t seq, size_t reserve, uint8_t **buf, size_t *cap);
void loadgen_count_ack(struct sender *s, size_t bytes, uint64_t latency_ns);
void loadgen_count_busy(struct sender *s);
void loadgen_count_error(struct sender *s, const char *what);
void loadgen_count_conn_error(struct sender *s);
void loadgen_count_failed(struct sender *s);

struct grpc_conn *loadgen_grpc_connect(const char *host, const char *port, int streams);
void loadgen_grpc_run(struct grpc_conn *c, struct sender *s, uint64_t hard_stop_ns);
void loadgen_grpc_free(struct grpc_conn *c);

#endif
