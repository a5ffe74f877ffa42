// SPDX-License-Identifier: GPL-2.0
/*
 * The bcrypt worker of stats_auth.h: a mutex-protected queue, one thread, an eventfd back to
 * the serving loop. The worker touches only the jobs, never libmicrohttpd or the webcfg.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "lazy_openssl.h"

#include "stats_auth.h"

/* Addresses remembered with when they were last served; one not found counts as never. */
#define AUTH_SERVED_MAX 64

struct auth_worker {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct auth_job *queue, *done; /* queue in arrival order */
	struct {
		unsigned char addr[16];
		uint64_t seq; /* 0: free */
	} served[AUTH_SERVED_MAX];
	uint64_t seq;
	int efd;
	bool stop, started;
};

void auth_job_free(struct auth_job *j)
{
	if (!j)
		return;
	if (j->pass)
		OPENSSL_cleanse(j->pass, strlen(j->pass));
	free(j->pass);
	free(j->user);
	free(j);
}

static uint64_t *served(struct auth_worker *w, const unsigned char *addr, bool add)
{
	size_t oldest = 0;

	for (size_t i = 0; i < AUTH_SERVED_MAX; i++) {
		if (w->served[i].seq && !memcmp(w->served[i].addr, addr, 16))
			return &w->served[i].seq;
		if (w->served[i].seq < w->served[oldest].seq)
			oldest = i;
	}
	if (!add)
		return NULL;
	memcpy(w->served[oldest].addr, addr, 16);
	return &w->served[oldest].seq;
}

/* The first queued job of the address served least recently. Called locked. */
static struct auth_job *take(struct auth_worker *w)
{
	struct auth_job **best = NULL, *j;
	uint64_t best_seq = UINT64_MAX;

	for (struct auth_job **p = &w->queue; *p; p = &(*p)->next) {
		uint64_t *s = served(w, (*p)->addr, false);
		uint64_t seq = s ? *s : 0;

		if (seq < best_seq) {
			best = p;
			best_seq = seq;
		}
	}
	if (!best)
		return NULL;
	j = *best;
	*best = j->next;
	*served(w, j->addr, true) = ++w->seq;
	return j;
}

static void finish(struct auth_worker *w, struct auth_job *j)
{
	uint64_t one = 1;

	j->next = w->done;
	w->done = j;
	if (write(w->efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow in practice; the loop reads it often */
	}
}

static void *run(void *arg)
{
	struct auth_worker *w = arg;
	struct auth_job *j;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && !w->queue)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop)
			break;
		j = take(w);
		pthread_mutex_unlock(&w->mu);
		j->ok = webcfg_bcrypt(j->pass, j->a.hash) && j->a.known;
		pthread_mutex_lock(&w->mu);
		finish(w, j);
	}
	while ((j = take(w))) {
		j->ok = false;
		finish(w, j);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int auth_worker_new(struct auth_worker **out)
{
	struct auth_worker *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0) {
		err = -errno;
		auth_worker_free(w);
		return err;
	}
	err = -pthread_create(&w->thread, NULL, run, w);
	if (err) {
		auth_worker_free(w);
		return err;
	}
	w->started = true;
	*out = w;
	return 0;
}

int auth_worker_fd(const struct auth_worker *w)
{
	return w->efd;
}

void auth_worker_submit(struct auth_worker *w, struct auth_job *j)
{
	struct auth_job **p;

	pthread_mutex_lock(&w->mu);
	for (p = &w->queue; *p; p = &(*p)->next)
		;
	j->next = NULL;
	*p = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

struct auth_job *auth_worker_done(struct auth_worker *w)
{
	struct auth_job *j;
	uint64_t n;

	if (read(w->efd, &n, sizeof(n)) < 0) {
		/* EAGAIN: nothing new, but the list is read anyway */
	}
	pthread_mutex_lock(&w->mu);
	j = w->done;
	w->done = NULL;
	pthread_mutex_unlock(&w->mu);
	return j;
}

void auth_worker_stop(struct auth_worker *w)
{
	if (!w || !w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	w->started = false;
}

void auth_worker_free(struct auth_worker *w)
{
	struct auth_job *j;

	if (!w)
		return;
	auth_worker_stop(w);
	while ((j = w->done)) {
		w->done = j->next;
		auth_job_free(j);
	}
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
