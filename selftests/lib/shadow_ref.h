/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The shadowing analysis as it was first written: every view against every earlier view,
 * pairwise. check_shadow.c finds the same answers through indexes; tests compare the two.
 */
#ifndef TLSFW_SHADOW_REF_H
#define TLSFW_SHADOW_REF_H

#include "shadow.h"

int shadow_ref_analyse(const struct shadow_in *in, shadow_report report, void *arg);

#endif
