// SPDX-License-Identifier: GPL-2.0
/* The pending confirmation's record and the steps of apply --confirm around enforcing
 * (confirm.h); the watchdog itself is in confirm_watch.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <json-c/json.h>

#include "backend.h"
#include "confirm.h"
#include "confirm_priv.h"
#include "enforced.h"
#include "policy_hash.h"
#include "textsafe.h"
#include "yaml_tree.h"

int64_t confirm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* /run/tlsfw/netns-<inode>.EXT, next to the namespace lock. */
int confirm_path(char *buf, size_t len, const char *ext)
{
	struct stat ns;

	if (stat("/proc/self/ns/net", &ns))
		return -errno;
	snprintf(buf, len, "/run/tlsfw/netns-%lu.%s", (unsigned long)ns.st_ino, ext);
	return 0;
}

/* Field 22 of /proc/PID/stat, the start time in clock ticks since boot; -ESRCH for a zombie
 * (PID 1 here may never reap the watchdog). */
int confirm_proc_start(pid_t pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EINVAL;
	if (p[2] == 'Z' || p[2] == 'X')
		return -ESRCH;
	p += 2; /* field 3, the state; the comm before it may hold spaces */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	*start = strtoull(p, NULL, 10);
	return 0;
}

/* The recorded watchdog still runs, in this network namespace. */
static bool watchdog_alive(const struct confirm_pending *p)
{
	struct stat theirs, ours;
	unsigned long long start;
	char path[64];

	if (p->pid <= 1 || confirm_proc_start(p->pid, &start) || start != p->start)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)p->pid);
	if (stat(path, &theirs) || stat("/proc/self/ns/net", &ours))
		return false;
	return theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev;
}

static void copy_str(json_object *o, const char *key, char *out, size_t len)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		snprintf(out, len, "%s", json_object_get_string(v));
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v) : 0;
}

static void from_json(json_object *o, struct confirm_pending *p)
{
	json_object *r;

	p->pid = (pid_t)get_int(o, "watchdog_pid");
	p->start = (unsigned long long)get_int(o, "watchdog_start");
	p->deadline_ms = get_int(o, "deadline_ms");
	copy_str(o, "policy", p->policy, sizeof(p->policy));
	p->restore = json_object_object_get_ex(o, "rollback", &r) && r;
	if (p->restore) {
		copy_str(r, "file", p->restore_file, sizeof(p->restore_file));
		copy_str(r, "hash", p->restore_hash, sizeof(p->restore_hash));
	}
}

int confirm_read(struct confirm_pending *p, bool *found, struct diag *d)
{
	char path[64];
	json_object *o;
	int err = confirm_path(path, sizeof(path), "confirm");

	memset(p, 0, sizeof(*p));
	*found = false;
	if (err)
		return diag_sys_error(d, err, "cannot identify the network namespace");
	if (access(path, F_OK))
		return errno == ENOENT ? 0 : diag_sys_error(d, -errno, "cannot read %s", path);
	o = json_object_from_file(path);
	if (!o)
		return diag_sys_error(d, -EINVAL, "cannot read %s: %s", path,
				      json_util_get_last_err());
	from_json(o, p);
	json_object_put(o);
	*found = watchdog_alive(p);
	return 0;
}

static json_object *to_json(const struct confirm_pending *p)
{
	json_object *o = json_object_new_object(), *r = NULL;

	json_object_object_add(o, "watchdog_pid", json_object_new_int64(p->pid));
	json_object_object_add(o, "watchdog_start", json_object_new_int64((int64_t)p->start));
	json_object_object_add(o, "deadline_ms", json_object_new_int64(p->deadline_ms));
	json_object_object_add(o, "policy", json_object_new_string(p->policy));
	if (p->restore) {
		r = json_object_new_object();
		json_object_object_add(r, "file", json_object_new_string(p->restore_file));
		json_object_object_add(r, "hash", json_object_new_string(p->restore_hash));
	}
	json_object_object_add(o, "rollback", r);
	return o;
}

int confirm_record_write(const struct confirm_pending *p, struct diag *d)
{
	char path[64], tmp[80];
	json_object *o = to_json(p);
	int err = confirm_path(path, sizeof(path), "confirm");

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!err && json_object_to_file_ext(tmp, o, JSON_C_TO_STRING_PLAIN))
		err = -EIO;
	if (!err && rename(tmp, path))
		err = -errno;
	json_object_put(o);
	if (err) {
		unlink(tmp);
		return diag_sys_error(d, err, "cannot record the pending confirmation in %s", path);
	}
	return 0;
}

void confirm_record_remove(void)
{
	char path[64];

	if (!confirm_path(path, sizeof(path), "confirm"))
		unlink(path);
	if (!confirm_path(path, sizeof(path), "rollback"))
		unlink(path);
}

/* SIGTERM is the watchdog's confirmation: it exits, restoring nothing. Waited for (5 s at
 * most), so that no rollback of it can follow the caller's next step. */
static void watchdog_stop(const struct confirm_pending *p)
{
	if (kill(p->pid, SIGTERM))
		return;
	for (int i = 0; i < 500 && watchdog_alive(p); i++)
		usleep(10000);
}

int confirm_end(const struct confirm_pending *p, struct diag *d)
{
	watchdog_stop(p);
	if (watchdog_alive(p))
		return diag_sys_error(d, -EBUSY, "the watchdog (PID %d) did not exit", (int)p->pid);
	confirm_record_remove();
	return 0;
}

void confirm_when(const struct confirm_pending *p, char *buf, size_t len)
{
	char when[UTC_TEXT_LEN];
	int64_t left = p->deadline_ms - confirm_now_ms();

	utc_text((uint64_t)((p->deadline_ms + 999) / 1000), when);
	snprintf(buf, len, "%s (%lld s left)", when,
		 (long long)(left > 0 ? (left + 999) / 1000 : 0));
}

/* "rolls back to FILE" or "detaches", for messages. */
void confirm_rollback_text(const struct confirm_pending *p, char *buf, size_t len)
{
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)];

	if (p->restore)
		snprintf(buf, len, "rolls back to %s",
			 textsafe(p->restore_file, safe, sizeof(safe)));
	else
		snprintf(buf, len, "detaches (nothing was enforced before)");
}

static void refuse_pending(const struct confirm_pending *p, struct diag *d)
{
	char when[80], what[TEXTSAFE_LEN(TLSFW_PATH_MAX) + 40];
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)];

	confirm_when(p, when, sizeof(when));
	confirm_rollback_text(p, what, sizeof(what));
	diag_error(
		d, NULL,
		"%s was applied with --confirm and waits for `tlsfw confirm` until %s, then tlsfw %s: run `tlsfw confirm` first, or apply with --confirm again",
		textsafe(p->policy, safe, sizeof(safe)), when, what);
}

/* The bytes of FILE when they still hash as hash (the kernel's record); a copy of them
 * into the rollback file, compiled into prev. -EINVAL: refused, d says why. */
static int target_copy(struct confirm_arm *ca, const char *file, const char *hash, struct diag *d)
{
	struct compile_opts co = { .path = NULL };
	char path[64], why[160], got[SHA256_TEXT_LEN], safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)];
	uint8_t md[32];
	char *buf = NULL;
	size_t len = 0;
	int err;

	textsafe(file, safe, sizeof(safe));
	if (policy_file_bytes(file, &buf, &len, why, sizeof(why))) {
		diag_error(
			d, NULL,
			"--confirm cannot restore the policy in force: %s cannot be read (%s); apply it again without --confirm, or detach, first",
			safe, why);
		return -EINVAL;
	}
	policy_hash(buf ? buf : "", len, md);
	sha256_text(md, got);
	err = strcmp(got, hash) ? -EINVAL : confirm_path(path, sizeof(path), "rollback");
	if (err == -EINVAL)
		diag_error(
			d, NULL,
			"--confirm cannot restore the policy in force: %s changed since it was applied (%s, recorded %s); apply it again, or detach, first",
			safe, got, hash);
	else if (!err)
		err = confirm_file_write(path, buf ? buf : "", len, d);
	free(buf);
	co.path = path;
	if (!err && !ca->prev && !(ca->prev = malloc(sizeof(*ca->prev))))
		err = diag_sys_error(d, -ENOMEM, "cannot compile the policy in force");
	/* its warnings were given when it was applied: not again, under the copy's name */
	if (!err && compile(&co, ca->prev, &ca->prev_d)) {
		diag_error(
			d, NULL,
			"--confirm cannot restore the policy in force: %s does not compile with this tlsfw",
			safe);
		err = -EINVAL;
	}
	return err;
}

int confirm_file_write(const char *path, const char *buf, size_t len, struct diag *d)
{
	char tmp[80];
	int fd, err = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return diag_sys_error(d, -errno, "cannot write %s", tmp);
	for (size_t done = 0; !err && done < len;) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno != EINTR)
			err = -errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err) {
		unlink(tmp);
		return diag_sys_error(d, err, "cannot write %s", path);
	}
	return 0;
}

/* Each interface of the policy in force (compiled in prev) must carry it now: one detached by
 * hand since (or deleted, or stripped: status's lost) would be attached again by a rollback,
 * which restores the file whole, not what was in force. -EINVAL: refused, d says which. */
static int target_attached(const struct compiled *prev, const char *file, struct diag *d)
{
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)], name[TEXTSAFE_LEN(IF_NAMESIZE)];
	struct status_model m;
	int err = backend_status(&m, d);

	for (size_t i = 0; !err && i < prev->plan.n_ifaces; i++) {
		const char *want = prev->plan.ifaces[i].name;
		size_t j = 0;

		while (j < m.n_ifaces && (m.ifaces[j].foreign || strcmp(m.ifaces[j].name, want)))
			j++;
		if (j < m.n_ifaces && m.ifaces[j].ifindex && m.ifaces[j].lost == IFACE_HELD)
			continue;
		diag_error(
			d, NULL,
			"--confirm cannot restore the policy in force: %s names %s, where it is no longer enforced (detached, deleted, or its programs removed by another tool since it was applied), and a rollback would attach it there again; apply it again, or detach, first",
			textsafe(file, safe, sizeof(safe)), textsafe(want, name, sizeof(name)));
		err = -EINVAL;
	}
	status_model_free(&m);
	return err;
}

/* To the watchdog waiting on its pipe: its deadline (Unix ms), or 0: exit. */
static int watchdog_tell(struct confirm_arm *ca, int64_t msg)
{
	int err = write(ca->pipe_fd, &msg, sizeof(msg)) == sizeof(msg) ? 0 : -1;

	close(ca->pipe_fd);
	ca->pipe_fd = -1;
	return err;
}

/* The rollback target: the one the replaced confirmation holds, or what is enforced now (as
 * the kernel records it), or nothing. */
static int target_find(struct confirm_arm *ca, struct diag *d)
{
	struct confirm_pending *rec = &ca->rec;
	struct enforced e;
	char copy[64];
	int err;

	if (ca->inherited) {
		rec->restore = ca->old.restore;
		snprintf(rec->restore_file, sizeof(rec->restore_file), "%s", ca->old.restore_file);
		snprintf(rec->restore_hash, sizeof(rec->restore_hash), "%s", ca->old.restore_hash);
		err = confirm_path(copy, sizeof(copy), "rollback");
		return !err && rec->restore ? target_copy(ca, copy, rec->restore_hash, d) : err;
	}
	err = enforced_read(&e, d);
	if (err)
		return err;
	rec->restore = e.backend != ENFORCED_NONE;
	if (rec->restore) {
		snprintf(rec->restore_file, sizeof(rec->restore_file), "%s", e.file);
		sha256_text(e.sha256, rec->restore_hash);
	}
	enforced_free(&e);
	if (!rec->restore)
		return 0;
	err = target_copy(ca, rec->restore_file, rec->restore_hash, d);
	if (!err)
		err = target_attached(ca->prev, rec->restore_file, d);
	/* refused: no confirmation is pending, so the copy just written is nobody's */
	if (err && !confirm_path(copy, sizeof(copy), "rollback"))
		unlink(copy);
	return err;
}

void confirm_arm_init(struct confirm_arm *ca, unsigned int seconds)
{
	memset(ca, 0, sizeof(*ca));
	ca->seconds = seconds;
	ca->pipe_fd = -1;
	diag_init(&ca->prev_d);
}

void confirm_arm_free(struct confirm_arm *ca)
{
	if (ca->prev)
		compiled_free(ca->prev);
	free(ca->prev);
	ca->prev = NULL;
	diag_free(&ca->prev_d);
	diag_init(&ca->prev_d);
}

int confirm_before(struct confirm_arm *ca, const char *policy, struct diag *d)
{
	bool pending;
	int err = confirm_read(&ca->old, &pending, d);

	if (err)
		return err;
	if (pending && !ca->seconds) {
		refuse_pending(&ca->old, d);
		return -EINVAL;
	}
	if (!ca->seconds)
		return 0;
	ca->inherited = pending;
	snprintf(ca->rec.policy, sizeof(ca->rec.policy), "%s", policy);
	ca->rec.deadline_ms = confirm_now_ms() + (int64_t)ca->seconds * 1000;
	err = target_find(ca, d);
	if (!err)
		err = confirm_watchdog_start(ca, d);
	if (!err && (err = confirm_record_write(&ca->rec, d)))
		watchdog_tell(ca, 0);
	/* the new watchdog holds the same target now: the replaced one goes, restoring nothing */
	if (!err && pending)
		watchdog_stop(&ca->old);
	return err;
}

void confirm_after(struct confirm_arm *ca, int err, struct diag *d)
{
	int64_t msg = 0;

	confirm_arm_free(ca); /* the watchdog has its own copy */
	if (ca->pipe_fd < 0)
		return;
	if (!err) {
		ca->rec.deadline_ms = confirm_now_ms() + (int64_t)ca->seconds * 1000;
		msg = ca->rec.deadline_ms;
	} else if (ca->inherited) {
		/* the failed apply changed nothing: the replaced confirmation's deadline holds */
		ca->rec.deadline_ms = ca->old.deadline_ms;
		msg = ca->rec.deadline_ms;
	}
	if (msg)
		confirm_record_write(&ca->rec, d);
	else
		confirm_record_remove();
	if (watchdog_tell(ca, msg))
		diag_sys_error(d, -errno, "cannot arm the confirmation watchdog");
}

int confirm_detach(size_t n_ifaces, FILE *out, struct diag *d)
{
	struct confirm_pending p;
	char safe[TEXTSAFE_LEN(TLSFW_PATH_MAX)], when[80];
	bool pending;
	int err = confirm_read(&p, &pending, d);

	if (err || !pending)
		return err;
	textsafe(p.policy, safe, sizeof(safe));
	confirm_when(&p, when, sizeof(when));
	if (n_ifaces) {
		diag_error(
			d, NULL,
			"%s was applied with --confirm and waits for `tlsfw confirm` until %s: detach every interface (`tlsfw detach`), or confirm, first",
			safe, when);
		return -EINVAL;
	}
	err = confirm_end(&p, d);
	if (!err)
		fprintf(out,
			"tlsfw: the pending confirmation of %s ends: nothing is restored at its deadline\n",
			safe);
	return err;
}

void confirm_print(const struct confirm_pending *p, FILE *out)
{
	char when[80], what[TEXTSAFE_LEN(TLSFW_PATH_MAX) + 40];

	confirm_when(p, when, sizeof(when));
	confirm_rollback_text(p, what, sizeof(what));
	fprintf(out, "tlsfw: run `tlsfw confirm` by %s, or tlsfw %s (watchdog PID %d)\n", when,
		what, (int)p->pid);
}
