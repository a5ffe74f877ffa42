// SPDX-License-Identifier: GPL-2.0
/* The policy in force; see enforced.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "apply_nft.h"
#include "enforced.h"

/* "sha256:" and 64 hex digits into 32 bytes; -EINVAL otherwise. */
static int hash_bytes(const char *s, uint8_t out[32])
{
	if (strncmp(s, "sha256:", 7))
		return -EINVAL;
	for (int i = 0; i < 32; i++)
		if (sscanf(s + 7 + 2 * i, "%2hhx", &out[i]) != 1)
			return -EINVAL;
	return 0;
}

/* The recorded file, compiled as apply did (without running its probes), if unchanged. */
static void recorded_policy(struct enforced *e)
{
	struct compile_opts co = { .path = e->file };
	int err;

	diag_init(&e->d);
	err = compile(&co, &e->c, &e->d);
	if (err && !e->c.pol.file) {
		snprintf(e->why_not, sizeof(e->why_not), "the policy file %s cannot be read (%s)",
			 e->file, strerror(-err));
	} else if (memcmp(e->c.pol.sha256, e->sha256, 32)) {
		snprintf(e->why_not, sizeof(e->why_not),
			 "the policy file %s changed since it was applied", e->file);
	} else if (err) {
		snprintf(e->why_not, sizeof(e->why_not),
			 "the policy file %s does not compile with this tlsfw", e->file);
	} else {
		e->have_policy = true;
	}
}

static int read_nft(struct enforced *e, struct diag *d)
{
	struct nft_status ns;
	int err = nft_status_read(&ns, d);

	if (err)
		return err;
	if (ns.present) {
		e->backend = ENFORCED_NFT;
		snprintf(e->file, sizeof(e->file), "%s", ns.policy_file);
		memcpy(e->sha256, ns.sha256, 32);
	}
	nft_status_free(&ns);
	return 0;
}

int enforced_read(struct enforced *e, struct diag *d)
{
	int err;

	memset(e, 0, sizeof(*e));
	err = state_find(&e->st, d);
	if (err)
		return err;
	if (e->st.have_maps) {
		err = state_meta_read(&e->st.maps, &e->sm);
		if (err)
			return diag_sys_error(d, err, "cannot read tlsfw's records");
		e->backend = ENFORCED_BPF;
		snprintf(e->file, sizeof(e->file), "%s", e->sm.meta.policy_file);
		if (hash_bytes(e->sm.meta.policy_hash, e->sha256))
			memset(e->sha256, 0xff, 32);
	} else {
		err = read_nft(e, d);
		if (err)
			return err;
	}
	if (e->backend != ENFORCED_NONE)
		recorded_policy(e);
	return 0;
}

void enforced_free(struct enforced *e)
{
	if (!e)
		return;
	if (e->backend != ENFORCED_NONE) {
		compiled_free(&e->c);
		diag_free(&e->d);
	}
	if (e->backend == ENFORCED_BPF)
		state_meta_free(&e->sm);
	state_free(&e->st);
	memset(e, 0, sizeof(*e));
}
