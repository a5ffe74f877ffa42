/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bcrypt for `stats --listen`'s basic authentication, off the serving thread: one worker
 * checks the passwords that are not remembered (webcfg_auth_cached), so that a client sending
 * wrong passwords delays nobody else's scrape, and deadlines do not run out while bcrypt
 * works. The queue is fair between addresses: the next job is one of the address served
 * least recently, so a scraper's check waits at most for the one in progress and one of each
 * other address (docs: tlsfw.8, --web-config).
 */
#ifndef TLSFW_STATS_AUTH_H
#define TLSFW_STATS_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "webcfg.h"

struct auth_job {
	struct auth_job *next;
	void *conn;		 /* the caller's (an MHD connection), untouched here */
	unsigned char addr[16];	 /* the client's: the unit of fairness */
	char *user, *pass;	 /* owned; the password is wiped by auth_job_free */
	struct webcfg_attempt a; /* from webcfg_auth_cached */
	bool ok;		 /* the result, once done */
};

struct auth_worker;

/* Start the worker; its eventfd (auth_worker_fd) is readable when jobs are done. */
int auth_worker_new(struct auth_worker **out);
int auth_worker_fd(const struct auth_worker *w);
/* Queue j (owned by the worker until auth_worker_done returns it). */
void auth_worker_submit(struct auth_worker *w, struct auth_job *j);
/* The jobs done since the last call, as a list (NULL if none). */
struct auth_job *auth_worker_done(struct auth_worker *w);
/* Stop after the job in progress; the jobs still queued come back from auth_worker_done
 * with ok false. Then free with auth_worker_free (NULL-safe). */
void auth_worker_stop(struct auth_worker *w);
void auth_worker_free(struct auth_worker *w);
void auth_job_free(struct auth_job *j);

#endif
